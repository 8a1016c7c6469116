/** `GET /healthz` (SPEC §5.5): ok while the host can keep what it is given, 503 with the reason when not. */
import { equal, match } from "node:assert/strict";
import { SqliteStore } from "../../host/store/sqlite/mod.ts";
import { testHost } from "./_host.ts";

Deno.test("/healthz answers 503 with the reason once the data folder is deleted", async () => {
  const t = await testHost({ install: false });
  try {
    const ok = await t.request("/healthz", { headers: { Authorization: "" } });
    equal(ok.status, 200);
    equal((await ok.json()).status, "ok");
    await Deno.remove(t.dir, { recursive: true });
    const gone = await t.request("/healthz", { headers: { Authorization: "" } });
    equal(gone.status, 503);
    const body = await gone.json();
    equal(body.status, "unavailable");
    match(body.reason, /Cannot write to the data folder .*: it no longer exists/);
  } finally {
    await t.host.stop();
  }
});

Deno.test("/healthz answers 503 when the database file is deleted or replaced under the host", async () => {
  const t = await testHost({ install: false });
  try {
    for (const name of ["host.sqlite", "host.sqlite-wal", "host.sqlite-shm"]) {
      await Deno.remove(`${t.dir}/${name}`);
    }
    const gone = await t.request("/healthz");
    equal(gone.status, 503);
    match(
      (await gone.json()).reason,
      /Cannot find the database .*host\.sqlite: it no longer exists/,
    );
    await Deno.writeTextFile(`${t.dir}/host.sqlite`, "not the host's database");
    const replaced = await t.request("/healthz");
    equal(replaced.status, 503);
    match((await replaced.json()).reason, /was replaced after the host opened it/);
  } finally {
    await t.close();
  }
});

Deno.test("Store.problem() names a database that cannot be read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new SqliteStore(`${dir}/host.sqlite`);
    equal(await store.problem(), undefined);
    await store.close();
    match(await store.problem() ?? "", /Cannot read the database .*host\.sqlite/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
