/**
 * The rejections log type against the simulator's SIEM stream, both API versions (SPEC §3.8):
 * only receipt rejections matching the rules become alerts, a file published later arrives on
 * the next run, a crash inside a file resumes with nothing lost or sent twice, expired links are
 * listed again, Mimecast's credentials never go to the storage host, and a damaged file is
 * skipped with the span named.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  generateSiemEvents,
  MimecastSimulator,
  type SiemStage,
} from "../../../fixtures/simulator/mod.ts";
import { plugin } from "../../../plugin/mod.ts";
import {
  drive,
  type DriveState,
  FakeClock,
  newState,
  pluginContext,
  simConfig,
} from "../../_helpers.ts";

const NOW = Date.UTC(2025, 3, 4, 12, 0, 0);
const MIN = 60_000;

/** A simulator with files of every stage published over the last hours, and what they hold. */
function seeded(clock: FakeClock, options: { files?: number; perFile?: number } = {}) {
  const sim = new MimecastSimulator({ now: clock.now });
  sim.recordBodies = false;
  const expected = new Map<string, number>(); // alert type → how many
  const stages: SiemStage[] = ["receipt", "process", "delivery", "journal"];
  const files = options.files ?? 8;
  const perFile = options.perFile ?? 250;
  for (let f = 0; f < files; f++) {
    const stage = stages[f % stages.length];
    const start = NOW - 6 * 60 * MIN + f * 30 * MIN;
    const { events, alertTypes } = generateSiemEvents(perFile, {
      start,
      stepMs: 5000,
      offset: f * perFile,
      stage,
    });
    sim.siem.addFile({ stage, events, publishedAt: start + 30 * MIN });
    for (const t of alertTypes) if (t) expected.set(t, (expected.get(t) ?? 0) + 1);
  }
  return { sim, expected };
}

const counted = (state: DriveState) => {
  const byType = new Map<string, number>();
  for (const a of state.alerts) byType.set(a.alertType, (byType.get(a.alertType) ?? 0) + 1);
  return byType;
};

for (const apiVersion of ["2.0", "1.0"] as const) {
  Deno.test(`rejections over API ${apiVersion}: the receipt rejections that match a rule, each once`, async () => {
    const clock = new FakeClock(NOW);
    const { sim, expected } = seeded(clock);
    const config = simConfig(apiVersion, { logTypes: ["rejections"], startFrom: "7d" });
    const state = await drive(newState(), { config, fetch: sim.fetch, clock });
    deepStrictEqual(counted(state), expected);
    equal(state.invalid, 0);
    equal(expected.size, 6, "the simulator's files carry all six seed reasons");
    for (const alert of state.alerts) {
      equal(alert.logType, "rejections");
      equal(alert.verdict, "rejected");
      ok(alert.rejection, "rejection { type, code, info }");
    }
    // Nothing new: a second run delivers nothing and keeps its place.
    const before = state.alerts.length;
    clock.advance(5 * MIN);
    await drive(state, { config, fetch: sim.fetch, clock });
    equal(state.alerts.length, before);
    equal(state.duplicates, 0);
    // A file published later arrives on the next run.
    const { events, alertTypes } = generateSiemEvents(400, {
      start: NOW,
      stepMs: 1000,
      offset: 100_000,
      stage: "receipt",
    });
    sim.siem.addFile({ stage: "receipt", events, publishedAt: NOW + 10 * MIN });
    clock.advance(10 * MIN);
    await drive(state, { config, fetch: sim.fetch, clock });
    equal(state.alerts.length, before + alertTypes.filter(Boolean).length);
    equal(state.duplicates, 0);
  });

  Deno.test(`rejections over API ${apiVersion}: a crash inside a file resumes there; nothing lost or sent twice`, async () => {
    const clock = new FakeClock(NOW);
    const { sim, expected } = seeded(clock, { files: 4, perFile: 1000 });
    const config = simConfig(apiVersion, { logTypes: ["rejections"], startFrom: "7d" });
    const state = newState();
    // Crash after 3 stored pages (300 events into the first receipt file), then again later.
    await drive(state, { config, fetch: sim.fetch, clock, crashAfterPages: 3 });
    const cursor = state.checkpoint!.cursors.rejections!;
    equal(cursor.done, 300, "the checkpoint points inside the file");
    await drive(state, { config, fetch: sim.fetch, clock, crashAfterPages: 4 });
    await drive(state, { config, fetch: sim.fetch, clock });
    deepStrictEqual(counted(state), expected);
    equal(new Set(state.alerts.map((a) => a.id)).size, state.alerts.length);
  });
}

Deno.test("rejections over API 2.0: an expired link is listed again; the storage host never sees the credentials", async () => {
  const clock = new FakeClock(NOW);
  const { sim, expected } = seeded(clock);
  const config = simConfig("2.0", { logTypes: ["rejections"], startFrom: "7d" });
  const seen: Request[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    const request = new Request(input, init);
    seen.push(request.clone());
    // The first download finds its link expired (S3 answers 403 then).
    if (
      request.url.includes("/siem-files/") &&
      seen.filter((r) => r.url.includes("/siem-files/")).length === 1
    ) {
      return Promise.resolve(
        new Response("<Error><Code>AccessDenied</Code></Error>", { status: 403 }),
      );
    }
    return sim.fetch(request);
  };
  const state = await drive(newState(), { config, fetch, clock });
  deepStrictEqual(counted(state), expected);
  const downloads = seen.filter((r) => r.url.includes("/siem-files/"));
  ok(downloads.length > 0);
  for (const r of downloads) equal(r.headers.get("Authorization"), null);
  const listings = seen.filter((r) => r.url.includes("/siem/v1/batch/events/cg"));
  equal(listings.length, 2, "the page was listed again after the expired link");
});

Deno.test("a damaged file: the events before the damage are delivered, the run goes on, the span is named", async () => {
  for (const apiVersion of ["2.0", "1.0"] as const) {
    const clock = new FakeClock(NOW);
    const sim = new MimecastSimulator({ now: clock.now });
    const good = generateSiemEvents(300, {
      start: NOW - 3 * 60 * MIN,
      stepMs: 1000,
      stage: "receipt",
    });
    const after = generateSiemEvents(300, {
      start: NOW - 60 * MIN,
      stepMs: 1000,
      offset: 300,
      stage: "receipt",
    });
    sim.siem.addFile({
      stage: "receipt",
      events: good.events,
      publishedAt: NOW - 2 * 60 * MIN,
      corrupt: true,
    });
    sim.siem.addFile({ stage: "receipt", events: after.events, publishedAt: NOW - 30 * MIN });
    const config = simConfig(apiVersion, { logTypes: ["rejections"], startFrom: "7d" });
    const ctx = pluginContext({ config, fetch: sim.fetch, clock });
    const skipped = [];
    let records = 0;
    for await (const page of plugin.fetch(ctx)) {
      records += page.records.length;
      skipped.push(...(page.skipped ?? []));
    }
    equal(skipped.length, 1, apiVersion);
    equal(skipped[0].stream, "rejections");
    ok(/damaged/.test(skipped[0].reason), skipped[0].reason);
    ok(records >= 300 && records < 600, `${records} events read (${apiVersion})`);
  }
});

Deno.test("check() tells per API version: files there, Enhanced Logging off, or the SIEM permission missing", async () => {
  for (const apiVersion of ["2.0", "1.0"] as const) {
    const clock = new FakeClock(NOW);
    const config = simConfig(apiVersion, { logTypes: ["rejections"] });
    const empty = new MimecastSimulator({ now: clock.now });
    const [off] = await plugin.check!(pluginContext({ config, fetch: empty.fetch, clock }));
    equal(off.ok, false);
    ok(/Enhanced Logging/.test(off.hint!), off.hint);
    const { sim } = seeded(clock);
    const [on] = await plugin.check!(pluginContext({ config, fetch: sim.fetch, clock }));
    deepStrictEqual(on, { logType: "rejections", ok: true });
    const denied = new MimecastSimulator({ now: clock.now, siemPermission: false });
    const [forbidden] = await plugin.check!(pluginContext({ config, fetch: denied.fetch, clock }));
    equal(forbidden.ok, false);
    ok(
      apiVersion === "2.0"
        ? /Threat and Security Events \(SIEM\)/.test(forbidden.hint!)
        : /Gateway > Tracking > Read/.test(forbidden.hint!),
      forbidden.hint,
    );
  }
});
