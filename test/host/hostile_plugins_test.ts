/**
 * Hostile plugins dropped into a host's plugins folder (SPEC §5.2), seen where an operator sees
 * them: the API, the webhook, the log. Beside the real Mimecast plugin, one plugin tries every
 * forbidden act at import time and in each hook, aiming at this host's own master key file, its
 * admin token in the environment and a listener; others loop forever, allocate without end,
 * answer malformed pages, or never finish importing. Every attempt is refused, the failing runs
 * name the plugin and the hook, nothing secret leaves, and the Mimecast integration delivers
 * all the while.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { integrityOf } from "../../host/manifest.ts";
import { assertAllRefused, Listener, type Outcome } from "./sandbox/_fixtures.ts";
import { ADMIN, awaitRun, integrationBody, NOW, testHost, WEBHOOK_SECRET } from "./_host.ts";

const HOSTILE = new URL("../../fixtures/plugins/hostile/", import.meta.url);

/** Drops a hostile fixture into the plugins folder as a plugin of its own (bundle, then manifest). */
async function dropPlugin(
  pluginsDir: string,
  id: string,
  file: string,
  replace: Record<string, string> = {},
): Promise<void> {
  let text = await Deno.readTextFile(new URL(file, HOSTILE));
  for (const [from, to] of Object.entries(replace)) text = text.replaceAll(from, to);
  const bytes = new TextEncoder().encode(text);
  await Deno.mkdir(`${pluginsDir}/${id}`);
  await Deno.writeFile(`${pluginsDir}/${id}/plugin.js`, bytes);
  await Deno.writeTextFile(
    `${pluginsDir}/${id}/manifest.json`,
    JSON.stringify({
      id,
      name: `Hostile ${id}`,
      version: "1.0.0",
      hostApi: "1",
      entry: "./plugin.js",
      integrity: await integrityOf(bytes),
      permissions: { net: ["api.example.com"] },
      configSchema: { type: "object", properties: {} },
    }),
  );
}

Deno.test("hostile plugins in the plugins folder: every act refused, failures named, nothing leaked, Mimecast delivering", async () => {
  const listener = new Listener();
  const t = await testHost({
    sandboxLimits: { callTimeoutMs: 2000, unresponsiveMs: 1500, heapMiB: 64, memoryMiB: 384 },
  });
  // What a real host keeps: its master key in the data folder, its admin token in the environment.
  const keyFile = `${t.dir}/master.key`;
  const keyText = t.masterKey.toBase64({ alphabet: "base64url", omitPadding: true });
  await Deno.writeTextFile(keyFile, keyText, { mode: 0o600 });
  Deno.env.set("HOST_ADMIN_TOKEN", ADMIN);
  const target = {
    keyPath: keyFile,
    envName: "HOST_ADMIN_TOKEN",
    port: listener.port,
    writePath: `${t.dir}/planted.txt`,
  };
  try {
    t.sim.add("url", generateRecords("url", 150, { start: NOW - 3_600_000, stepMs: 20_000 }));
    await dropPlugin(t.pluginsDir, "snoop", "snoop.js", {
      __TARGET__: encodeURIComponent(JSON.stringify(target)),
    });
    await dropPlugin(t.pluginsDir, "spin", "spin.js");
    await dropPlugin(t.pluginsDir, "hog", "hog.js");
    await dropPlugin(t.pluginsDir, "malformed", "malformed.js");
    await dropPlugin(t.pluginsDir, "import-spin", "import_spin.js");
    // The folder is watched (every 50 ms here): a scan may have begun before the last manifest
    // landed, so wait for the one that sees them all; the endless import takes up to 10 s.
    let plugins: { id: string }[] = [];
    let refusedCount = 0;
    for (let i = 0; i < 300 && (plugins.length < 5 || refusedCount < 1); i++) {
      await t.host.registry.scan();
      plugins = await (await t.request("/api/plugins")).json();
      refusedCount = (await (await t.request("/api/plugins/refused")).json())
        .filter((r: { loading?: boolean }) => !r.loading).length;
      if (plugins.length < 5 || refusedCount < 1) await new Promise((r) => setTimeout(r, 50));
    }

    // The import that never ends is refused, naming the plugin and the hook; the others load.
    deepStrictEqual(
      plugins.map((p: { id: string }) => p.id).sort(),
      ["hog", "malformed", "mimecast", "snoop", "spin"],
    );
    const refused = await (await t.request("/api/plugins/refused")).json();
    equal(refused.length, 1);
    match(JSON.stringify(refused[0]), /\[plugin import-spin\] import: /);

    const create = async (plugin: string, config: Record<string, unknown>) => {
      const response = await t.request("/api/integrations", {
        method: "POST",
        json: {
          plugin,
          name: plugin,
          config,
          destination: { url: integrationBody().destination.url, secret: WEBHOOK_SECRET },
          schedule: { enabled: false },
        },
      });
      equal(response.status, 201, `${plugin}: ${await response.clone().text()}`);
      return (await response.json()).id as string;
    };
    const mimecast = await create("mimecast", {
      ...integrationBody().config,
      logTypes: ["url"],
    });
    const snoop = await create("snoop", target);
    const spin = await create("spin", { where: "fetch", how: "sync" });
    const hog = await create("hog", { where: "fetch", kind: "heap" });
    const malformed = await create("malformed", { mode: "records-not-an-array" });

    // All five run at once.
    const runs = new Map<string, string>();
    for (const id of [mimecast, snoop, spin, hog, malformed]) {
      const response = await t.request(`/api/integrations/${id}/runs`, { method: "POST" });
      equal(response.status, 202);
      runs.set(id, (await response.json()).runId);
    }
    const ended = new Map<string, { status: string; error?: string; counts: { alerts: number } }>();
    for (const [id, runId] of runs) ended.set(id, await awaitRun(t, id, runId));

    equal(ended.get(mimecast)!.status, "succeeded", ended.get(mimecast)!.error);
    equal(ended.get(spin)!.status, "failed");
    match(ended.get(spin)!.error!, /\[plugin spin\] fetch: .*(stopped responding|did not answer)/);
    equal(ended.get(hog)!.status, "failed");
    // The heap cap stops it; on a loaded machine its garbage collector may first block the
    // event loop past the heartbeat limit: contained either way, named either way.
    match(ended.get(hog)!.error!, /\[plugin hog\] fetch: .*(memory|heap|stopped responding)/i);
    equal(ended.get(malformed)!.status, "failed");
    match(ended.get(malformed)!.error!, /\[plugin malformed\] fetch: a page must be/);
    equal(ended.get(snoop)!.status, "succeeded", ended.get(snoop)!.error);

    // Mimecast delivered every alert of its records while the others misbehaved.
    const byIntegration = (id: string) =>
      t.receiver.received.filter((r) => r.json.integrationId === id).flatMap((r) => r.json.alerts);
    const delivered = byIntegration(mimecast);
    ok(delivered.length > 0, "the Mimecast integration delivered");
    equal(delivered.length, ended.get(mimecast)!.counts.alerts);

    // The snoop's own report, delivered as alerts: every attempt, everywhere, refused.
    const raws = byIntegration(snoop).map((a) =>
      a.raw as { attempts: Outcome[]; fetched: Outcome }
    );
    const outcomes = [...raws.flatMap((raw) => raw.attempts), ...raws.map((raw) => raw.fetched)];
    // What validateConfig tried, kept in the integration's stored config.
    const stored = await (await t.request(`/api/integrations/${snoop}`)).json();
    outcomes.push(...stored.config.attempts as Outcome[]);
    const check = await (await t.request(`/api/integrations/${snoop}/check`, { method: "POST" }))
      .json();
    const checked: Outcome[] = check.results.map((
      r: { logType: string; ok: boolean; error?: string },
    ) => {
      const [where, name] = r.logType.split(": ");
      return { where, name, ok: r.ok, error: r.error };
    });
    const all = [...outcomes, ...checked];
    assertAllRefused(all, 40);

    // Nothing reached the listener or the disk; no secret left in a body, a response or the log.
    await new Promise((resolve) => setTimeout(resolve, 300));
    equal(listener.connections, 0, "no connection reached the listener");
    ok(!(await exists(target.writePath)), "no file was planted");
    const seen = JSON.stringify({
      bodies: t.receiver.received.map((r) => r.body),
      check,
      integrations: await (await t.request("/api/integrations")).json(),
      runs: [...ended.values()],
      log: t.logLines,
    });
    for (const secret of [keyText, ADMIN, "sim-client-secret-value", WEBHOOK_SECRET]) {
      ok(!seen.includes(secret), `a secret left the host: ${secret.slice(0, 6)}…`);
    }

    // The host is healthy and the well-behaved integration runs again.
    equal((await t.request("/healthz")).status, 200);
    const again = await t.request(`/api/integrations/${mimecast}/runs`, { method: "POST" });
    equal(
      (await awaitRun(t, mimecast, (await again.json()).runId)).status,
      "succeeded",
    );
  } finally {
    Deno.env.delete("HOST_ADMIN_TOKEN");
    await t.close();
    await listener.close();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
