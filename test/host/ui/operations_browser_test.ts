/**
 * The integration page's operations in real Chromium, with and without JavaScript: a preview
 * with the exact JSON a run would send, and dead letters showing the receiver's answer, redriven
 * one at a time or discarded, until the error clears without a new run.
 */
import { equal, match, ok } from "node:assert/strict";
import type { Page } from "playwright-core";
import { generateRecords } from "../../../fixtures/simulator/mod.ts";
import { ADMIN, integrationBody, NOW, testHost } from "../_host.ts";
import { launch, login } from "./_browser.ts";

const REFUSAL = '{"error":"schema mismatch: alerts[0].email is missing"}';

async function deadLetterIds(page: Page): Promise<string[]> {
  const rows = page.locator("#dead-letters tbody tr");
  const ids: string[] = [];
  for (let i = 0; i < await rows.count(); i++) {
    ids.push(await rows.nth(i).getAttribute("data-webhook-id") ?? "");
  }
  return ids;
}

Deno.test("preview and dead letters in the browser: the receiver's answer, redrive one, discard one, the error cleared", async () => {
  const t = await testHost();
  t.sim.add("url", generateRecords("url", 400, { start: NOW - 3 * 3_600_000, stepMs: 20_000 }));
  const stop = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: stop.signal, onListen: () => {} },
    t.host.app.fetch,
  );
  const hostUrl = `http://127.0.0.1:${server.addr.port}`;
  const browser = await launch();
  try {
    const created = await (await t.request("/api/integrations", {
      method: "POST",
      json: {
        ...integrationBody("2.0", { logTypes: ["url"] }),
        schedule: { enabled: false },
      },
    })).json();
    const base = `/integrations/${created.id}`;
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await login(page, hostUrl, ADMIN);
    await page.goto(`${hostUrl}${base}`);

    // Preview: the alerts a run would send, and their JSON exactly as the body carries them.
    await page.click(`form[action='${base}/preview'] button`);
    ok(await page.locator("#preview-result tbody tr").count() > 0);
    const previewed = JSON.parse(await page.locator("#preview-json pre").textContent() ?? "");
    ok(Array.isArray(previewed) && previewed.length > 0);
    equal(typeof previewed[0].id, "string");
    equal(previewed[0].logType, "url");
    equal(t.receiver.received.length, 0, "a preview delivers nothing");

    // The receiver refuses each of two runs' first batch with a 400: two dead letters.
    t.receiver.script = [{ status: 400, body: REFUSAL }];
    await page.click(`form[action='${base}/runs'] button`);
    await t.host.runner.settled(created.id);
    // More records arrive for the second run.
    t.clock.ms += 3_600_000;
    t.sim.add(
      "url",
      generateRecords("url", 200, {
        start: NOW + 60_000 - 400 * 5_000,
        stepMs: 5_000,
        offset: 400,
      }),
    );
    t.receiver.script = [{ status: 400, body: REFUSAL }];
    await page.goto(`${hostUrl}${base}`);
    await page.click(`form[action='${base}/runs'] button`);
    await t.host.runner.settled(created.id);
    await page.goto(`${hostUrl}${base}`);
    const dead = await deadLetterIds(page);
    equal(dead.length, 2);
    const firstRow = await page.locator("#dead-letters tbody tr").first().textContent() ?? "";
    match(firstRow, /400/);
    match(firstRow, /schema mismatch: alerts\[0\]\.email is missing/, "the receiver's answer");
    match(await page.locator("h1 .badge").textContent() ?? "", /error/);

    // Fixed: redrive the first alone, in the browser with JavaScript.
    await page.click(`form[action='${base}/dead-letters/${dead[0]}/redrive'] button`);
    await t.host.runner.settled(created.id);
    ok(t.receiver.received.some((r) => r.id === dead[0]), "the redriven batch arrived");
    await page.goto(`${hostUrl}${base}`);
    equal((await deadLetterIds(page)).join(), dead[1]);

    // Without JavaScript: discard the other one; it is never delivered.
    const context = await browser.newContext({
      javaScriptEnabled: false,
      storageState: await page.context().storageState(),
    });
    const plain = await context.newPage();
    await plain.goto(`${hostUrl}${base}`);
    await plain.click(`form[action='${base}/dead-letters/${dead[1]}/discard'] button`);
    match(await plain.textContent("body") ?? "", /discarded/i);
    equal(await plain.locator("#dead-letters").count(), 0);
    equal(t.receiver.received.some((r) => r.id === dead[1]), false);

    // Nothing waits any more: the error clears without a new run (the schedule is off, so the
    // integration reads `paused`, the state it was in before the receiver refused).
    await plain.goto(`${hostUrl}${base}`);
    equal(await plain.locator("h1 .badge").textContent(), "paused");
    const read = await (await t.request(`/api/integrations/${created.id}`)).json();
    equal(read.deadLetters, 0);
    equal(read.status, "paused");
  } finally {
    await browser.close();
    stop.abort();
    await server.finished;
    await t.close();
  }
});
