/**
 * Leases, fencing and totals in the SQLite store (SPEC §5.7): one machine, so lease expiry is on
 * the store's clock, faked here.
 */
import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { LeaseLostError, openStore, type PageWrite } from "../../../host/store/mod.ts";
import { SqliteStore } from "../../../host/store/sqlite/mod.ts";

const T0 = Date.UTC(2026, 10, 26, 12);

async function storeAt(clock: { ms: number }): Promise<SqliteStore> {
  const store = new SqliteStore(":memory:", () => clock.ms);
  const at = new Date(clock.ms).toISOString();
  for (const id of ["i1", "i2"]) {
    await store.insertIntegration({
      id,
      pluginId: "mimecast",
      name: id,
      config: {},
      secrets: "sealed",
      destinationUrl: "https://siem.example/hook",
      destinationFormat: "alerts",
      intervalSeconds: null,
      enabled: true,
      awaitingCheck: false,
      createdAt: at,
      updatedAt: at,
    });
    await store.insertRun({
      id: `run-${id}`,
      integrationId: id,
      trigger: "schedule",
      startedAt: at,
      hostId: `host-${id}`,
    });
  }
  return store;
}

/** A page of `n` alerts for run-<integrationId>, with a checkpoint. */
function page(integrationId: string, n: number, prefix = "a"): PageWrite {
  const alerts = Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    stream: "url",
    occurredAt: "2026-11-26T11:00:00Z",
    json: `{"id":"${prefix}${i}"}`,
    summary: {},
  }));
  return {
    integrationId,
    runId: `run-${integrationId}`,
    alerts,
    envelope: { prefix: "[", suffix: "]" },
    batchSize: 100,
    checkpoint: { at: prefix },
    invalid: [],
    listed: [],
    skipped: [],
    counts: { fetched: n, filtered: 0, invalid: 0, drift: 0 },
    notes: {},
  };
}

Deno.test("acquireLease() takes a free, expired or own lease, refuses a live one, and grows the token each time", async () => {
  const clock = { ms: T0 };
  const store = await storeAt(clock);
  try {
    deepStrictEqual(await store.acquireLease("i1", "A", 30), {
      integrationId: "i1",
      owner: "A",
      token: 1,
    });
    equal(await store.acquireLease("i1", "B", 30), undefined, "A holds it");
    equal((await store.acquireLease("i1", "A", 30))?.token, 2, "its owner takes it again");
    deepStrictEqual(await store.currentLease("i1"), { integrationId: "i1", owner: "A", token: 2 });
    equal((await store.acquireLease("i2", "B", 30))?.token, 1, "leases are per integration");

    clock.ms += 29_999;
    equal(await store.acquireLease("i1", "B", 30), undefined, "not expired yet");
    clock.ms += 1;
    equal(await store.currentLease("i1"), undefined, "expired");
    deepStrictEqual(await store.acquireLease("i1", "B", 30), {
      integrationId: "i1",
      owner: "B",
      token: 3,
    });
  } finally {
    await store.close();
  }
});

Deno.test("renewLease() extends a lease still held; a lease taken over or released cannot be renewed", async () => {
  const clock = { ms: T0 };
  const store = await storeAt(clock);
  try {
    const a = (await store.acquireLease("i1", "A", 30))!;
    clock.ms += 20_000;
    equal(await store.renewLease(a, 30), true);
    clock.ms += 20_000; // 40 s after taking it, 20 s after renewing it
    equal(await store.acquireLease("i1", "B", 30), undefined, "the renewal kept it");
    clock.ms += 10_000;
    const b = (await store.acquireLease("i1", "B", 30))!;
    equal(b.token, a.token + 1);
    equal(await store.renewLease(a, 30), false, "B took it over");
    deepStrictEqual(await store.currentLease("i1"), b);

    await store.releaseLease(b);
    equal(await store.currentLease("i1"), undefined);
    equal(await store.renewLease(b, 30), false, "released");
    const c = (await store.acquireLease("i1", "C", 30))!;
    equal(c.token, b.token + 1, "a released lease is free at once, and its token still grows");
  } finally {
    await store.close();
  }
});

Deno.test("a fenced storePage(), finishRun() or setOutcome() with a lost lease throws LeaseLostError and writes nothing", async () => {
  const clock = { ms: T0 };
  const store = await storeAt(clock);
  try {
    const stale = (await store.acquireLease("i1", "A", 30))!;
    equal((await store.storePage(page("i1", 3, "x"), stale)).stored, 3, "held: stored");
    clock.ms += 31_000;
    const current = (await store.acquireLease("i1", "B", 30))!;

    await rejects(() => store.storePage(page("i1", 5), stale), (e: LeaseLostError) => {
      ok(e instanceof LeaseLostError);
      deepStrictEqual(e.lease, stale);
      return true;
    });
    deepStrictEqual(await store.getCheckpoint("i1"), { at: "x" }, "the checkpoint stayed");
    equal(await store.pendingCount("i1"), 1, "no batch was added");
    equal((await store.getRun("run-i1"))?.counts.alerts, 3, "no count was added");
    equal((await store.alerts.list({ integrationId: "i1" }, { limit: 100 })).length, 3);

    await rejects(
      () => store.finishRun("run-i1", { status: "succeeded" }, stale),
      LeaseLostError,
    );
    equal((await store.getRun("run-i1"))?.status, "running");
    const outcome = {
      error: null,
      hint: null,
      at: new Date(clock.ms).toISOString(),
      success: true,
    };
    await rejects(() => store.setOutcome("i1", outcome, stale), LeaseLostError);
    equal((await store.getIntegration("i1"))?.lastRunAt, null);

    // The holder of the current lease writes as before.
    equal((await store.storePage(page("i1", 5), current)).stored, 5);
    await store.finishRun("run-i1", { status: "succeeded" }, current);
    await store.setOutcome("i1", outcome, current);
    equal((await store.getRun("run-i1"))?.status, "succeeded");
    equal((await store.getIntegration("i1"))?.lastSuccessAt, outcome.at);
    // A fence on an integration nobody ever leased is refused too.
    await rejects(() => store.storePage(page("i2", 1), { ...stale, integrationId: "i2" }));
  } finally {
    await store.close();
  }
});

Deno.test("failInterruptedRuns({ expiredOnly }) leaves the runs of live leases alone", async () => {
  const clock = { ms: T0 };
  const store = await storeAt(clock);
  try {
    await store.acquireLease("i1", "A", 30);
    await store.acquireLease("i2", "B", 10);
    clock.ms += 15_000; // B's lease expired, A's did not
    equal(await store.failInterruptedRuns({ expiredOnly: true }), 1);
    equal((await store.getRun("run-i1"))?.status, "running");
    const failed = await store.getRun("run-i2");
    equal(failed?.status, "failed");
    equal(failed?.errorCode, "INTERRUPTED");
    equal(await store.failInterruptedRuns(), 1, "without the option: every running run");
    equal((await store.getRun("run-i1"))?.status, "failed");
  } finally {
    await store.close();
  }
});

Deno.test("totals() sums runs, records and the outbox across integrations; runs keep their host", async () => {
  const clock = { ms: T0 };
  const store = await storeAt(clock);
  try {
    equal((await store.getRun("run-i1"))?.hostId, "host-i1");
    await store.storePage({ ...page("i1", 250), batchSize: 100 });
    await store.storePage(page("i2", 2));
    await store.storePage(page("i2", 2)); // the same ids: duplicates
    const first = (await store.nextPending("i2"))!;
    await store.markDead(first, "HTTP 400");
    await store.finishRun("run-i2", { status: "failed", error: "x" });
    deepStrictEqual(await store.totals(), {
      runsByStatus: { running: 1, failed: 1 },
      records: {
        fetched: 254,
        filtered: 0,
        invalid: 0,
        drift: 0,
        duplicates: 2,
        alerts: 252,
        delivered: 0,
      },
      outbox: { i1: { pending: 3, dead: 0 }, i2: { pending: 0, dead: 1 } },
    });
  } finally {
    await store.close();
  }
});

Deno.test("openStore() opens SQLite in the data folder, and refuses HOST_DATABASE_URL by name until PostgreSQL is wired", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await openStore({ dataDir: dir });
    equal(await store.problem(), undefined);
    await store.close();
    await Deno.stat(`${dir}/host.sqlite`);
    await rejects(
      () => openStore({ dataDir: dir, databaseUrl: "postgres://db.example/host" }),
      /HOST_DATABASE_URL/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
