/**
 * Several hosts on one PostgreSQL (SPEC §5.7), as real processes: three hosts share a throwaway
 * server, six scheduled integrations spread over them; one host is killed (SIGKILL) while it holds
 * leases with pages stored, another is stopped (SIGSTOP) past its lease and then resumed. Every
 * alert arrives, none under two webhook-ids, the killed runs end interrupted, the stalled host's
 * late writes are fenced out, and every run records the host that ran it.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import * as v from "valibot";
import {
  generateRecords,
  MimecastSimulator,
  serveSimulator,
  SIM_CLIENT,
} from "../../fixtures/simulator/mod.ts";
import { configSchema } from "../../plugin/config.ts";
import { normalize } from "../../plugin/normalize.ts";
import { startPostgres } from "../_postgres.ts";
import { installPlugin } from "./_host.ts";
import { client, type HostProcess, serveReceiver, spawnHost, until } from "./_process.ts";

const TOKEN = "multihost-admin-token-0123456789";
const LEASE_SECONDS = 5;
/** `deno task soak` runs it larger: more integrations, more records each. */
const INTEGRATIONS = Number(Deno.env.get("MULTIHOST_INTEGRATIONS") ?? 6);
const PER_LOG_TYPE = Number(Deno.env.get("MULTIHOST_RECORDS") ?? 4000);
const LOG_TYPES = ["url", "attachment", "impersonation"] as const;

/** How many of the records normalize into alerts: what each integration must deliver. */
function expectedAlerts(records: Record<string, Record<string, unknown>[]>): number {
  const config = v.parse(configSchema, { ...SIM_CLIENT });
  const ctx = { integrationId: "expected", config, count: () => {} };
  return LOG_TYPES.reduce(
    (sum, t) =>
      sum +
      records[t].filter((data) => normalize({ logType: t, data }, ctx) !== null)
        .length,
    0,
  );
}

Deno.test({
  name:
    "three hosts on one PostgreSQL: one killed holding leases, one stalled past its lease; every alert once, runs interrupted and fenced",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pg = await startPostgres();
    const dir = await Deno.makeTempDir({ prefix: "multihost-" });
    const stop = new AbortController();
    const hosts: HostProcess[] = [];
    const receiver = serveReceiver();
    try {
      const databaseUrl = await pg.database("hosts");
      const sim = new MimecastSimulator();
      sim.recordBodies = false;
      sim.latencyMs = 40; // a run takes seconds: there is time to kill a host in the middle
      // Every record in the past (a run reads up to a minute ago), the first run reaching back
      // over all of them.
      const stepMs = 15_000;
      const start = Date.now() - PER_LOG_TYPE * stepMs - 3_600_000;
      const startFrom = `${Math.ceil((Date.now() - start) / 86_400_000) + 1}d`;
      const records = Object.fromEntries(
        LOG_TYPES.map((t) => [t, generateRecords(t, PER_LOG_TYPE, { start, stepMs })]),
      );
      for (const t of LOG_TYPES) sim.add(t, records[t]);
      const simUrl = serveSimulator(sim, { signal: stop.signal }).url;
      const expected = expectedAlerts(records);
      await installPlugin(`${dir}/plugins`);

      const env = (id: string) => ({
        HOST_ID: id,
        HOST_DATA_DIR: `${dir}/${id}`,
        HOST_PLUGINS_DIR: `${dir}/plugins`,
        HOST_DATABASE_URL: databaseUrl,
        HOST_ADMIN_TOKEN: TOKEN,
        HOST_MASTER_KEY: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        HOST_LEASE_SECONDS: String(LEASE_SECONDS),
      });
      for (const id of ["h1", "h2", "h3"]) hosts.push(await spawnHost(env(id)));
      const names = ["h1", "h2", "h3"];
      /** The first of `among` with a run going that has stored pages, and those runs. */
      const busyHost = async (among: string[]) => {
        for (const name of among) {
          const runs = await runningOn(name);
          if (runs.length > 0) return { name, host: hosts[names.indexOf(name)], runs };
        }
        return undefined;
      };
      // Asked of every host in turn: the one a step needs may be the one killed or stopped.
      let asked = 0;
      const api: ReturnType<typeof client> = (path, init) =>
        client(hosts[alive[asked++ % alive.length]].url, TOKEN)(path, init);
      let alive = [0, 1, 2];
      await until(async () => (await api("/api/plugins")).body.length === 1, 20_000, "plugin");

      // Created through one host, scheduled: the hosts share them out as they come due.
      const ids: string[] = [];
      for (let i = 0; i < INTEGRATIONS; i++) {
        const created = await client(hosts[i % 3].url, TOKEN)("/api/integrations", {
          method: "POST",
          json: {
            plugin: "mimecast",
            name: `tenant ${i}`,
            config: { baseUrl: simUrl, ...SIM_CLIENT, startFrom },
            destination: { url: receiver.url },
            schedule: { enabled: true, intervalSeconds: 3600 },
          },
        });
        equal(created.status, 201, JSON.stringify(created.body));
        ids.push(created.body.id);
      }

      /** The running runs, from any host's API (every host sees them all). */
      const runningOn = async (hostId: string) => {
        const found = [];
        for (const id of ids) {
          const { body } = await api(`/api/integrations/${id}/runs?limit=1`);
          const run = body.runs[0];
          if (run?.status === "running" && run.hostId === hostId && run.counts.fetched > 0) {
            found.push(run);
          }
        }
        return found;
      };

      // 1. Kill a host while it holds leases with pages stored (whichever has runs going).
      let victim: Awaited<ReturnType<typeof busyHost>>;
      await until(async () => (victim = await busyHost(names)) !== undefined, 30_000, "a run");
      const { name: killedName, runs: killed } = victim!;
      alive = alive.filter((i) => names[i] !== killedName);
      // Every host shows another host's run as running (asked of a host that does not run it).
      const shown = (await api(
        `/api/integrations/${(await api(`/api/runs/${killed[0].id}`)).body.integrationId}`,
      )).body;
      equal(shown.status, "running");
      equal(shown.runningRunId, killed[0].id);
      const killedAt = Date.now();
      await victim!.host.kill();

      // 2. Stop another host past its lease in the middle of a run, then let it go on.
      let paused: Awaited<ReturnType<typeof busyHost>>;
      const others = names.filter((n) => n !== killedName);
      await until(async () => (paused = await busyHost(others)) !== undefined, 30_000, "a run");
      const { name: stalledName, host: stalledHost, runs: stalled } = paused!;
      const survivor = others.find((n) => n !== stalledName)!;
      alive = [names.indexOf(survivor)];
      stalledHost.child.kill("SIGSTOP");
      await new Promise((r) => setTimeout(r, (LEASE_SECONDS + 4) * 1000));
      stalledHost.child.kill("SIGCONT");
      alive = [names.indexOf(survivor), names.indexOf(stalledName)];

      // 3. Every integration delivers all of its alerts, each once.
      // Tallied as deliveries arrive (each read once), so that waiting costs little however many.
      const alerts = new Map<string, Map<string, string>>();
      const twice: string[] = [];
      let tallied = 0;
      const tally = () => {
        for (; tallied < receiver.received.length; tallied++) {
          const d = receiver.received[tallied];
          for (const alert of d.alerts) {
            const integrationId = String(alert.integrationId);
            const seen = alerts.get(integrationId) ?? new Map<string, string>();
            alerts.set(integrationId, seen);
            const before = seen.get(alert.id);
            if (before !== undefined && before !== d.id) {
              twice.push(`${alert.id}: ${before}, ${d.id}`);
            }
            seen.set(alert.id, d.id);
          }
        }
        return ids.every((id) => (alerts.get(id)?.size ?? 0) >= expected);
      };
      await until(
        tally,
        90_000 + INTEGRATIONS * PER_LOG_TYPE * 5,
        `every integration's ${expected} alerts`,
      );
      deepStrictEqual(twice, [], "an alert id arrived under two webhook-ids");
      for (const id of ids) equal(alerts.get(id)!.size, expected, id);

      // The killed host's runs ended interrupted; so did the stalled host's, and its late writes
      // were refused (it logged losing the lease, and wrote no run end over the new holder's).
      for (const run of [...killed, ...stalled]) {
        const { body } = await api(`/api/runs/${run.id}`);
        equal(body.status, "failed", run.id);
        equal(body.code, "INTERRUPTED", run.id);
      }
      await until(
        () => stalledHost.logs.some((l) => /lost (its|the integration's) lease/.test(l)),
        20_000,
        "the stalled host noticing it lost its lease",
      );
      // How long the killed host's integrations waited: from the kill to a run elsewhere.
      const takeovers: number[] = [];
      for (const run of killed) {
        const integrationId = (await api(`/api/runs/${run.id}`)).body.integrationId;
        const later = (await api(`/api/integrations/${integrationId}/runs`)).body.runs
          .filter((r: { hostId: string; startedAt: string }) =>
            r.hostId !== killedName && Date.parse(r.startedAt) > killedAt
          )
          .map((r: { startedAt: string }) => Date.parse(r.startedAt) - killedAt);
        takeovers.push(Math.min(...later));
      }
      console.log(
        `taken over ${
          takeovers.map((ms) => (ms / 1000).toFixed(1)).join(", ")
        } s after the kill (lease ${LEASE_SECONDS} s)`,
      );
      // At most the lease (its expiry), then the next look (a lease later), then a tick; room for load.
      ok(takeovers.every((ms) => ms <= (3 * LEASE_SECONDS + 5) * 1000), `${takeovers}`);
      // Every run records where it ran; the survivors ran what the others left.
      const ranOn = new Set<string>();
      for (const id of ids) {
        for (const run of (await api(`/api/integrations/${id}/runs`)).body.runs) {
          ranOn.add(run.hostId);
        }
      }
      ok(ranOn.has(survivor), `runs on ${[...ranOn]}`);
      ok([...ranOn].every((h) => ["h1", "h2", "h3"].includes(h)), `runs on ${[...ranOn]}`);
    } finally {
      for (const h of hosts) {
        try {
          h.child.kill("SIGCONT");
        } catch { /* gone */ }
        await h.kill();
      }
      await receiver.close();
      stop.abort();
      await pg.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
