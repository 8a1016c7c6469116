/**
 * The status model (SPEC §5.5) from facts: each status, the order in which they win, and, at the
 * API, the three ways the old status lied: `error` after dead letters were redriven and delivered,
 * green `connected` with the schedule off and minutes of lag, `never-run` during a run.
 */
import { equal, match } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { type StatusFacts, statusOf } from "../../host/status.ts";
import { awaitRun, integrationBody, NOW, testHost } from "./_host.ts";

const MIN = 60_000;
const healthy: StatusFacts = {
  now: NOW,
  secretsReadable: true,
  running: false,
  enabled: true,
  pluginInstalled: true,
  lastFinished: { status: "succeeded", errorCode: null, finishedAt: new Date(NOW).toISOString() },
  lastSuccessAt: new Date(NOW - 2 * MIN).toISOString(),
  createdAt: new Date(NOW - 60 * MIN).toISOString(),
  deadLetters: 0,
  outboxPending: 0,
  intervalSeconds: 300,
  lateArrivalSeconds: 1800,
  maxLagSeconds: 120,
};

Deno.test("statusOf: each status from its facts, and the first that holds wins", () => {
  const cases: [string, Partial<StatusFacts>, string][] = [
    ["current", {}, "connected"],
    ["secrets unreadable, even while running with dead letters", {
      secretsReadable: false,
      running: true,
      deadLetters: 2,
    }, "secrets-unreadable"],
    ["running, even after a failure", {
      running: true,
      lastFinished: { status: "failed", errorCode: "PLUGIN_FETCH_FAILED", finishedAt: null },
    }, "running"],
    ["the last run failed", {
      lastFinished: { status: "failed", errorCode: "PLUGIN_FETCH_FAILED", finishedAt: null },
    }, "error"],
    ["dead letters wait", { deadLetters: 1 }, "error"],
    ["failed only on dead letters, since redriven and delivered", {
      lastFinished: { status: "failed", errorCode: "DELIVERY_FAILED", finishedAt: null },
    }, "connected"],
    ["failed on dead letters, redriven, not yet delivered", {
      lastFinished: { status: "failed", errorCode: "DELIVERY_FAILED", finishedAt: null },
      outboxPending: 1,
    }, "error"],
    ["error before paused", {
      enabled: false,
      lastFinished: { status: "failed", errorCode: "NET_FAILED", finishedAt: null },
    }, "error"],
    ["schedule off, with lag", { enabled: false, maxLagSeconds: 7 * 3600 }, "paused"],
    ["plugin not installed", { pluginInstalled: false }, "paused"],
    ["no run finished yet", { lastFinished: undefined, lastSuccessAt: null }, "never-run"],
    ["a cancelled run is not an error", {
      lastFinished: { status: "cancelled", errorCode: "CANCELLED", finishedAt: null },
    }, "connected"],
    ["no success within 2 intervals", {
      lastSuccessAt: new Date(NOW - 11 * MIN).toISOString(),
    }, "stale"],
    ["lag over 3 intervals + H", { maxLagSeconds: 3 * 300 + 1800 + 1 }, "stale"],
    ["lag up to 3 intervals + H", { maxLagSeconds: 3 * 300 + 1800 }, "connected"],
  ];
  for (const [what, facts, status] of cases) {
    equal(statusOf({ ...healthy, ...facts }).status, status, what);
  }
  match(statusOf({ ...healthy, deadLetters: 3 }).reason, /3 batch\(es\) wait in the dead letters/);
});

Deno.test("at the API: error clears once dead letters are delivered; schedule off is paused; a run is running", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 40, { start: NOW - 3_600_000, stepMs: 30_000 }));
    const created = await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { enabled: false } },
    });
    const { id } = await created.json();
    const status = async () => (await (await t.request(`/api/integrations/${id}`)).json());

    // Before anything: the schedule is off, so paused (not never-run, not connected).
    equal((await status()).status, "paused");
    await t.request(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { schedule: { enabled: true } },
    });
    equal((await status()).status, "never-run");

    // The receiver refuses everything: batches go to dead letters, the run fails: error.
    t.receiver.script = Array.from({ length: 40 }, () => ({ status: 400 }));
    let started = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    // While it runs: running.
    equal((await status()).status, "running");
    equal((await awaitRun(t, id, started.runId)).status, "failed");
    const failed = await status();
    equal(failed.status, "error");
    match(failed.statusReason, /dead letters/);

    // Fixed and redriven: every alert arrives, and the status is connected without a new run.
    t.receiver.script = [];
    const redrive = await t.request(`/api/integrations/${id}/dead-letters/redrive`, {
      method: "POST",
      json: {},
    });
    equal(redrive.status, 202);
    await t.host.delivery.settle();
    equal(t.receiver.alerts.length > 0, true);
    const recovered = await status();
    equal(recovered.deadLetters, 0);
    equal(recovered.status, "connected", recovered.statusReason);

    // The schedule off again, with minutes of lag: paused, not a green connected.
    t.clock.advance(7 * MIN);
    await t.request(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { schedule: { enabled: false } },
    });
    equal((await status()).status, "paused");

    // On again, 40 minutes without a success: stale, and /metrics says the same.
    await t.request(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { schedule: { enabled: true } },
    });
    t.clock.advance(33 * MIN);
    equal((await status()).status, "stale");
    const metrics = await (await t.request("/metrics")).text();
    match(metrics, new RegExp(`host_integration_status\\{integration="${id}",status="stale"\\} 1`));

    // A successful run makes it connected again.
    started = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" })).json();
    equal((await awaitRun(t, id, started.runId)).status, "succeeded");
    equal((await status()).status, "connected");
  } finally {
    await t.close();
  }
});
