/**
 * The host process (`host/main.ts`) as an operator starts it: settings from the environment, the
 * data folder prepared, the master key's life (SPEC §5.4, §5.6).
 */
import { equal, match, ok, rejects } from "node:assert/strict";
import { installPlugin, integrationBody } from "./_host.ts";
import { client, type HostProcess, spawnHost, until } from "./_process.ts";

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

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

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

Deno.test("HOST_DATABASE_URL without HOST_MASTER_KEY stops the start by name; HOST_ID is shown at start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "main-" });
  const env = {
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: TOKEN,
  };
  try {
    const refused = await spawnHost({ ...env, HOST_DATABASE_URL: "postgres://db.invalid/host" })
      .then(
        async (started) => void await started.stop(),
        (error: Error) => error,
      );
    ok(refused, "the host started on SQLite although a database URL was set");
    match(refused.message, /host exited with 2/);
    match(refused.message, /Cannot start: .*HOST_DATABASE_URL.*HOST_MASTER_KEY/);

    const host = await spawnHost({ ...env, HOST_ID: "eu-host-7" });
    try {
      await until(() => host.logs.some((line) => line.includes("host id: eu-host-7")));
    } finally {
      await host.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotating the master key through the environment: re-sealed at start, then the new key alone opens everything", async () => {
  const dir = await Deno.makeTempDir({ prefix: "main-" });
  const [oldKey, newKey] = [0, 1].map(() => base64url(crypto.getRandomValues(new Uint8Array(32))));
  const env = {
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: TOKEN,
  };
  await installPlugin(`${dir}/plugins`);
  let host: HostProcess | undefined;
  /** Starts the host with these keys (stopping the last one) and waits for the plugin. */
  const start = async (keys: Record<string, string>) => {
    await host?.stop();
    host = await spawnHost({ ...env, ...keys });
    const api = client(host.url, TOKEN);
    await until(async () => (await api("/api/plugins")).body.length === 1, 10_000, "the plugin");
    return { host, api };
  };
  try {
    let { api } = await start({ HOST_MASTER_KEY: oldKey });
    const created = await api("/api/integrations", {
      method: "POST",
      json: integrationBody("2.0"),
    });
    equal(created.status, 201);
    const id = created.body.id;

    const rotating = await start({ HOST_MASTER_KEY: newKey, HOST_MASTER_KEY_PREVIOUS: oldKey });
    await rotating.host.stop();
    ok(
      rotating.host.logs.some((l) =>
        l.includes("Re-sealed 1 integration's secrets under the new master key")
      ),
      rotating.host.logs.join("\n"),
    );

    ({ api } = await start({ HOST_MASTER_KEY: newKey }));
    // Readable again: paused as every new integration until a check passes (SPEC §5.8).
    equal((await api(`/api/integrations/${id}`)).body.status, "paused");

    // The old key alone no longer opens them: the host says so and keeps serving.
    const old = await start({ HOST_MASTER_KEY: oldKey });
    equal((await old.api(`/api/integrations/${id}`)).body.status, "secrets-unreadable");
    await old.host.stop();
    const line = old.host.logs.find((l) => l.includes("Cannot open the stored secrets"));
    ok(line, old.host.logs.join("\n"));
    equal(JSON.parse(line).level, "error");
    ok(line.includes(id));
  } finally {
    await host?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
