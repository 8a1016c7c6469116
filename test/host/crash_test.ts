/**
 * Crash safety (SPEC §5.3): SIGKILL the host in the middle of a run, restart it on the same data
 * folder, and check at the receiver that every alert arrived, and that every redelivery carries
 * the same webhook-id and the same alerts.
 */
import { equal } from "node:assert/strict";
import { serveSimulator, SIM_CLIENT } from "../../fixtures/simulator/mod.ts";
import { installPlugin } from "./_host.ts";
import { checkDeliveries, seededSimulator } from "./_ingest.ts";
import { client, serveReceiver, spawnHost, until } from "./_process.ts";

const TOKEN = "crash-admin-token-0123456789abcdef";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PER_TYPE = 1500;

Deno.test("a host killed with SIGKILL mid-run loses no alert after restart, and redeliveries keep their webhook-id", async () => {
  const dir = await Deno.makeTempDir({ prefix: "crash-" });
  const env = {
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: TOKEN,
  };
  const { sim, expected } = seededSimulator(PER_TYPE, {
    start: Date.now() - 4 * 3_600_000,
    stepMs: 3000,
  });
  const simAbort = new AbortController();
  const simServer = serveSimulator(sim, { signal: simAbort.signal });
  const receiver = serveReceiver({ delayMs: 15 });
  await installPlugin(`${dir}/plugins`);
  let host = await spawnHost(env);
  try {
    let api = client(host.url, TOKEN);
    await until(async () => (await api("/api/plugins")).body.length === 1, 10_000, "the plugin");
    const created = await api("/api/integrations", {
      method: "POST",
      json: {
        plugin: "mimecast",
        name: "crash",
        config: { ...SIM_CLIENT, baseUrl: simServer.url, startFrom: "1d" },
        destination: { url: receiver.url, secret: SECRET },
        schedule: { enabled: false },
      },
    });
    const id = created.body.id;
    const first = (await api(`/api/integrations/${id}/runs`, { method: "POST" })).body.runId;
    await until(() => receiver.received.length >= 6, 20_000, "some deliveries");
    await host.kill();
    const beforeRestart = receiver.received.length;
    equal(beforeRestart < expected.size / 100, true, "the kill came mid-run");

    host = await spawnHost(env);
    api = client(host.url, TOKEN);
    await until(
      async () => (await api("/api/plugins")).body.length === 1,
      10_000,
      "the plugin after restart",
    );
    const interrupted = (await api(`/api/runs/${first}`)).body;
    equal(interrupted.status, "failed");
    equal(interrupted.code, "INTERRUPTED");
    const second = (await api(`/api/integrations/${id}/runs`, { method: "POST" })).body.runId;
    await until(
      async () => (await api(`/api/runs/${second}`)).body.status !== "running",
      60_000,
      "the second run",
    );
    equal((await api(`/api/runs/${second}`)).body.status, "succeeded");
    await until(
      async () => (await api(`/api/integrations/${id}`)).body.outboxPending === 0,
      20_000,
      "the outbox to drain",
    );

    const figures = checkDeliveries(receiver.received, expected);
    console.log(
      `crash test: ${expected.size} alerts, killed after ${beforeRestart} deliveries, ${
        JSON.stringify(figures)
      }`,
    );
  } finally {
    await host.stop();
    await receiver.close();
    simAbort.abort();
    await simServer.finished;
    await Deno.remove(dir, { recursive: true });
  }
});
