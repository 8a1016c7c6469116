import { deepStrictEqual, equal, match } from "node:assert/strict";
import { createHost } from "../../host/mod.ts";
import { Registry } from "../../host/registry.ts";
import { memoryLogger } from "../_helpers.ts";
import { ADMIN, integrationBody, testHost } from "./_host.ts";
import { builtPlugin, installPlugin } from "./_host.ts";

async function until(check: () => boolean | Promise<boolean>, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("dropping a manifest installs the plugin without a restart; removing it pauses its integrations", async () => {
  const t = await testHost({ install: false });
  try {
    deepStrictEqual(await (await t.request("/api/plugins")).json(), []);
    await installPlugin(t.pluginsDir);
    await until(async () => (await (await t.request("/api/plugins")).json()).length === 1);
    const [plugin] = await (await t.request("/api/plugins")).json();
    equal(plugin.id, "mimecast");
    equal(plugin.configSchema.oneOf.length, 2);

    const { id } =
      await (await t.request("/api/integrations", { method: "POST", json: integrationBody() }))
        .json();
    await Deno.remove(`${t.pluginsDir}/mimecast`, { recursive: true });
    await until(async () => (await (await t.request("/api/plugins")).json()).length === 0);
    const view = await (await t.request(`/api/integrations/${id}`)).json();
    equal(view.paused, true);
    equal((await t.request(`/api/integrations/${id}/runs`, { method: "POST" })).status, 409);

    await installPlugin(t.pluginsDir);
    await until(async () =>
      (await (await t.request(`/api/integrations/${id}`)).json()).paused === false
    );
  } finally {
    await t.close();
  }
});

Deno.test("a bad manifest is refused with all its problems; a tampered bundle fails integrity; the rest keeps running", async () => {
  const t = await testHost();
  try {
    await Deno.writeTextFile(
      `${t.pluginsDir}/broken.json`,
      JSON.stringify({ id: "Broken!", version: "x" }),
    );
    const from = await builtPlugin();
    await Deno.mkdir(`${t.pluginsDir}/tampered`);
    const bundle = await Deno.readTextFile(`${from}/plugin.js`);
    await Deno.writeTextFile(`${t.pluginsDir}/tampered/plugin.js`, bundle + "\n// tampered");
    const manifest = JSON.parse(await Deno.readTextFile(`${from}/manifest.json`));
    await Deno.writeTextFile(
      `${t.pluginsDir}/tampered/manifest.json`,
      JSON.stringify({ ...manifest, id: "tampered" }),
    );
    await until(async () => (await (await t.request("/api/plugins/refused")).json()).length === 2);
    const refused = await (await t.request("/api/plugins/refused")).json();
    const broken = refused.find((r: { source: string }) => r.source.endsWith("broken.json"));
    deepStrictEqual(broken.issues.map((i: { path: string }) => i.path).sort(), [
      "configSchema",
      "entry",
      "hostApi",
      "id",
      "integrity",
      "name",
      "permissions",
      "version",
    ]);
    const tampered = refused.find((r: { source: string }) => r.source.includes("tampered"));
    equal(/integrity/.test(tampered.error), true);
    deepStrictEqual(
      (await (await t.request("/api/plugins")).json()).map((p: { id: string }) => p.id),
      ["mimecast"],
    );
  } finally {
    await t.close();
  }
});

Deno.test("a plugin folder moved out and moved back (mv, or cp -a keeping times) installs again", async () => {
  const t = await testHost();
  const aside = await Deno.makeTempDir();
  const installed = async () => (await (await t.request("/api/plugins")).json()).length === 1;
  const run = async (...args: string[]) => {
    const { code, stderr } = await new Deno.Command(args[0], { args: args.slice(1) }).output();
    equal(code, 0, new TextDecoder().decode(stderr));
  };
  try {
    await until(installed);
    const { id } =
      await (await t.request("/api/integrations", { method: "POST", json: integrationBody() }))
        .json();
    const paused = async () => (await (await t.request(`/api/integrations/${id}`)).json()).paused;

    await run("mv", `${t.pluginsDir}/mimecast`, `${aside}/mimecast`);
    await until(async () => !(await installed()) && await paused() === true);
    await run("mv", `${aside}/mimecast`, `${t.pluginsDir}/mimecast`);
    await until(async () => await installed() && await paused() === false);

    await run("cp", "-a", `${t.pluginsDir}/mimecast`, `${aside}/copy`);
    await Deno.remove(`${t.pluginsDir}/mimecast`, { recursive: true });
    await until(async () => !(await installed()));
    await run("cp", "-a", `${aside}/copy`, `${t.pluginsDir}/mimecast`);
    await until(async () => await installed() && await paused() === false);
  } finally {
    await t.close();
    await Deno.remove(aside, { recursive: true });
  }
});

// ── manifests fetched over https, and manifests too large ──────────────────────────────────────

const CERT = await Deno.readTextFile(new URL("../../fixtures/tls/cert.pem", import.meta.url));
const KEY = await Deno.readTextFile(new URL("../../fixtures/tls/key.pem", import.meta.url));

/** The built manifest, renamed, with its entry at `entry`. */
async function urlManifest(id: string, entry: string): Promise<string> {
  const from = await builtPlugin();
  const manifest = JSON.parse(await Deno.readTextFile(`${from}/manifest.json`));
  return JSON.stringify({ ...manifest, id, entry });
}

Deno.test("an https entry that never answers holds nothing up: the host starts and serves, another plugin installs meanwhile, and the manifest ends refused with a timeout", async () => {
  // Accepts connections and never answers: not even the TLS handshake completes.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of silent) held.push(conn);
    } catch { /* closed */ }
  })();
  const dir = await Deno.makeTempDir({ prefix: "host-test-" });
  const pluginsDir = `${dir}/plugins`;
  await Deno.mkdir(pluginsDir);
  const port = (silent.addr as Deno.NetAddr).port;
  await Deno.writeTextFile(
    `${pluginsDir}/remote.json`,
    await urlManifest("remote", `https://127.0.0.1:${port}/plugin.js`),
  );
  const host = createHost({
    dataDir: dir,
    pluginsDir,
    adminToken: ADMIN,
    masterKey: crypto.getRandomValues(new Uint8Array(32)),
    allowLoopback: true,
    logWrite: () => {},
    scanIntervalMs: 50,
    tickMs: 60_000,
    sourceLimits: { entryTimeoutMs: 3000 },
  });
  const started = performance.now();
  try {
    await host.start();
    const startMs = performance.now() - started;
    equal(startMs < 1000, true, `start() took ${startMs} ms`);
    equal((await host.app.request("/healthz")).status, 200);
    const remote = () => host.registry.refused().find((r) => r.source.endsWith("remote.json"));
    equal(remote()?.loading, true);
    match(remote()!.error.message, /is loading \(3 s at most\)$/);

    await installPlugin(pluginsDir);
    await until(() => host.registry.get("mimecast") !== undefined);
    equal(remote()?.loading, true, "mimecast installed while the remote entry was still loading");

    await until(() => remote() !== undefined && !remote()!.loading, 6000);
    equal(remote()!.error.code, "PLUGIN_LOAD_FAILED");
    equal(
      remote()!.error.message,
      `[plugin remote] Cannot read entry https://127.0.0.1:${port}/plugin.js: no complete answer within 3 s`,
    );
    const elapsed = performance.now() - started;
    equal(elapsed >= 2900 && elapsed < 5000, true, `refused after ${elapsed} ms`);
    equal(host.registry.get("mimecast")?.manifest.id, "mimecast");
  } finally {
    await host.stop();
    silent.close();
    await accepting;
    for (const conn of held) conn.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an https entry loads in the background, shown as loading, and installs when it arrives; one too large is refused", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const bundle = await Deno.readFile(`${await builtPlugin()}/plugin.js`);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: CERT, key: KEY, onListen() {} },
    async () => {
      await gate;
      return new Response(bundle);
    },
  );
  const dir = await Deno.makeTempDir();
  const registry = (limits = {}) =>
    new Registry({
      dir,
      logger: memoryLogger(),
      allowLoopback: true,
      network: { resolver: () => Promise.resolve(["127.0.0.1"]), caCerts: [CERT] },
      limits,
    });
  const entry = `https://siem.test:${server.addr.port}/plugin.js`;
  await Deno.writeTextFile(`${dir}/remote.json`, await urlManifest("remote", entry));
  const waiting = registry();
  const small = registry({ entryBytes: 100_000 });
  try {
    await waiting.scan();
    equal(waiting.get("remote"), undefined);
    deepStrictEqual(waiting.refused().map((r) => r.loading), [true]);
    release();
    await until(() => waiting.get("remote") !== undefined);
    deepStrictEqual(waiting.refused(), []);

    await small.scan();
    await until(() => small.refused().some((r) => !r.loading));
    equal(
      small.refused()[0].error.message,
      `[plugin remote] Cannot read entry ${entry}: it is ${+(bundle.length / 1024).toFixed(
        1,
      )} KiB; an entry may be 97.7 KiB at most`,
    );
    equal(small.get("remote"), undefined);
  } finally {
    await waiting.stop();
    await small.stop();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a 60 MB manifest file is refused with MANIFEST_INVALID, unread, and the rest keeps running", async () => {
  const t = await testHost();
  try {
    await until(async () => (await (await t.request("/api/plugins")).json()).length === 1);
    const huge = `${t.pluginsDir}/huge.json`;
    await Deno.writeTextFile(huge, "");
    await Deno.truncate(huge, 60_000_000);
    await until(async () => (await (await t.request("/api/plugins/refused")).json()).length === 1);
    const [refused] = await (await t.request("/api/plugins/refused")).json();
    equal(
      refused.error,
      `Cannot install ${huge}: the manifest is 57.2 MiB; a manifest may be 1 MiB at most`,
    );
    deepStrictEqual(refused.issues, [{ path: "", message: "larger than 1 MiB" }]);
    deepStrictEqual(
      (await (await t.request("/api/plugins")).json()).map((p: { id: string }) => p.id),
      ["mimecast"],
    );
    equal((await t.request("/healthz")).status, 200);
  } finally {
    await t.close();
  }
});
