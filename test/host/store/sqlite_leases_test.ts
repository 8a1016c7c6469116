/**
 * The SQLite store's totals and hosts, and openStore() (leases and fencing are in the contract
 * suite, test/host/store/contract_test.ts, run against both stores).
 */
import { deepStrictEqual, equal, rejects } from "node:assert/strict";
import { openStore, type PageWrite } from "../../../host/store/mod.ts";
import { sqliteWithRuns } from "./_fixtures.ts";

const T0 = Date.UTC(2026, 10, 26, 12);

/** The store on `clock` with integrations i1 and i2, each with a scheduled run of host-<id>. */
const storeAt = (clock: { ms: number }) =>
  sqliteWithRuns(clock, (id) => ({ trigger: "schedule", hostId: `host-${id}` }));

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

Deno.test("openStore() opens SQLite in the data folder, and PostgreSQL at HOST_DATABASE_URL (a server that is not there is named, without its password)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await openStore({ dataDir: dir });
    equal(await store.problem(), undefined);
    await store.close();
    await Deno.stat(`${dir}/host.sqlite`);
    const port = (() => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const p = (l.addr as Deno.NetAddr).port;
      l.close();
      return p;
    })();
    await rejects(
      () => openStore({ dataDir: dir, databaseUrl: `postgres://host:s3cret@127.0.0.1:${port}/db` }),
      (e: Error) => /127\.0\.0\.1/.test(e.message) && !e.message.includes("s3cret"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
