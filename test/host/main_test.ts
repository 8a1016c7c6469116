/**
 * The host process (`host/main.ts`) as an operator starts it: settings from the environment, the
 * data folder prepared, the master key's life (SPEC §5.4, §5.6).
 */
import { equal, match, ok, rejects } from "node:assert/strict";
import { spawnHost } from "./_process.ts";

const TOKEN = "main-admin-token-0123456789abcdef";

Deno.test("HOST_SECURE_COOKIES=1: a real login over http gets a Secure session cookie", async () => {
  const dir = await Deno.makeTempDir({ prefix: "main-" });
  const host = await spawnHost({
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: TOKEN,
    HOST_SECURE_COOKIES: "1",
  });
  try {
    const response = await fetch(`${host.url}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: TOKEN }),
      redirect: "manual",
    });
    await response.body?.cancel();
    equal(response.status, 303);
    const attributes = (response.headers.get("set-cookie") ?? "").split(";").map((a) =>
      a.trim().toLowerCase()
    );
    ok(attributes[0].startsWith("host_session="), attributes.join("; "));
    ok(attributes.includes("secure"), attributes.join("; "));
  } finally {
    await host.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a data folder with a database but no master.key stops the start with what is missing and what to do", async () => {
  const dir = await Deno.makeTempDir({ prefix: "main-" });
  const env = {
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: TOKEN,
  };
  try {
    // A fresh, empty data folder: the key is generated.
    const first = await spawnHost(env);
    await first.stop();
    ok((await Deno.stat(`${dir}/data/master.key`)).isFile);
    ok((await Deno.stat(`${dir}/data/host.sqlite`)).isFile);

    await Deno.remove(`${dir}/data/master.key`);
    const refused = await spawnHost(env).then(
      async (started) => void await started.stop(),
      (error: Error) => error,
    );
    ok(refused, "the host started without its key file");
    match(refused.message, /host exited with 2/);
    match(refused.message, /Cannot start: .*master\.key is missing, HOST_MASTER_KEY is not set/);
    match(refused.message, /restore .*master\.key from a backup/);
    await rejects(Deno.stat(`${dir}/data/master.key`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
