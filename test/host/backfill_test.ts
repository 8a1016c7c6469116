/**
 * Backfill over the API (SPEC §5.3, §5.5): `POST /api/integrations/:id/backfill` replays a past
 * span as a run of kind `backfill`, delivering only what is missing (or, with `redeliver`, all
 * of it again under new webhook ids and `replay: true`), never touching the live cursors; it is
 * checked field by field, and cancelled like any run.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { awaitRun, integrationBody, NOW, testHost, WEBHOOK_SECRET } from "./_host.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

type TestHost = Awaited<ReturnType<typeof testHost>>;

/** Malicious clicks, one a minute from `start`; `offset` makes them other records. */
function clicks(count: number, start: number, offset = 0) {
  const first = start - offset * 60_000; // generateRecords dates record i at start + i * step
  return generateRecords("url", count, { start: first, stepMs: 60_000, offset }).map((r) => ({
    ...r,
    scanResult: "malicious",
  }));
}

async function create(t: TestHost, destination: Record<string, unknown> = {}): Promise<string> {
  const body = integrationBody("2.0", { logTypes: ["url", "attachment"] });
  const response = await t.request("/api/integrations", {
    method: "POST",
    json: {
      ...body,
      name: `Mimecast as ${destination.format ?? "alerts"}`,
      destination: { ...body.destination, ...destination },
      // Scheduled, so that its status speaks of its live runs (a new one waits for a check).
      schedule: { enabled: true },
    },
  });
  equal(response.status, 201, await response.clone().text());
  return (await response.json()).id;
}

async function run(t: TestHost, id: string) {
  const response = await t.request(`/api/integrations/${id}/runs`, { method: "POST" });
  equal(response.status, 202);
  return await awaitRun(t, id, (await response.json()).runId);
}

function backfill(t: TestHost, id: string, body: unknown) {
  return t.request(`/api/integrations/${id}/backfill`, { method: "POST", json: body });
}

async function backfilled(t: TestHost, id: string, body: unknown) {
  const response = await backfill(t, id, body);
  equal(response.status, 202, await response.clone().text());
  return await awaitRun(t, id, (await response.json()).runId);
}

Deno.test("a backfill delivers only what is missing and leaves the live cursor where it was; the next live run continues from it", async () => {
  const t = await testHost();
  try {
    const id = await create(t);
    t.sim.add("url", clicks(30, NOW - 2 * DAY));
    const live = await run(t, id);
    equal(live.kind, "run");
    equal(t.receiver.alerts.length, 30);
    const checkpoint = await t.host.store.getCheckpoint(id);
    const streams = await t.host.store.listStreams(id);

    // Records that showed up long after their date (later than the late-arrival window): the
    // live runs never read that past again; a backfill does.
    t.sim.add("url", clicks(5, NOW - 2 * DAY + 90_000 / 2, 1000));
    const calls = t.sim.logCalls;
    const span = { from: iso(NOW - 2 * DAY - HOUR), to: iso(NOW - DAY) };
    const replay = await backfilled(t, id, { ...span, logTypes: ["url"] });
    equal(replay.status, "succeeded", replay.error);
    equal(replay.kind, "backfill");
    deepStrictEqual(replay.backfill, { ...span, logTypes: ["url"], redeliver: false });
    deepStrictEqual(replay.progress, { url: span.to });
    equal(replay.counts.fetched, 35);
    equal(replay.counts.duplicates, 30);
    equal(replay.counts.alerts, 5);
    equal(replay.counts.delivered, 5);
    equal(t.receiver.alerts.length, 35, "only the five missing alerts were sent");
    equal(new Set(t.receiver.alerts.map((a) => a.id)).size, 35);
    for (const r of t.receiver.received) equal("replay" in r.json, false);
    // One read of exactly the span, oldest first.
    const asked = t.sim.bodies.slice(calls).map((b) => b.body as { data: { from: string }[] });
    equal(asked.length, 1);
    equal(asked[0].data[0].from, "2025-03-02T11:00:00+0000");
    // The live cursor and the stream's lag are as the live run left them.
    deepStrictEqual(await t.host.store.getCheckpoint(id), checkpoint);
    deepStrictEqual(
      (await t.host.store.listStreams(id)).map((s) => s.listedAt),
      streams.map((s) => s.listedAt),
    );

    // The next live run goes on from the live cursor: only what is new since then.
    t.clock.advance(10 * 60_000);
    t.sim.add("url", clicks(3, NOW, 2000));
    const before = t.sim.bodies.length;
    const next = await run(t, id);
    const liveAsked = t.sim.bodies.slice(before).find((b) => b.path === "/api/ttp/url/get-logs");
    equal(
      (liveAsked?.body as { data: { from: string }[] }).data[0].from,
      "2025-03-04T11:59:00+0000",
      "from the live cursor the first run left",
    );
    equal(next.status, "succeeded");
    equal(next.counts.alerts, 3);
    equal(t.receiver.alerts.length, 38);
    const view = await (await t.request(`/api/integrations/${id}`)).json();
    equal(view.status, "connected");
  } finally {
    await t.close();
  }
});

Deno.test("a backfill with redeliver sends the stored alerts again under new webhook ids, marked replay, in both formats", async () => {
  const t = await testHost();
  try {
    const plain = await create(t);
    const ocsf = await create(t, { format: "ocsf" });
    t.sim.add("url", clicks(12, NOW - 3 * DAY));
    await run(t, plain);
    await run(t, ocsf);
    const first = t.receiver.received.length;
    const firstIds = new Set(t.receiver.received.map((r) => r.id));
    const checkpoint = await t.host.store.getCheckpoint(plain);
    const span = { from: iso(NOW - 4 * DAY), to: iso(NOW - 2 * DAY), redeliver: true };

    for (const id of [plain, ocsf]) {
      const replay = await backfilled(t, id, span);
      equal(replay.status, "succeeded", replay.error);
      deepStrictEqual(replay.backfill.logTypes, ["url", "attachment"], "every replayable type");
      equal(replay.counts.alerts, 0);
      equal(replay.counts.duplicates, 12);
      equal(replay.counts.delivered, 12);
    }
    const again = t.receiver.received.slice(first);
    equal(again.reduce((n, r) => n + r.json.alerts.length, 0), 24);
    for (const r of again) {
      ok(!firstIds.has(r.id), "a new webhook id");
      equal((r.json as { replay?: boolean }).replay, true);
      match(
        r.body,
        /^\{"type":"mimecast\.alerts","integrationId":"[^"]+",("format":"ocsf",)?"replay":true,"alerts":\[/,
      );
    }
    const ocsfBodies = again.filter((r) => r.json.integrationId === ocsf);
    ok(ocsfBodies.length > 0);
    for (const r of ocsfBodies) equal((r.json as { format?: string }).format, "ocsf");
    // The same alerts as the first time, by id.
    const ids = (rs: typeof again, id: string) =>
      rs.filter((r) => r.json.integrationId === id).flatMap((r) =>
        r.json.alerts.map((a) =>
          String(a.id ?? (a as { finding_info?: { uid: string } }).finding_info?.uid)
        )
      ).sort();
    deepStrictEqual(ids(again, plain), ids(t.receiver.received.slice(0, first), plain));
    deepStrictEqual(await t.host.store.getCheckpoint(plain), checkpoint);
    t.receiver.verifyAll(WEBHOOK_SECRET);
  } finally {
    await t.close();
  }
});

Deno.test("a backfill request is checked field by field: 422 with plain words", async () => {
  const t = await testHost();
  try {
    const id = await create(t);
    const issues = async (body: unknown) => {
      const response = await backfill(t, id, body);
      equal(response.status, 422, JSON.stringify(body));
      const json = await response.json();
      equal(json.code, "CONFIG_INVALID");
      return json.issues as { path: string; message: string }[];
    };
    const day = iso(NOW - DAY);
    const hour = iso(NOW - HOUR);
    deepStrictEqual((await issues({ from: hour, to: day })).map((i) => i.path), ["to"]);
    match((await issues({ from: hour, to: day }))[0].message, /to must come after from/);
    // Within one second: the span is read at one-second grain, so it is empty.
    const second = await issues({
      from: "2025-03-04T10:00:00.100Z",
      to: "2025-03-04T10:00:00.900Z",
    });
    match(second[0].message, /to must come after from/);
    const future = await issues({ from: day, to: iso(NOW + HOUR) });
    equal(future[0].path, "to");
    match(future[0].message, /must not be in the future/);
    const old = await issues({ from: iso(NOW - 31 * DAY), to: day });
    equal(old[0].path, "from");
    match(old[0].message, /within the last 30 days/);
    const rejections = await issues({ from: day, to: hour, logTypes: ["url", "rejections"] });
    equal(rejections[0].path, "logTypes.1");
    match(
      rejections[0].message,
      /"rejections" cannot be replayed: it is read from Mimecast's SIEM files/,
    );
    match(
      (await issues({ from: day, to: hour, logTypes: ["impersonation"] }))[0].message,
      /not one of this integration's log types/,
    );
    match(
      (await issues({ from: day, to: hour, logTypes: ["nope"] }))[0].message,
      /not a log type of this plugin/,
    );
    match(
      (await issues({ from: day, to: hour, logTypes: [] }))[0].message,
      /at least one log type/,
    );
    match((await issues({ from: "yesterday", to: hour }))[0].message, /ISO time with its zone/);
    deepStrictEqual((await issues({ to: hour })).map((i) => i.message), ["from is required"]);
    match((await issues({ from: day, to: hour, since: day }))[0].message, /Unknown field "since"/);
    // Several at once, each with its field.
    deepStrictEqual(
      (await issues({ from: iso(NOW - 40 * DAY), to: iso(NOW + DAY), logTypes: ["rejections"] }))
        .map((i) => i.path).sort(),
      ["from", "logTypes.0", "to"],
    );
    equal((await backfill(t, "no-such-integration", { from: day, to: hour })).status, 404);
    equal(t.sim.logCalls, 0, "nothing was read");
    equal((await t.host.store.listRuns(id)).length, 0, "no run was recorded");
    // Any zone is taken, and stored in UTC.
    const zoned = await backfilled(t, id, {
      from: "2025-03-04T10:00:00+02:00",
      to: "2025-03-04T10:30:00+0000",
    });
    equal(zoned.backfill.from, "2025-03-04T08:00:00Z");
    equal(zoned.backfill.to, "2025-03-04T10:30:00Z");
  } finally {
    await t.close();
  }
});

Deno.test("a backfill runs one at a time with the live runs and is cancelled like a run", async () => {
  const t = await testHost();
  try {
    const id = await create(t);
    t.sim.inject({
      kind: "page",
      path: "/api/ttp/url/get-logs",
      times: 100_000,
      delayMs: 10,
      page: (n) => ({
        meta: { status: 200, pagination: { pageSize: 1, next: `endless-${n}` } },
        data: [{ clickLogs: clicks(1, NOW - 2 * DAY + n * 1000, n) }],
        fail: [],
      }),
    });
    const started = await backfill(t, id, { from: iso(NOW - 3 * DAY), to: iso(NOW - DAY) });
    equal(started.status, 202);
    const { runId } = await started.json();
    const busy = await t.request(`/api/integrations/${id}/runs`, { method: "POST" });
    equal(busy.status, 409);
    equal((await busy.json()).runId, runId);
    const second = await backfill(t, id, { from: iso(NOW - 3 * DAY), to: iso(NOW - DAY) });
    equal(second.status, 409);
    equal((await second.json()).runId, runId);

    const deadline = Date.now() + 10_000;
    while (t.receiver.alerts.length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const during = await (await t.request(`/api/runs/${runId}`)).json();
    equal(during.status, "running");
    equal(during.kind, "backfill");
    ok(during.progress.url > iso(NOW - 3 * DAY), "progress moves as pages are stored");
    const response = await t.request(`/api/runs/${runId}/cancel`, { method: "POST" });
    equal(response.status, 200);
    const cancelled = await response.json();
    equal(cancelled.status, "cancelled");
    equal(cancelled.kind, "backfill");
    match(cancelled.hint, /a backfill is not resumed/);
    equal(await t.host.store.getCheckpoint(id), null, "no live checkpoint was written");
    const view = await (await t.request(`/api/integrations/${id}`)).json();
    equal(view.runningRunId, null);
    equal(view.status, "never-run", "a backfill is not the live pipeline's run");
  } finally {
    await t.close();
  }
});

Deno.test("a backfill a crash interrupted is marked failed at the next start and says it is not resumed", async () => {
  const t = await testHost();
  try {
    const id = await create(t);
    await t.host.store.insertRun({
      id: "crashed",
      integrationId: id,
      trigger: "manual",
      startedAt: iso(NOW),
      backfill: { logTypes: ["url"], from: iso(NOW - DAY), to: iso(NOW - HOUR), redeliver: false },
    });
    equal(await t.host.store.failInterruptedRuns(), 1);
    const crashed = await (await t.request("/api/runs/crashed")).json();
    equal(crashed.status, "failed");
    equal(crashed.code, "INTERRUPTED");
    equal(crashed.kind, "backfill");
    match(crashed.hint, /A backfill is not resumed/);
  } finally {
    await t.close();
  }
});
