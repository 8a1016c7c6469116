/**
 * What only the PostgreSQL store has to show (SPEC §5.7): several hosts on one database. Two
 * stores racing for the same leases, hosts starting together (migrations once), a database that
 * goes away, and the URL forms an operator may give.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import postgres from "postgres";
import { HostError } from "../../../host/errors.ts";
import { PostgresStore } from "../../../host/store/postgres/mod.ts";
import { connectionOptions, describe } from "../../../host/store/postgres/connect.ts";
import { MIGRATIONS } from "../../../host/store/postgres/schema.ts";
import { startPostgres } from "../../_postgres.ts";
import { alert, integration, page as pageOf } from "./_fixtures.ts";

Deno.test("PostgresStore: hosts sharing one database", async (t) => {
  const started = performance.now();
  const server = await startPostgres();
  console.log(`PostgreSQL started in ${Math.round(performance.now() - started)} ms`);
  try {
    await t.step("hosts starting together apply the migrations once, without error", async () => {
      const url = await server.database("together");
      const stores = await Promise.all(
        Array.from({ length: 4 }, () => PostgresStore.open(url)),
      );
      try {
        for (const store of stores) equal(store.schemaVersion, MIGRATIONS.length);
        await stores[0].insertIntegration(integration("i1"));
        equal((await stores[3].listIntegrations()).length, 1, "one schema, shared");
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      const again = await PostgresStore.open(url);
      equal((await again.listIntegrations()).length, 1, "reopening keeps what was stored");
      await again.close();
      const sql = postgres(connectionOptions(url));
      deepEqual(
        [...await sql`SELECT version FROM schema_version`].map((r) => r.version),
        [MIGRATIONS.length],
      );
      await sql.end();
    });

    await t.step("two hosts racing for the same lease: exactly one wins each", async () => {
      const url = await server.database("race");
      const [a, b] = [await PostgresStore.open(url), await PostgresStore.open(url)];
      try {
        const ids = Array.from({ length: 20 }, (_, n) => `i${n}`);
        for (const id of ids) await a.insertIntegration(integration(id));
        const results = await Promise.all(ids.map(async (id) => {
          const [x, y] = await Promise.all([
            a.acquireLease(id, "host-a", 30),
            b.acquireLease(id, "host-b", 30),
          ]);
          return { id, winners: [x, y].filter((l) => l !== undefined) };
        }));
        for (const { id, winners } of results) {
          equal(winners.length, 1, `one owner for ${id}`);
          deepEqual(await b.currentLease(id), winners[0]);
          deepEqual(await a.currentLease(id), winners[0]);
        }
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    await t.step("a stalled host's fenced writes racing a takeover are all refused", async () => {
      const url = await server.database("fence");
      const [a, b] = [await PostgresStore.open(url), await PostgresStore.open(url)];
      try {
        await a.insertIntegration(integration("i1"));
        await a.insertRun({ id: "r1", integrationId: "i1", trigger: "api", startedAt: "x" });
        const lease = (await a.acquireLease("i1", "host-a", 0.2))!;
        await new Promise((resolve) => setTimeout(resolve, 400));
        const [taken, tokens] = await Promise.all([
          b.acquireLease("i1", "host-b", 30),
          Promise.all(
            Array.from(
              { length: 5 },
              () =>
                a.finishRun("r1", { status: "succeeded" }, lease).then(
                  () => "written",
                  (e) => e.name,
                ),
            ),
          ),
        ]);
        ok(taken && taken.token > lease.token);
        deepEqual(tokens, Array(5).fill("LeaseLostError"));
        equal((await b.getRun("r1"))?.status, "running");
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    await t.step(
      "a fenced write about another integration than its lease's is refused",
      async () => {
        const store = await PostgresStore.open(await server.database("subject"));
        try {
          await store.insertIntegration(integration("i1"));
          await store.insertIntegration(integration("i2"));
          await store.insertRun({ id: "r2", integrationId: "i2", trigger: "api", startedAt: "x" });
          const lease = (await store.acquireLease("i1", "host-a", 30))!;
          const page = { ...pageOf([alert("a")]), integrationId: "i2", runId: "r2" };
          await rejects(store.storePage(page, lease), /under the lease of integration i1/);
          await rejects(store.finishRun("r2", { status: "succeeded" }, lease), /integration i2/);
          const outcome = { error: null, hint: null, at: "x", success: true };
          await rejects(store.setOutcome("i2", outcome, lease), /integration i2/);
          equal((await store.getRun("r2"))?.status, "running");
          equal(await store.pendingCount("i2"), 0);
        } finally {
          await store.close();
        }
      },
    );

    await t.step("pages of one integration stored at once do not deadlock", async () => {
      const url = await server.database("together_pages");
      const [a, b] = [await PostgresStore.open(url), await PostgresStore.open(url)];
      try {
        await a.insertIntegration(integration("i1"));
        await a.insertRun({ id: "r1", integrationId: "i1", trigger: "api", startedAt: "x" });
        await a.insertRun({ id: "b1", integrationId: "i1", trigger: "api", startedAt: "x" });
        // A live run and a backfill bringing the same alerts and streams in opposite orders.
        for (let round = 0; round < 5; round++) {
          const alerts = Array.from({ length: 4000 }, (_, n) =>
            alert(`r${round}-${n}`, {
              stream: n % 2 ? "siem" : "ttp-url",
              at: new Date(Date.UTC(2026, 2, 1, 0, 0, n)).toISOString(),
            }));
          const results = await Promise.all([
            a.storePage(pageOf(alerts)),
            b.storePage({ ...pageOf([...alerts].reverse()), runId: "b1", backfill: {} }),
          ]);
          equal(results[0].stored + results[1].stored, 4000, "each alert stored once");
          equal(results[0].duplicates + results[1].duplicates, 4000);
        }
        equal((await a.listStreams("i1")).reduce((n, s) => n + s.alerts, 0), 20000);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    await t.step(
      "a batch given up twice (two hosts, or one twice) is one dead letter",
      async () => {
        const url = await server.database("dead_twice");
        const [a, b] = [await PostgresStore.open(url), await PostgresStore.open(url)];
        try {
          await a.insertIntegration(integration("i1"));
          await a.insertRun({ id: "r1", integrationId: "i1", trigger: "api", startedAt: "x" });
          await a.storePage(pageOf([alert("a")]));
          const batch = (await a.nextPending("i1"))!;
          await Promise.all([a.markDead(batch, "410"), b.markDead(batch, "410")]);
          await a.markDead(batch, "410");
          equal((await a.getRun("r1"))?.counts.deadLettered, 1);
          equal(await a.deadLetterCount("i1"), 1);
        } finally {
          await Promise.all([a.close(), b.close()]);
        }
      },
    );

    await t.step("a socket URL (libpq's ?host=/dir forms) reaches the server", async () => {
      const { port, socketDir } = server;
      for (
        const url of [
          `postgres://postgres@/postgres?host=${socketDir}&port=${port}`,
          `postgresql:///postgres?host=${encodeURIComponent(socketDir)}&port=${port}&user=postgres`,
        ]
      ) {
        const options = connectionOptions(url);
        equal(options.path, `${socketDir}/.s.PGSQL.${port}`);
        equal(options.host, undefined);
      }
      const store = await PostgresStore.open(
        `postgres://postgres@/postgres?host=${socketDir}&port=${port}`,
      );
      equal(await store.problem(), undefined);
      await store.close();
      const tcp = connectionOptions(
        "postgres://u:p%40ss@db.example:6543/host%5Fdb?sslmode=require",
      );
      deepEqual(
        [tcp.host, tcp.port, tcp.path, tcp.username, tcp.password, tcp.database, tcp.ssl],
        ["db.example", 6543, undefined, "u", "p@ss", "host_db", "require"],
      );
      equal(
        describe("postgres://u:p%40ss@db.example:6543/app"),
        "postgres://u@db.example:6543/app",
      );
    });

    await t.step("after the server restarts, the store reconnects by itself", async () => {
      const store = await PostgresStore.open(await server.database("restart"));
      try {
        await store.insertIntegration(integration("i1"));
        await server.restart();
        // The pool's connections died with the server: the first query may still meet one.
        let problem = await store.problem();
        if (problem) problem = await store.problem();
        equal(problem, undefined);
        equal((await store.listIntegrations()).length, 1);
        ok(await store.acquireLease("i1", "host-a", 30));
      } finally {
        await store.close();
      }
    });

    await t.step("open() on a database it cannot reach says so, without the password", async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const { port } = listener.addr as Deno.NetAddr;
      listener.close();
      for (
        const [url, why] of [
          [`postgres://u:s3cret@127.0.0.1:${port}/app`, /ECONNREFUSED|refused/i],
          [server.url.replace("/postgres", "/no_such_db"), /no_such_db/],
          ["mysql://u:s3cret@db/app", /postgres:\/\//],
        ] as const
      ) {
        const error = await PostgresStore.open(url).then(() => undefined, (e) => e);
        ok(error instanceof HostError, String(error));
        equal(error.code, "STORAGE_FAILED");
        match(error.message, /^Cannot open the database /);
        match(error.message, why);
        equal(error.message.includes("s3cret"), false);
        ok(error.hint?.includes("HOST_DATABASE_URL"));
      }
    });

    await t.step("problem() says the database is unreachable, without the password", async () => {
      const url = (await server.database("gone")).replace("postgres@", "postgres:s3cret@");
      equal(describe(url).includes("s3cret"), false);
      const store = await PostgresStore.open(url);
      try {
        equal(await store.problem(), undefined);
        await server.stop();
        const problem = await store.problem();
        ok(problem);
        match(problem, /^Cannot reach the database postgres:\/\/postgres@127\.0\.0\.1:\d+\/gone: /);
        equal(problem.includes("s3cret"), false);
      } finally {
        await store.close();
      }
    });
  } finally {
    await server.stop();
  }
});
