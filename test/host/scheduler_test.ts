import { deepStrictEqual, equal } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import type { Registry } from "../../host/registry.ts";
import type { Runner } from "../../host/runner.ts";
import { Scheduler } from "../../host/scheduler.ts";
import type { HostStore } from "../../host/store/mod.ts";
import { integrationBody, NOW, testHost } from "./_host.ts";

Deno.test("the scheduler starts due integrations once, honours enabled and interval, and jitters", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 10, { start: NOW - 3_600_000 }));
    const a = (await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { intervalSeconds: 600, enabled: true } },
    })).json()).id;
    const off = (await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), name: "Paused", schedule: { enabled: false } },
    })).json()).id;
    // First sight: due within 10 s (spread so a fleet of integrations does not fire together).
    deepStrictEqual(await t.host.scheduler.tick(), []);
    t.clock.advance(10_001);
    deepStrictEqual(await t.host.scheduler.tick(), [a]);
    deepStrictEqual(
      await t.host.scheduler.tick(),
      [],
      "not twice while running, nor before the interval",
    );
    await t.host.runner.settled(a);
    t.clock.advance(539_000); // 0.9 × 600 s is the earliest jittered time
    deepStrictEqual(await t.host.scheduler.tick(), []);
    t.clock.advance(121_000); // 1.1 × 600 s is the latest
    deepStrictEqual(await t.host.scheduler.tick(), [a]);
    await t.host.runner.settled(a);
    const { runs } = await (await t.request(`/api/integrations/${a}/runs`)).json();
    deepStrictEqual(runs.map((r: { trigger: string; status: string }) => [r.trigger, r.status]), [[
      "schedule",
      "succeeded",
    ], ["schedule", "succeeded"]]);
    equal((await (await t.request(`/api/integrations/${off}/runs`)).json()).runs.length, 0);
  } finally {
    await t.close();
  }
});

/** A scheduler over fake parts: `due` integrations all due now, runs that end when told to. */
function fakeScheduler(due: string[], maxConcurrent: number) {
  const ends = new Map<string, () => void>();
  const running = new Map<string, Promise<void>>();
  const startedOrder: string[] = [];
  const runner = {
    get active() {
      return running.size;
    },
    runningId: (id: string) => running.has(id) ? `run-${id}` : undefined,
    settled: (id: string) => running.get(id) ?? Promise.resolve(),
    start(id: string) {
      startedOrder.push(id);
      const done = new Promise<void>((resolve) => ends.set(id, resolve))
        .then(() => void running.delete(id));
      running.set(id, done);
      return Promise.resolve({ runId: `run-${id}`, started: true });
    },
  };
  const lastRunAt = new Date(Date.now() - 3_600_000).toISOString();
  const store = {
    scheduleRows: () =>
      Promise.resolve(
        due.map((id) => ({
          id,
          pluginId: "p",
          enabled: true,
          intervalSeconds: 300,
          lastRunAt,
          newestRun: null,
        })),
      ),
  };
  const registry = { get: () => ({ manifest: { schedule: { defaultIntervalSeconds: 300 } } }) };
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const scheduler = new Scheduler({
    store: store as unknown as HostStore,
    registry: registry as unknown as Registry,
    runner: runner as unknown as Runner,
    clock: { now: () => Date.now(), sleep: () => Promise.resolve() },
    logger: silent,
    maxConcurrent,
  });
  const end = async (id: string) => {
    ends.get(id)!();
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
  };
  return { scheduler, startedOrder, end };
}

Deno.test("a scheduled run's end starts the next due integration at once, without waiting for a tick", async () => {
  const { scheduler, startedOrder, end } = fakeScheduler(["a", "b", "c"], 1);
  scheduler.start(3_600_000); // no timer tick during the test: only run ends start runs
  try {
    deepStrictEqual(await scheduler.tick(), ["a"]);
    deepStrictEqual(startedOrder, ["a"], "one slot: b and c wait");
    await end("a");
    deepStrictEqual(startedOrder, ["a", "b"]);
    await end("b");
    deepStrictEqual(startedOrder, ["a", "b", "c"]);
    await end("c");
    deepStrictEqual(startedOrder, ["a", "b", "c"], "each once");
  } finally {
    scheduler.stop();
  }
});

Deno.test("after stop(), a run's end starts nothing", async () => {
  const { scheduler, startedOrder, end } = fakeScheduler(["a", "b"], 1);
  scheduler.start(3_600_000);
  deepStrictEqual(await scheduler.tick(), ["a"]);
  scheduler.stop();
  await end("a");
  deepStrictEqual(startedOrder, ["a"]);
});

Deno.test("an integration whose newest run was interrupted is due at once, not an interval after its last run", async () => {
  let now = Date.parse("2026-03-01T12:00:00.000Z");
  const started: string[] = [];
  const runner = {
    active: 0,
    runningId: () => undefined,
    settled: () => Promise.resolve(),
    start(id: string) {
      started.push(id);
      return Promise.resolve({ runId: `run-${id}`, started: true });
    },
  };
  // Both ended a run a minute ago (every 5 minutes); one's newest run was then interrupted.
  const lastRunAt = new Date(now - 60_000).toISOString();
  const row = (id: string, status: string, errorCode: string | null) => ({
    id,
    pluginId: "p",
    enabled: true,
    intervalSeconds: 300,
    lastRunAt,
    newestRun: { id: `newest-${id}`, status, errorCode },
  });
  const store = {
    scheduleRows: () =>
      Promise.resolve([row("ended", "succeeded", null), row("cut", "failed", "INTERRUPTED")]),
  };
  const registry = { get: () => ({ manifest: { schedule: { defaultIntervalSeconds: 300 } } }) };
  const scheduler = new Scheduler({
    store: store as unknown as HostStore,
    registry: registry as unknown as Registry,
    runner: runner as unknown as Runner,
    clock: { now: () => now, sleep: () => Promise.resolve() },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    random: () => 0.5, // jitter: exactly the interval; an interrupted one, 1 s after being seen
  });
  deepStrictEqual(await scheduler.tick(), []);
  now += 2_001;
  deepStrictEqual(await scheduler.tick(), ["cut"], "within 2 s of being seen");
  deepStrictEqual(started, ["cut"]);
  now += 180_000; // 4 min after the last run's end
  deepStrictEqual(await scheduler.tick(), []);
  now += 90_000; // 5.5 min after it
  deepStrictEqual(await scheduler.tick(), ["ended"]);
});

Deno.test("createHost() gives the scheduler HOST_MAX_RUNS slots, 8 when unset", async () => {
  for (const [maxRuns, slots] of [[undefined, 8], [3, 3]] as const) {
    const t = await testHost({ install: false, maxRuns });
    try {
      equal(t.host.scheduler.slots, slots);
    } finally {
      await t.close();
    }
  }
});
