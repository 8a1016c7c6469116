/**
 * `GET /api/integrations/:id/stats` and the console pages that chart the same numbers (SPEC
 * §5.8): after a run, its alerts in the current hour per log type and the lag noted at its end;
 * the query checked; the integration page's chart data and no-JS table, the dashboard's day, and
 * Chart.js served by the host with a year of caching.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { ADMIN, awaitRun, integrationBody, NOW, testHost } from "./_host.ts";

const HOUR = 3_600_000;

type TestHost = Awaited<ReturnType<typeof testHost>>;

interface Stats {
  hours: string[];
  logTypes: { logType: string; alerts: number[]; lagSeconds: (number | null)[] }[];
}

async function ranOnce(t: TestHost): Promise<{ id: string; alerts: number }> {
  t.sim.add("url", generateRecords("url", 250, { start: NOW - 2 * HOUR, stepMs: 1000 }));
  t.sim.add("attachment", generateRecords("attachment", 40, { start: NOW - 2 * HOUR }));
  const created = await t.request("/api/integrations", { method: "POST", json: integrationBody() });
  equal(created.status, 201);
  const { id } = await created.json();
  const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
    .json();
  const run = await awaitRun(t, id, runId);
  equal(run.status, "succeeded", JSON.stringify(run));
  return { id, alerts: run.counts.alerts };
}

async function loggedIn(t: TestHost): Promise<string> {
  const form = new URLSearchParams({ token: ADMIN });
  const response = await t.request("/login", { method: "POST", body: form, redirect: "manual" });
  return (response.headers.get("set-cookie") ?? "").split(";")[0];
}

Deno.test("GET /api/integrations/:id/stats gives a week of hours per log type: the run's alerts in its hour, zeros elsewhere, its lag at the end", async () => {
  const t = await testHost();
  try {
    const { id, alerts } = await ranOnce(t);
    const response = await t.request(`/api/integrations/${id}/stats`);
    equal(response.status, 200);
    const stats: Stats = await response.json();
    equal(stats.hours.length, 168);
    equal(stats.hours[167], new Date(Math.floor(NOW / HOUR) * HOUR).toISOString());
    const names = stats.logTypes.map((s) => s.logType);
    ok(names.includes("url") && names.includes("attachment"), names.join());
    let total = 0;
    for (const s of stats.logTypes) {
      equal(s.alerts.length, 168);
      deepStrictEqual(s.alerts.slice(0, 167), new Array(167).fill(0), `${s.logType}: empty hours`);
      total += s.alerts[167];
      // The lag each log type was left with as the run ended.
      deepStrictEqual(s.lagSeconds.slice(0, 167), new Array(167).fill(null));
      equal(typeof s.lagSeconds[167], "number", `${s.logType}: lag noted at the run's end`);
    }
    equal(total, alerts);
    ok(alerts > 0);

    // A day later, asked for 24 hours: the run's hour has left the window.
    t.clock.advance(24 * HOUR);
    const later: Stats = await (await t.request(`/api/integrations/${id}/stats?hours=24`)).json();
    equal(later.hours.length, 24);
    for (const s of later.logTypes) deepStrictEqual(s.alerts, new Array(24).fill(0));
    const back: Stats = await (await t.request(`/api/integrations/${id}/stats?hours=25`)).json();
    equal(back.logTypes.reduce((sum, s) => sum + s.alerts[0], 0), alerts);
  } finally {
    await t.close();
  }
});

Deno.test("the hours are pruned with the alerts' retention when a run starts", async () => {
  const t = await testHost({ alertRetentionDays: 1 });
  try {
    const { id, alerts } = await ranOnce(t);
    t.clock.advance(2 * 24 * HOUR);
    const month = async () =>
      ((await (await t.request(`/api/integrations/${id}/stats?hours=720`)).json()) as Stats)
        .logTypes.reduce((sum, s) => sum + s.alerts.reduce((a, b) => a + b, 0), 0);
    equal(await month(), alerts, "kept until something prunes");
    const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    await awaitRun(t, id, runId);
    equal(await month(), 0);
  } finally {
    await t.close();
  }
});

Deno.test("GET /api/integrations/:id/stats checks its query, its integration and the token", async () => {
  const t = await testHost();
  try {
    const { id } = await ranOnce(t);
    for (const query of ["hours=0", "hours=721", "hours=abc", "hours=1.5"]) {
      const response = await t.request(`/api/integrations/${id}/stats?${query}`);
      equal(response.status, 400, query);
      const body = await response.json();
      equal(body.code, "REQUEST_MALFORMED");
      match(body.issues[0].message, /hours must be a whole number from 1 to 720/);
    }
    const unknown = await t.request(`/api/integrations/${id}/stats?days=7`);
    equal(unknown.status, 400);
    match((await unknown.json()).issues[0].message, /Unknown field "days"/);
    equal((await t.request("/api/integrations/no-such-id/stats")).status, 404);
    const anonymous = await t.request(`/api/integrations/${id}/stats`, {
      headers: { Authorization: "Bearer wrong" },
    });
    equal(anonymous.status, 401);
  } finally {
    await t.close();
  }
});

Deno.test("the integration page carries the charts' numbers as data and as a table; the dashboard its day; Chart.js comes from the host", async () => {
  const t = await testHost();
  try {
    const { id, alerts } = await ranOnce(t);
    const cookie = await loggedIn(t);
    const page = await t.request(`/integrations/${id}`, { headers: { Cookie: cookie } });
    equal(page.status, 200);
    const html = await page.text();
    // The data rides in an attribute, never an inline script (the CSP allows none).
    equal(/<script>|<script [^>]*>[^<]/.test(html), false, "no inline script");
    const series = (chart: string) => {
      const found = html.match(new RegExp(`data-chart="${chart}"\\s+data-series="([^"]*)"`));
      ok(found, `a ${chart} chart`);
      return JSON.parse(found[1].replaceAll("&quot;", '"'));
    };
    const data = series("alerts");
    equal(data.from, new Date(Math.floor(NOW / HOUR) * HOUR - 167 * HOUR).toISOString());
    equal(
      data.series.reduce((sum: number, s: { data: number[] }) => sum + s.data[167], 0),
      alerts,
    );
    equal(series("lag").series.length, data.series.length);
    // Without JavaScript: one table row for the run's hour, with each log type's count.
    const rows = [...html.matchAll(/<tr data-hour="([^"]+)">([\s\S]*?)<\/tr>/g)];
    equal(rows.length, 1);
    equal(rows[0][1], new Date(Math.floor(NOW / HOUR) * HOUR).toISOString());
    const cells = [...rows[0][2].matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
    equal(cells[0], "2025-03-04 12:00");
    const counts = cells.slice(1, 1 + data.series.length).map(Number);
    equal(counts.reduce((a, b) => a + b), alerts);

    const dashboard = await (await t.request("/", { headers: { Cookie: cookie } })).text();
    match(dashboard, new RegExp(`<strong class="day-total">${alerts}</strong>`));
    match(dashboard, /data-chart="spark"/);

    const script = html.match(/<script src="(\/assets\/charts\.js)"/);
    ok(script, "the chart script is a file");
    const code = await (await t.request(script[1])).text();
    const library = code.match(/"(\/assets\/chart\.js-[0-9.]+\/chart\.umd\.min\.js)"/);
    ok(library, "the chart script loads Chart.js from the host");
    const served = await t.request(library[1]);
    equal(served.status, 200);
    equal(served.headers.get("Content-Type"), "text/javascript; charset=utf-8");
    equal(served.headers.get("Cache-Control"), "public, max-age=31536000, immutable");
    const text = await served.text();
    match(text, /Chart\.js v4\.\d+\.\d+/);
    equal(text.includes("sourceMappingURL"), false);
  } finally {
    await t.close();
  }
});
