/**
 * The generated form's errors in a real browser (Debian's chromium, playwright-core), SPEC §5.8:
 * a bad line of a list is named by its line next to the field, with `aria-invalid` and the
 * summary's link to it; the secrets typed before the error are kept by the host (never in the
 * page), so fixing the line and saving again needs no re-typing, and the kept secrets work.
 */
import { equal, match, ok } from "node:assert/strict";
import { chromium } from "playwright-core";
import { CHROMIUM, ensureChromium } from "../../prepare.ts";
import {
  generateRecords,
  MimecastSimulator,
  serveSimulator,
  SIM_CLIENT,
} from "../../../fixtures/simulator/mod.ts";
import { createHost } from "../../../host/mod.ts";
import { installPlugin } from "../_host.ts";

const TOKEN = "form-browser-admin-token-0123456789";
const SECRET = "whsec_Zm9ybS1icm93c2VyLXNlY3JldC0wMTIzNDU2Nzg=";
const ARTIFACTS = new URL("../../../test-artifacts/ui/", import.meta.url);

Deno.test("the form in Chromium: a bad list line is named with aria-invalid, the typed secrets are kept, and fixing it saves", async () => {
  const dir = await Deno.makeTempDir({ prefix: "form-browser-" });
  const stop = new AbortController();
  const sim = new MimecastSimulator();
  sim.add("url", generateRecords("url", 20, { start: Date.now() - 3_600_000 }));
  const simUrl = serveSimulator(sim, { signal: stop.signal }).url;
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
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: stop.signal, onListen: () => {} },
    host.app.fetch,
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  await ensureChromium();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    await page.goto(`${base}/login`);
    await page.fill("#token", TOKEN);
    await page.click("form[action='/login'] button");
    for (
      let i = 0;
      i < 50 && !(await page.locator("a[href='/plugins/mimecast/new']").count());
      i++
    ) {
      await page.reload(); // the plugins folder's first scan may still be under way
    }
    await page.click("a[href='/plugins/mimecast/new']");

    await page.fill("#f-name", "Form in Chromium");
    await page.fill("#f-destination-url", "http://127.0.0.1:9/hook");
    await page.fill("#f-destination-secret", SECRET);
    await page.fill("#f-baseUrl-2_0", simUrl);
    await page.fill("#f-clientId-2_0", SIM_CLIENT.clientId);
    await page.fill("#f-clientSecret-2_0", SIM_CLIENT.clientSecret);
    await page.fill("#f-internalDomains", "acme-corp.example\nother.example\nnot a domain");
    await page.click("#form .actions button");

    // The message names the line, sits next to the field, and the field says it is invalid.
    const domains = page.locator("#f-internalDomains");
    equal(await domains.getAttribute("aria-invalid"), "true");
    const describedBy = await domains.getAttribute("aria-describedby");
    equal(describedBy, "f-internalDomains-error");
    match(
      await page.locator(`#${describedBy}`).textContent() ?? "",
      /Line 3: ‘not a domain’ is not valid — enter a domain such as example\.com/,
    );
    // What was typed in the list is still there to be fixed.
    equal(await domains.inputValue(), "acme-corp.example\nother.example\nnot a domain");
    // The summary links to the field.
    const link = page.locator("#error-summary a[href='#f-internalDomains']");
    equal(await link.count(), 1);
    await link.click();
    equal(new URL(page.url()).hash, "#f-internalDomains");
    equal(
      await page.evaluate(`document.querySelectorAll('[aria-invalid="true"]').length`),
      1,
    );
    // The secrets typed are kept by the host, marked as kept, and nowhere in the page.
    match(await page.locator("#f-clientSecret-2_0").getAttribute("placeholder") ?? "", /^kept/);
    match(await page.locator("#f-destination-secret").getAttribute("placeholder") ?? "", /^kept/);
    const html = await page.content();
    equal(html.includes(SIM_CLIENT.clientSecret), false);
    equal(html.includes(SECRET), false);
    equal(
      await page.evaluate(
        `[...document.querySelectorAll("input[type=password]")].every((i) => i.value === "")`,
      ),
      true,
    );
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({
      path: new URL("form-line-error.png", ARTIFACTS).pathname,
      fullPage: true,
    });

    // Fix the line only, and save: created, with the secrets typed the first time.
    await domains.fill("acme-corp.example\nother.example");
    await page.click("#form .actions button");
    match(new URL(page.url()).pathname, /^\/integrations\/[0-9a-f-]+$/);
    match(await page.locator(".notice").textContent() ?? "", /paused until Test connection passes/);
    const [row] = await host.store.listIntegrations();
    equal((await host.integrations.destination(row)).secret, SECRET);
    await page.click("#awaiting-check form[action$='/check'] button");
    // The kept client secret authenticates: every log type passes, and the schedule starts.
    ok(await page.locator("#check-result").count());
    equal(await page.locator("#check-result tr[data-log-type] .badge.ok").count(), 3);
    equal(await page.locator("#schedule-enabled").count(), 1);
  } finally {
    await browser.close();
    await host.stop();
    stop.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});
