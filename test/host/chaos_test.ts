/**
 * Crash safety under repeated SIGKILLs (issue: reliability): the host is killed at random
 * moments across many runs of one ingestion, restarted on the same data folder each time, and the
 * webhook receiver checks that no alert is missing and that every redelivery carries the same
 * webhook-id and body. The first run reads its backlog in sub-windows side by side under a quota
 * (SPEC §3.2), so kills land while several sub-windows are half read. CI runs 20 kills; `deno task chaos` runs the soak (CHAOS_KILLS,
 * CHAOS_RECORDS, CHAOS_SEED override the sizes).
 */
import { equal, ok } from "node:assert/strict";
import { serveSimulator, SIM_CLIENT } from "../../fixtures/simulator/mod.ts";
import { installPlugin } from "./_host.ts";
import { checkDeliveries, seededSimulator } from "./_ingest.ts";
import { client, type HostProcess, serveReceiver, spawnHost, until } from "./_process.ts";

const TOKEN = "chaos-admin-token-0123456789abcdef";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const KILLS = Number(Deno.env.get("CHAOS_KILLS") ?? 20);
const PER_TYPE = Number(Deno.env.get("CHAOS_RECORDS") ?? 6000);
let seed = Number(Deno.env.get("CHAOS_SEED") ?? 20261123);

/** A small seeded PRNG (mulberry32), so a failing schedule can be replayed with CHAOS_SEED. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

Deno.test(`${KILLS} SIGKILLs at random moments lose no alert, and redeliveries keep webhook-id and body`, async () => {
  const initialSeed = seed;
  const dir = await Deno.makeTempDir({ prefix: "chaos-" });
  const env = {
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: TOKEN,
  };
  // A backlog the first run reads in sub-windows side by side (each call a few ms away, as over
  // a network), under a quota that makes the run pace itself: kills land mid sub-window.
  const { sim, expected } = seededSimulator(PER_TYPE, {
    start: Date.now() - PER_TYPE * 2000 - 3_600_000,
    stepMs: 2000,
    rateLimit: { limit: 40, refillMs: 10 },
  });
  sim.latencyMs = 3;
  const simAbort = new AbortController();
  const simServer = serveSimulator(sim, { signal: simAbort.signal });
  const receiver = serveReceiver({ delayMs: 15 });
  await installPlugin(`${dir}/plugins`);
  let host: HostProcess | undefined;
  let runs = 0;
  let killedMidRun = 0;
  try {
    let id = "";
    for (let kill = 0; kill <= KILLS; kill++) {
      host = await spawnHost(env);
      const api = client(host.url, TOKEN);
      await until(async () => (await api("/api/plugins")).body.length === 1, 10_000, "the plugin");
      if (!id) {
        id = (await api("/api/integrations", {
          method: "POST",
          json: {
            plugin: "mimecast",
            name: "chaos",
            config: { ...SIM_CLIENT, baseUrl: simServer.url, startFrom: "7d" },
            destination: { url: receiver.url, secret: SECRET },
            schedule: { enabled: false },
          },
        })).body.id;
      }
      const started = await api(`/api/integrations/${id}/runs`, { method: "POST" });
      equal([202, 409].includes(started.status), true);
      runs++;
      if (kill === KILLS) {
        await until(
          async () => (await api(`/api/runs/${started.body.runId}`)).body.status !== "running",
          120_000,
          "the last run",
        );
        equal((await api(`/api/runs/${started.body.runId}`)).body.status, "succeeded");
        await until(
          async () => (await api(`/api/integrations/${id}`)).body.outboxPending === 0,
          30_000,
          "the outbox",
        );
        break;
      }
      await new Promise((r) => setTimeout(r, 20 + random() * 120));
      if ((await api(`/api/runs/${started.body.runId}`)).body.status === "running") killedMidRun++;
      await host.kill();
      host = undefined;
    }

    const figures = checkDeliveries(receiver.received, expected);
    ok(
      sim.peakConcurrent > 3,
      `sub-windows read side by side (${sim.peakConcurrent} calls at once)`,
    );
    equal(sim.quota!.refused, 0, "no call found the quota empty");
    console.log(
      JSON.stringify({
        seed: initialSeed,
        runs,
        kills: KILLS,
        killedMidRun,
        alerts: expected.size,
        mimecastCalls: sim.logCalls,
        mostCallsAtOnce: sim.peakConcurrent,
        ...figures,
      }),
    );
  } finally {
    await host?.stop();
    await receiver.close();
    simAbort.abort();
    await simServer.finished;
    await Deno.remove(dir, { recursive: true });
  }
});
