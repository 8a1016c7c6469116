/**
 * The storage contract (SPEC §5.7) run against every implementation: SQLite in a fresh temporary
 * folder per step, and PostgreSQL on a throwaway server with a fresh database per step.
 */
import { PostgresStore } from "../../../host/store/postgres/mod.ts";
import { SqliteStore } from "../../../host/store/sqlite/mod.ts";
import { startPostgres, type TestPostgres } from "../../_postgres.ts";
import { contractSuite } from "./_contract.ts";

let server: TestPostgres | undefined;
let databases = 0;

contractSuite(
  "PostgresStore",
  async (now) => PostgresStore.open(await server!.database(`contract_${++databases}`), { now }),
  {
    before: async () => {
      const started = performance.now();
      server = await startPostgres();
      console.log(`PostgreSQL started in ${Math.round(performance.now() - started)} ms`);
    },
    after: () => server!.stop(),
  },
);

const folders: string[] = [];

contractSuite(
  "SqliteStore",
  async (now) => {
    const dir = await Deno.makeTempDir({ prefix: "contract-sqlite-" });
    folders.push(dir);
    return new SqliteStore(`${dir}/host.sqlite`, now);
  },
  {
    after: async () => {
      for (const dir of folders) await Deno.remove(dir, { recursive: true });
    },
  },
);
