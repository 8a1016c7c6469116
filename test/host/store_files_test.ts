import { equal } from "node:assert/strict";
import { SqliteStore } from "../../host/store/sqlite/mod.ts";

Deno.test("the database and its WAL files are readable by their owner only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Opening migrates the schema: the database, its WAL and shared-memory files all exist.
    const store = new SqliteStore(`${dir}/host.sqlite`);
    for (const name of ["host.sqlite", "host.sqlite-wal", "host.sqlite-shm"]) {
      const mode = (await Deno.stat(`${dir}/${name}`)).mode! & 0o777;
      equal(mode.toString(8), "600", name);
    }
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
