/**
 * The web UI in a real browser (Debian's chromium driven by playwright-core): log in, see the
 * plugin, fill the generated form with a wrong then a right value, see the inline error, save,
 * test the connection, run now, see the alerts in the inbox and the counts on the dashboard.
 * Screenshots go to test-artifacts/ui/.
 */
import { equal, match } from "node:assert/strict";
import type { Page } from "playwright-core";
import { inboxApp } from "../../../fixtures/demo/inbox.ts";
import {
  generateRecords,
  MimecastSimulator,
  serveSimulator,
  SIM_CLIENT,
} from "../../../fixtures/simulator/mod.ts";
import { createHost } from "../../../host/mod.ts";
import { installPlugin } from "../_host.ts";
import { launch, login } from "./_browser.ts";

const TOKEN = "browser-admin-token-0123456789";
const SECRET = "whsec_YnJvd3Nlci10ZXN0LXNlY3JldC0wMTIzNDU2Nzg=";
const ARTIFACTS = new URL("../../../test-artifacts/ui/", import.meta.url);

async function world() {
  const dir = await Deno.makeTempDir({ prefix: "ui-test-" });
  const stop = new AbortController();
  const sim = new MimecastSimulator();
  const now = Date.now();
  for (const logType of ["url", "attachment", "impersonation"] as const) {
    sim.add(logType, generateRecords(logType, 120, { start: now - 3 * 3_600_000, stepMs: 60_000 }));
  }
  const simUrl = serveSimulator(sim, { signal: stop.signal }).url;
  const inbox = inboxApp(SECRET);
  const inboxServer = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: stop.signal,
    onListen: () => {},
  }, inbox.app.fetch);
  const inboxUrl = `http://127.0.0.1:${inboxServer.addr.port}`;
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
  const hostServer = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: stop.signal,
    onListen: () => {},
  }, host.app.fetch);
  const hostUrl = `http://127.0.0.1:${hostServer.addr.port}`;
  return {
    host,
    hostUrl,
    sim,
    simUrl,
    inbox,
    inboxUrl,
    async close() {
      await host.stop();
      stop.abort();
      await Promise.allSettled([hostServer.finished, inboxServer.finished]);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function shot(page: Page, name: string, fullPage = true) {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, fullPage });
}

/** The page of the world's one integration. */
async function integrationUrlOf(w: Awaited<ReturnType<typeof world>>): Promise<string> {
  return `${w.hostUrl}/integrations/${(await w.host.store.listIntegrations())[0].id}`;
}

Deno.test("the UI: log in, create an integration through the generated form, test it, run it, see alerts arrive", async () => {
  const w = await world();
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${w.hostUrl}/`);
    await page.fill("#token", "not-the-token");
    await page.click("button:has-text('Log in')");
    match(await page.textContent(".error") ?? "", /not the admin token/);
    await login(page, w.hostUrl, TOKEN);
    match(await page.textContent("body") ?? "", /Mimecast Email Security \(TTP\)/);
    await shot(page, "1-dashboard-empty");

    await page.click("a:has-text('New integration')");
    // The generated form: API version select, region list, log type checkboxes, password secrets.
    equal(await page.locator("select[name='config.apiVersion']").inputValue(), "2.0");
    equal(await page.locator("[data-branch='1.0']").isHidden(), true);
    await page.selectOption("select[name='config.apiVersion']", "1.0");
    equal(await page.locator("[data-branch='1.0']").isVisible(), true);
    equal(
      await page.locator("input[name='config.secretKey@1.0']").getAttribute("type"),
      "password",
    );
    equal(await page.locator("#f-baseUrl-1_0-options option").count(), 9);
    await page.selectOption("select[name='config.apiVersion']", "2.0");
    equal(await page.locator("input[name='config.logTypes']").count(), 4);
    // The host's own webhook format select: alerts unless the operator picks OCSF.
    equal(await page.locator("select[name='destination.format']").inputValue(), "alerts");
    equal(await page.locator("select[name='destination.format'] option").count(), 2);

    await page.fill("#f-name", "Browser test");
    await page.fill("#f-destination-url", `${w.inboxUrl}/hook`);
    await page.fill("#f-destination-secret", SECRET);
    await page.fill("input[name='config.baseUrl@2.0']", "ftp://wrong.example");
    await page.fill("input[name='config.clientId@2.0']", SIM_CLIENT.clientId);
    await page.fill("input[name='config.clientSecret@2.0']", SIM_CLIENT.clientSecret);
    await page.fill("textarea[name='config.internalDomains']", "acme-corp.example");
    await page.click("button:has-text('Create integration')");
    // The error sits next to the field it belongs to; what was typed is kept, the secrets by the
    // host (never in the page), so they need not be typed again.
    const baseUrlField = page.locator(".field.invalid", {
      has: page.locator("input[name='config.baseUrl@2.0']"),
    });
    match(
      await baseUrlField.locator(".error").textContent() ?? "",
      /Base URL must be an https:\/\/ origin/,
    );
    equal(await page.locator("#f-name").inputValue(), "Browser test");
    equal(await page.locator("input[name='config.clientSecret@2.0']").inputValue(), "");
    equal((await page.content()).includes(SIM_CLIENT.clientSecret), false);
    equal((await page.content()).includes(SECRET), false);
    match(await page.content(), /The secret you entered is kept/);
    await shot(page, "2-form-inline-error");

    await page.fill("input[name='config.baseUrl@2.0']", w.simUrl);
    await page.click("button:has-text('Create integration')");
    match(new URL(page.url()).pathname, /^\/integrations\/[0-9a-f-]+$/);
    match(await page.textContent(".notice") ?? "", /Integration created/);
    equal((await page.content()).includes(SIM_CLIENT.clientSecret), false);

    await page.click("button:has-text('Test connection')");
    equal(await page.locator("#check-result .badge.ok").count(), 4); // overall + three log types
    await shot(page, "3-test-connection");

    // The webhook before going live: one signed test event, and what the receiver answered.
    await page.click("button:has-text('Send test event')");
    equal(await page.locator("#webhook-result .badge.ok").count(), 1);
    match(await page.textContent("#webhook-result") ?? "", /The receiver answered 2\d\d in \d+ ms/);

    await page.click("button:has-text('Run now')");
    match(await page.textContent(".notice") ?? "", /Run .* started/);
    for (let i = 0; i < 100 && !(await page.locator("#runs .badge.succeeded").count()); i++) {
      await new Promise((r) => setTimeout(r, 100));
      await page.reload();
    }
    equal(await page.locator("#runs .badge.succeeded").count(), 1);
    await shot(page, "4-integration-after-run");

    const delivered = w.inbox.alerts.length;
    equal(delivered > 0, true);
    await page.goto(`${w.inboxUrl}/`);
    match(await page.textContent("#summary") ?? "", new RegExp(`^${delivered} alerts`));
    equal(await page.locator("#alerts td.bad").count(), 0);
    await shot(page, "5-inbox", false);

    await page.goto(`${w.hostUrl}/`);
    match(await page.textContent("#integrations") ?? "", new RegExp(`delivered ${delivered}`));
    match(await page.textContent("#integrations") ?? "", /connected/);
    await shot(page, "6-dashboard-after-run");

    // The alerts that were sent: listed newest first, searched, one alert's JSON, exported.
    await page.click("header a[href='/alerts']");
    const rows = await page.locator("#alerts tbody tr").count();
    equal(rows, Math.min(delivered, 50));
    equal(await page.locator("#next-page").count(), delivered > 50 ? 1 : 0);
    const firstId = await page.locator("#alerts tbody tr").first().getAttribute("data-alert-id");
    await page.locator("#alerts tbody tr").first().locator("summary").click();
    const shown = JSON.parse(
      await page.locator("#alerts tbody tr").first().locator("pre").textContent() ?? "{}",
    );
    equal(shown.id, firstId);
    await page.selectOption("#a-log-type", "impersonation");
    await page.click("#alert-search button:has-text('Search')");
    const impersonation =
      (await w.host.store.alerts.list({ logType: "impersonation" }, { limit: 1000 })).length;
    equal(impersonation > 0, true);
    equal(await page.locator("#alerts tbody tr").count(), Math.min(impersonation, 50));
    const csv = await page.request.get(
      `${w.hostUrl}${await page.locator("a:has-text('Export CSV')").getAttribute("href")}`,
    );
    equal(csv.status(), 200);
    equal((await csv.text()).trim().split("\n").length, impersonation + 1); // and a header
    await page.fill("#a-q", "no such sender anywhere");
    await page.click("#alert-search button:has-text('Search')");
    equal(await page.locator("#no-alerts").count(), 1);
    await shot(page, "9-alerts");

    // A post without the session's CSRF token is refused.
    const status = await page.evaluate(
      async (id) =>
        (await fetch(`/integrations/${id}/runs`, {
          method: "POST",
          body: new URLSearchParams({ _csrf: "forged" }),
        })).status,
      (await w.host.store.listIntegrations())[0].id,
    );
    equal(status, 403);
  } finally {
    await browser.close();
    await w.close();
  }
});

Deno.test("the UI works without JavaScript: log in, create, run, delete after a confirmation", async () => {
  const w = await world();
  const browser = await launch();
  try {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await login(page, w.hostUrl, TOKEN);
    await page.click("a:has-text('New integration')");
    equal(
      await page.locator("[data-branch='1.0']").isVisible(),
      true,
      "without JS both versions' fields show",
    );
    await page.fill("#f-name", "No JS");
    await page.fill("#f-destination-url", `${w.inboxUrl}/hook`);
    await page.fill("#f-destination-secret", SECRET);
    await page.fill("input[name='config.baseUrl@2.0']", w.simUrl);
    await page.fill("input[name='config.clientId@2.0']", SIM_CLIENT.clientId);
    await page.fill("input[name='config.clientSecret@2.0']", SIM_CLIENT.clientSecret);
    await page.click("button:has-text('Create integration')");
    match(await page.textContent(".notice") ?? "", /Integration created/);
    await page.click("button:has-text('Run now')");
    match(await page.textContent(".notice") ?? "", /Run .* started/);
    for (let i = 0; i < 100 && !(await page.locator("#runs .badge.succeeded").count()); i++) {
      await new Promise((r) => setTimeout(r, 100));
      await page.reload();
    }
    equal(await page.locator("#runs .badge.succeeded").count(), 1);
    equal(w.inbox.alerts.length > 0, true);

    // Test connection and the test event answer on the page itself.
    await page.click("button:has-text('Test connection')");
    equal(await page.locator("#check-result .badge.ok").count(), 4);
    await page.click("button:has-text('Send test event')");
    match(await page.textContent("#webhook-result") ?? "", /The receiver answered 2\d\d/);

    // The alerts that were sent: listed, filtered by a plain GET form, one alert's JSON opened.
    await page.goto(`${w.hostUrl}/alerts`);
    equal(await page.locator("#alerts tbody tr").count() > 0, true);
    await page.selectOption("#a-log-type", "url");
    await page.click("#alert-search button:has-text('Search')");
    match(new URL(page.url()).search, /logType=url/);
    const first = page.locator("#alerts tbody tr").first();
    await first.locator("summary").click();
    equal(JSON.parse(await first.locator("pre").textContent() ?? "{}").logType, "url");

    // The API docs say where the document is when scripts cannot run.
    await page.goto(`${w.hostUrl}/api/docs`);
    equal(
      await page.locator("noscript a[href='/api/openapi.json'], a[href='/api/openapi.json']")
        .count() > 0,
      true,
    );
    await page.goto(await integrationUrlOf(w));

    // Delete asks first, naming what is lost; "Keep it" keeps it.
    const integrationUrl = page.url();
    await page.click("a:has-text('Delete')");
    match(await page.textContent("#delete-loses") ?? "", /0\s+batch\(es\) waiting in the outbox/);
    match(await page.textContent("#delete-loses") ?? "", /1\s+run\(s\) of history/);
    await page.click("a:has-text('Keep it')");
    equal(page.url(), integrationUrl);
    equal((await w.host.store.listIntegrations()).length, 1);
    // A post without the confirmation (an old page's one-click button) asks first too.
    const csrf = await page.locator("input[name='_csrf']").first().getAttribute("value");
    const bare = await page.request.post(`${integrationUrl}/delete`, {
      form: { _csrf: csrf ?? "" },
      maxRedirects: 0,
    });
    equal(bare.status(), 303);
    equal(bare.headers()["location"], `${new URL(integrationUrl).pathname}/delete`);
    equal((await w.host.store.listIntegrations()).length, 1);
    await page.click("a:has-text('Delete')");
    await page.click("button:has-text('Delete No JS')");
    match(await page.textContent(".notice") ?? "", /Integration "No JS" deleted/);
    equal((await w.host.store.listIntegrations()).length, 0);
  } finally {
    await browser.close();
    await w.close();
  }
});

Deno.test("a run's progress is watched live: updated in place with JavaScript, by reloading without", async () => {
  const w = await world();
  const browser = await launch();
  try {
    // A slower Mimecast and more clicks: a run of about 15 pages at 150 ms each.
    w.sim.latencyMs = 150;
    w.sim.add(
      "url",
      generateRecords("url", 1500, { start: Date.now() - 2 * 3_600_000, stepMs: 4000 }),
    );
    const create = async (name: string) => {
      const response = await fetch(`${w.hostUrl}/api/integrations`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          plugin: "mimecast",
          name,
          config: {
            apiVersion: "2.0",
            baseUrl: w.simUrl,
            ...SIM_CLIENT,
            startFrom: "7d",
            logTypes: ["url"],
          },
          destination: { url: `${w.inboxUrl}/hook`, secret: SECRET },
          schedule: { enabled: false },
        }),
      });
      equal(response.status, 201);
      return (await response.json()).id as string;
    };
    const counts = (page: Page) => page.textContent("#live-counts").catch(() => null);

    // With JavaScript: the section updates itself while the page stays; at the end it reloads.
    const withJs = await browser.newPage();
    await login(withJs, w.hostUrl, TOKEN);
    const a = await create("Live JS");
    await withJs.goto(`${w.hostUrl}/integrations/${a}`);
    match(await withJs.textContent("#live") ?? "", /No run is going on/);
    await withJs.click("button:has-text('Run now')");
    equal(await withJs.locator("#live[data-running]").count(), 1);
    await withJs.evaluate(() => ((globalThis as unknown as { stay: boolean }).stay = true));
    const first = await counts(withJs);
    let changed = false;
    for (let i = 0; i < 60 && !changed; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await counts(withJs);
      changed = now !== null && now !== first;
    }
    equal(changed, true, "the counts moved on the page");
    equal(
      await withJs.evaluate(() => (globalThis as unknown as { stay?: boolean }).stay),
      true,
      "without a reload",
    );
    await shot(withJs, "7-run-live");
    await withJs.waitForSelector("#runs .badge.succeeded", { timeout: 20_000 });
    match(await withJs.textContent("#live") ?? "", /No run is going on/);

    // Without JavaScript: the page reloads itself every 2 s while the run goes on.
    const context = await browser.newContext({ javaScriptEnabled: false });
    const noJs = await context.newPage();
    await login(noJs, w.hostUrl, TOKEN);
    const b = await create("Live no JS");
    await noJs.goto(`${w.hostUrl}/integrations/${b}`);
    await noJs.click("button:has-text('Run now')");
    equal(await noJs.locator("#live noscript").count(), 1);
    const before = await counts(noJs);
    await new Promise((r) => setTimeout(r, 2600));
    const after = await counts(noJs);
    equal(after !== before, true, `the page reloaded itself (${before} → ${after})`);
    await noJs.waitForSelector("#runs .badge.succeeded", { timeout: 20_000 });
  } finally {
    await browser.close();
    await w.close();
  }
});

Deno.test("at 375 px and with a dark preference: no page wider than the screen, dark colours, times in UTC", async () => {
  const w = await world();
  const browser = await launch();
  try {
    const response = await fetch(`${w.hostUrl}/api/integrations`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        plugin: "mimecast",
        name: "A phone's view of a long integration name",
        config: { apiVersion: "2.0", baseUrl: w.simUrl, ...SIM_CLIENT, startFrom: "7d" },
        destination: { url: `${w.inboxUrl}/hook`, secret: SECRET },
        schedule: { enabled: false },
      }),
    });
    const { id } = await response.json();
    const context = await browser.newContext({
      viewport: { width: 375, height: 800 },
      colorScheme: "dark",
    });
    const page = await context.newPage();
    await login(page, w.hostUrl, TOKEN);
    await page.goto(`${w.hostUrl}/integrations/${id}`);
    await page.click("button:has-text('Run now')");
    await page.waitForSelector("#runs .badge.succeeded", { timeout: 20_000 });
    for (
      const path of [
        "/",
        `/integrations/${id}`,
        `/integrations/${id}/edit`,
        "/plugins/mimecast/new",
      ]
    ) {
      await page.goto(`${w.hostUrl}${path}`);
      const width = await page.evaluate("document.documentElement.scrollWidth") as number;
      equal(width <= 375, true, `${path} is ${width} px wide at 375 px`);
      const background = await page.evaluate("getComputedStyle(document.body).backgroundColor");
      equal(background, "rgb(17, 20, 24)", `${path} follows the dark preference`);
    }
    await page.goto(`${w.hostUrl}/integrations/${id}`);
    match(
      await page.textContent("#runs") ?? "",
      /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\)/,
    );
    await shot(page, "8-phone-dark");
  } finally {
    await browser.close();
    await w.close();
  }
});
