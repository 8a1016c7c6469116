/**
 * The console's charts in a real browser (Debian's chromium driven by playwright-core): after a
 * run, Chart.js (served by the host) draws the integration page's alerts and lag charts and the
 * dashboard's sparkline from the numbers the store holds, in the dark scheme's colours when the
 * system asks for it, breaking no CSP and loading nothing from elsewhere; without JavaScript the
 * same numbers are in the page as text; a dashboard of many draws the sparklines as they come into
 * view. Screenshots go to test-artifacts/ui/.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import type { Page } from "playwright-core";
import { generateRecords } from "../../../fixtures/simulator/mod.ts";
import { alertsLastDay, hourlyStats } from "../../../host/stats.ts";
import { ADMIN, awaitRun, integrationBody, testHost } from "../_host.ts";
import { launch, login } from "./_browser.ts";

const HOUR = 3_600_000;
const ARTIFACTS = new URL("../../../test-artifacts/ui/", import.meta.url);

/** URL records per run; runs 3 hours apart, each with a fifth as many attachments. */
const RUNS = [60, 140, 25, 200, 90, 120];

async function world() {
  const t = await testHost();
  const created = await t.request("/api/integrations", { method: "POST", json: integrationBody() });
  equal(created.status, 201);
  const { id } = await created.json();
  for (const [k, n] of RUNS.entries()) {
    if (k > 0) t.clock.advance(3 * HOUR);
    // Records from the hour before the run; distinct offsets, distinct records.
    const offset = k * 1000;
    const start = t.clock.now() - HOUR - offset * 1000;
    t.sim.add("url", generateRecords("url", n, { start, stepMs: 1000, offset }));
    const some = Math.round(n / 5);
    t.sim.add("attachment", generateRecords("attachment", some, { start, stepMs: 1000, offset }));
    t.sim.add(
      "impersonation",
      generateRecords("impersonation", some, { start, stepMs: 1000, offset }),
    );
    const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    equal((await awaitRun(t, id, runId)).status, "succeeded");
  }
  const stop = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: stop.signal, onListen: () => {} },
    t.host.app.fetch,
  );
  return {
    t,
    id,
    origin: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      stop.abort();
      await server.finished;
      await t.close();
    },
  };
}

/**
 * Scrolls to the chart at `selector` (sparklines are drawn once in view) and waits until Chart.js has
 * drawn it. Polled from here: Playwright's own waitForFunction evaluates a string in the page
 * with eval, which the host's CSP forbids.
 */
async function drawn(page: Page, selector: string): Promise<void> {
  await page.locator(selector).scrollIntoViewIfNeeded({ timeout: 20_000 });
  const expression = `!!(window.Chart && Chart.getChart(document.querySelector(${
    JSON.stringify(selector)
  })))`;
  for (let i = 0; i < 200; i++) {
    if (await page.evaluate(expression)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Chart.js drew no chart at ${selector} in 20 s`);
}

/** What a Chart.js chart on the page holds, read in the page (a string: no DOM types here). */
function chartOf(page: Page, selector: string) {
  return page.evaluate(`(() => {
    const chart = Chart.getChart(document.querySelector(${JSON.stringify(selector)}));
    return chart && {
      type: chart.config.type,
      labels: chart.data.labels.length,
      datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })),
      legendColor: chart.options.plugins.legend.labels.color,
      width: chart.width,
      height: chart.height,
    };
  })()`) as Promise<
    | {
      type: string;
      labels: number;
      datasets: { label: string; data: (number | null)[] }[];
      legendColor: string;
      width: number;
      height: number;
    }
    | undefined
  >;
}

Deno.test("Chart.js draws the integration page's alerts and lag per hour and the dashboard's day, from the stored numbers, under the CSP", async () => {
  const w = await world();
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const elsewhere: string[] = [];
    const problems: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(w.origin) && !r.url().startsWith("data:")) elsewhere.push(r.url());
    });
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on("console", (m) => {
      if (m.type() === "error" || /Content Security Policy/.test(m.text())) {
        problems.push(m.text());
      }
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    await login(page, w.origin, ADMIN);

    const stats = await hourlyStats(w.t.host.store, w.id, { now: w.t.clock.now() });
    const expected = stats.logTypes.map((s) => ({ label: s.logType, data: s.alerts }));
    ok(expected.length >= 2, "alerts in more than one log type");
    ok(expected.every((s) => s.data[167] > 0), "each log type stored alerts in this hour");

    await page.goto(`${w.origin}/integrations/${w.id}`);
    await drawn(page, "#lag-chart");
    const alerts = await chartOf(page, "#alerts-chart");
    ok(alerts, "the alerts chart was drawn by Chart.js");
    equal(alerts.type, "bar");
    equal(alerts.labels, 168);
    deepStrictEqual(alerts.datasets, expected);
    ok(alerts.width > 300 && alerts.height > 100, `drawn at ${alerts.width}×${alerts.height}`);
    const lag = await chartOf(page, "#lag-chart");
    ok(lag);
    equal(lag.type, "line");
    deepStrictEqual(
      lag.datasets.map((d) => [d.label, d.data.filter((v) => v !== null).length]),
      stats.logTypes.map((s) => [s.logType, RUNS.length]),
      "one lag sample per log type and run: each run's end",
    );
    await page.locator("#charts").screenshot({
      path: new URL("10-charts.png", ARTIFACTS).pathname,
    });

    await page.goto(`${w.origin}/`);
    const day = (await alertsLastDay(w.t.host.store, w.t.clock.now())).byIntegration.get(w.id);
    ok(day);
    const spark = `tr[data-integration='${w.id}'] canvas[data-chart='spark']`;
    await drawn(page, spark);
    deepStrictEqual((await chartOf(page, spark))?.datasets[0].data, day);
    equal(
      await page.textContent(`tr[data-integration='${w.id}'] .day-total`),
      String(day.reduce((a, b) => a + b)),
    );

    deepStrictEqual(elsewhere, []);
    deepStrictEqual(problems, []);
  } finally {
    await browser.close();
    await w.close();
  }
});

Deno.test("the charts take the dark scheme's colours; without JavaScript their numbers are in the page as text", async () => {
  const w = await world();
  const browser = await launch();
  try {
    const light = await browser.newPage();
    await login(light, w.origin, ADMIN);
    await light.goto(`${w.origin}/integrations/${w.id}`);
    await drawn(light, "#alerts-chart");
    const dark = await browser.newContext({
      colorScheme: "dark",
      viewport: { width: 375, height: 800 },
    });
    const darkPage = await dark.newPage();
    await login(darkPage, w.origin, ADMIN);
    await darkPage.goto(`${w.origin}/integrations/${w.id}`);
    await drawn(darkPage, "#alerts-chart");
    const lightColor = (await chartOf(light, "#alerts-chart"))?.legendColor;
    const darkColor = (await chartOf(darkPage, "#alerts-chart"))?.legendColor;
    equal(lightColor, "#3d4650");
    equal(darkColor, "#c9d1d9");
    const width = await darkPage.evaluate("document.documentElement.scrollWidth") as number;
    ok(width <= 375, `the page is ${width} px wide at 375 px`);
    await darkPage.locator("#charts").screenshot({
      path: new URL("11-charts-phone-dark.png", ARTIFACTS).pathname,
    });

    const noJs = await browser.newContext({ javaScriptEnabled: false });
    const page = await noJs.newPage();
    await login(page, w.origin, ADMIN);
    await page.goto(`${w.origin}/integrations/${w.id}`);
    equal(await page.locator("#charts .chart").first().isHidden(), true, "no empty chart box");
    const stats = await hourlyStats(w.t.host.store, w.id, { now: w.t.clock.now() });
    const hour = stats.hours[167];
    const cells = await page.locator(`#chart-table tr[data-hour='${hour}'] td`).allTextContents();
    deepStrictEqual(
      cells.slice(1, 1 + stats.logTypes.length).map(Number),
      stats.logTypes.map((s) => s.alerts[167]),
    );
    equal(
      await page.locator("#chart-table tbody tr").count(),
      RUNS.length,
      "only the hours that hold something: the runs'",
    );
    await page.goto(`${w.origin}/`);
    const day = (await alertsLastDay(w.t.host.store, w.t.clock.now())).byIntegration.get(w.id) ??
      [];
    equal(
      await page.textContent(`tr[data-integration='${w.id}'] .day-total`),
      String(day.reduce((a, b) => a + b, 0)),
    );
    equal(
      (await page.textContent(`tr[data-integration='${w.id}'] .sr-only`))?.trim(),
      `Per hour, oldest first: ${day.join(", ")}`,
    );
  } finally {
    await browser.close();
    await w.close();
  }
});

Deno.test("a dashboard of many integrations draws the sparklines on screen, and the others as they scroll into view", async () => {
  const t = await testHost();
  const stop = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: stop.signal, onListen: () => {} },
    t.host.app.fetch,
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const browser = await launch();
  try {
    for (let i = 0; i < 40; i++) {
      const body = { ...integrationBody(), name: `Tenant ${i}`, schedule: { enabled: false } };
      equal((await t.request("/api/integrations", { method: "POST", json: body })).status, 201);
    }
    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    await login(page, origin, ADMIN);
    await drawn(page, "#integrations tbody tr:first-child canvas[data-chart='spark']");
    const count = () =>
      page.evaluate(
        `[...document.querySelectorAll("canvas[data-chart='spark']")].filter((c) => Chart.getChart(c)).length`,
      ) as Promise<number>;
    const onScreen = await count();
    ok(onScreen > 0 && onScreen < 40, `${onScreen} of 40 drawn before scrolling`);
    await drawn(page, "#integrations tbody tr:last-child canvas[data-chart='spark']");
    ok(await count() > onScreen);
  } finally {
    await browser.close();
    stop.abort();
    await server.finished;
    await t.close();
  }
});
