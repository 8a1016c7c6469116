/**
 * The integration page's Backfill form in a real browser (Debian's chromium driven by
 * playwright-core), without JavaScript: a wrong span comes back with the error next to its
 * field, a right one starts a backfill whose run shows on the page, and with Redeliver the
 * alerts already delivered reach the inbox again under new webhook ids.
 */
import { equal, match, ok } from "node:assert/strict";
import { chromium } from "playwright-core";
import { CHROMIUM, ensureChromium } from "../../prepare.ts";
import { inboxApp } from "../../../fixtures/demo/inbox.ts";
import {
  generateRecords,
  MimecastSimulator,
  serveSimulator,
  SIM_CLIENT,
} from "../../../fixtures/simulator/mod.ts";
import { createHost } from "../../../host/mod.ts";
import { installPlugin } from "../_host.ts";

const TOKEN = "backfill-browser-token-0123456789";
const SECRET = "whsec_YnJvd3Nlci10ZXN0LXNlY3JldC0wMTIzNDU2Nzg=";
const HOUR = 3_600_000;
const ARTIFACTS = new URL("../../../test-artifacts/ui/", import.meta.url);
/** `YYYY-MM-DDTHH:MM` in UTC, as the form's inputs take it. */
const input = (ms: number) => new Date(ms).toISOString().slice(0, 16);

Deno.test("the Backfill form works without JavaScript: errors by their field, then a redelivering backfill on the page", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ui-backfill-" });
  const stop = new AbortController();
  const sim = new MimecastSimulator();
  const now = Date.now();
  sim.add(
    "url",
    generateRecords("url", 20, { start: now - 3 * HOUR, stepMs: 60_000 }).map((r) => ({
      ...r,
      scanResult: "malicious",
    })),
  );
  const simUrl = serveSimulator(sim, { signal: stop.signal }).url;
  const inbox = inboxApp(SECRET);
  const serve = (fetch: Deno.ServeHandler) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, signal: stop.signal, onListen: () => {} }, fetch);
  const inboxServer = serve(inbox.app.fetch);
  await installPlugin(`${dir}/plugins`);
  const host = createHost({
    dataDir: dir,
    pluginsDir: `${dir}/plugins`,
    adminToken: TOKEN,
    masterKey: crypto.getRandomValues(new Uint8Array(32)),
    allowLoopback: true,
    logWrite: () => {},
    tickMs: 3_600_000,
  });
  await host.start();
  const hostServer = serve(host.app.fetch);
  const hostUrl = `http://127.0.0.1:${hostServer.addr.port}`;
  await ensureChromium();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  try {
    const api = (path: string, body?: unknown) =>
      fetch(`${hostUrl}${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const created = await api("/api/integrations", {
      plugin: "mimecast",
      name: "Backfill UI",
      config: {
        apiVersion: "2.0",
        baseUrl: simUrl,
        ...SIM_CLIENT,
        startFrom: "1d",
        logTypes: ["url", "rejections"],
      },
      destination: { url: `http://127.0.0.1:${inboxServer.addr.port}/hook`, secret: SECRET },
      schedule: { enabled: false },
    });
    equal(created.status, 201);
    const id = (await created.json()).id as string;
    // The live run delivers the clicks once (rejections: the simulator has no SIEM file; fine).
    equal((await api(`/api/integrations/${id}/runs`)).status, 202);
    await host.runner.settled(id);
    const delivered = inbox.alerts.length;
    ok(delivered >= 20, `the live run delivered ${delivered}`);

    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${hostUrl}/login`);
    await page.fill("#token", TOKEN);
    await page.click("button:has-text('Log in')");
    await page.goto(`${hostUrl}/integrations/${id}`);
    const form = page.locator("#backfill-form");
    equal(await form.locator("input[value='url']").isChecked(), true);
    equal(await form.locator("input[value='rejections']").isDisabled(), true);
    match(
      await page.textContent("#backfill") ?? "",
      /rejections: it is read from Mimecast's SIEM files/,
    );

    // A span that ends before it starts: the page comes back with the error at "To".
    await page.fill("#backfill-from", input(now - HOUR));
    await page.fill("#backfill-to", input(now - 4 * HOUR));
    await page.click("button:has-text('Start backfill')");
    match(await page.textContent(".notice") ?? "", /The backfill was not started/);
    match(await page.textContent("#backfill-to-error") ?? "", /to must come after from/);
    equal(await page.getAttribute("#backfill-to", "aria-invalid"), "true");
    equal(await page.inputValue("#backfill-from"), input(now - HOUR), "what was typed stays");
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await page.locator("#backfill").screenshot({
      path: new URL("8-backfill-error.png", ARTIFACTS).pathname,
    });

    // No log type ticked: the error is at the log types.
    await page.uncheck("#backfill-form input[value='url']");
    await page.click("button:has-text('Start backfill')");
    match(await page.textContent("#backfill-logTypes-error") ?? "", /at least one log type/);

    await page.check("#backfill-form input[value='url']");
    await page.fill("#backfill-from", input(now - 4 * HOUR));
    await page.fill("#backfill-to", input(now - HOUR));
    await page.check("#backfill-form input[name='redeliver']");
    await page.click("button:has-text('Start backfill')");
    equal(new URL(page.url()).pathname, `/integrations/${id}`);
    match(await page.textContent(".notice") ?? "", /Backfill .* started/);
    await host.runner.settled(id);
    await page.reload();
    const row = page.locator("#runs tbody tr", { hasText: "backfill" });
    equal(await row.locator(".badge.succeeded").count(), 1);
    match(await row.textContent() ?? "", /url · .* to .* · redeliver/);

    // Every click reached the inbox a second time, under other webhook ids.
    for (let i = 0; i < 50 && inbox.alerts.length < 2 * delivered; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    equal(inbox.alerts.length, 2 * delivered);
    const [again, first] = [inbox.alerts.slice(0, delivered), inbox.alerts.slice(delivered)];
    const firstIds = new Set(first.map((a) => a.webhookId));
    ok(again.every((a) => !firstIds.has(a.webhookId)));
    equal(
      new Set(again.map((a) => (a.alert as { id: string }).id)).size,
      new Set(first.map((a) => (a.alert as { id: string }).id)).size,
    );
  } finally {
    await browser.close();
    await host.stop();
    stop.abort();
    await Promise.allSettled([hostServer.finished, inboxServer.finished]);
    await Deno.remove(dir, { recursive: true });
  }
});
