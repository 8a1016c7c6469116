/**
 * The host as a user runs it: a real process, the plugin installed by dropping the built folder,
 * integrations created over HTTP against the simulator (API 2.0 and 1.0), runs triggered over
 * HTTP, and signed alerts arriving at a real webhook receiver, compared with the golden files.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import {
  MimecastSimulator,
  serveSimulator,
  SIM_CLIENT,
  SIM_KEYS,
} from "../../fixtures/simulator/mod.ts";
import { alertId } from "../../plugin/normalize.ts";
import { formatIsoSecond, formatMimecastDate, parseMimecastDate } from "../../plugin/dates.ts";
import type { TtpLogType as LogType } from "../../plugin/config.ts";
import { installPlugin } from "./_host.ts";
import { client, serveReceiver, spawnHost, until } from "./_process.ts";

const CASES = ["url_clicks", "attachment_sandbox", "impersonation_detections"];
const FIXTURES = new URL("../../fixtures/mimecast/", import.meta.url);
const TOKEN = "e2e-admin-token-0123456789abcdef";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const DAY = 86_400_000;

/** Whole days that move the fixtures (2025-03-04, 07:55–10:07 UTC) to one or two days ago. */
const SHIFT = (Math.floor((Date.now() - Date.UTC(2025, 2, 4, 10, 10)) / DAY) - 1) * DAY;

function shifted(logType: LogType, record: Record<string, unknown>) {
  const field = logType === "impersonation" ? "eventTime" : "date";
  return {
    ...record,
    [field]: formatMimecastDate(parseMimecastDate(String(record[field])) + SHIFT),
  };
}

async function fixtures() {
  const records: Record<string, Record<string, unknown>[]> = {};
  const expected: Record<string, unknown>[] = [];
  // What one run over all the fixtures counts, from the golden files.
  const counts = { fetched: 0, filtered: 0, alerts: 0, drift: 0 };
  for (const name of CASES) {
    const fixture = JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, FIXTURES)));
    const golden = JSON.parse(await Deno.readTextFile(new URL(`${name}.expected.json`, FIXTURES)));
    const logType = fixture.logType as LogType;
    records[logType] = fixture.records.map((r: Record<string, unknown>) => shifted(logType, r));
    counts.fetched += fixture.records.length;
    counts.filtered += golden.filtered.length;
    counts.alerts += golden.alerts.length;
    counts.drift += golden.counts.drift ?? 0;
    for (const alert of golden.alerts) {
      // The golden alert, moved in time like its record: same record key, so id from the same rule.
      const raw = shifted(logType, alert.raw);
      expected.push({
        ...alert,
        id: alertId(logType, raw),
        occurredAt: formatIsoSecond(Date.parse(alert.occurredAt) + SHIFT),
        raw,
      });
    }
  }
  return { records, expected, counts };
}

Deno.test("end to end: drop the plugin in, configure over HTTP, run, receive exactly the golden signed alerts (API 2.0 and 1.0)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-" });
  const sim = new MimecastSimulator({ maxPageSize: 3 });
  const { records, expected, counts } = await fixtures();
  for (const [logType, list] of Object.entries(records)) sim.add(logType as LogType, list);
  const simAbort = new AbortController();
  const simServer = serveSimulator(sim, { signal: simAbort.signal });
  const receiver = serveReceiver();
  const host = await spawnHost({
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: TOKEN,
  });
  try {
    const api = client(host.url, TOKEN);
    equal((await api("/api/plugins")).body.length, 0);
    await installPlugin(`${dir}/plugins`);
    await until(
      async () => (await api("/api/plugins")).body.length === 1,
      10_000,
      "the plugin to install",
    );

    const shared = {
      startFrom: "7d",
      internalDomains: ["acme-corp.example"],
      mapping: [{
        alertType: "Impersonation Attempt",
        threatId: "T1656",
        threatName: "Impersonation",
      }],
    };
    const ids: string[] = [];
    for (const [apiVersion, credentials] of [["2.0", SIM_CLIENT], ["1.0", SIM_KEYS]] as const) {
      const created = await api("/api/integrations", {
        method: "POST",
        json: {
          plugin: "mimecast",
          name: `Mimecast ${apiVersion}`,
          config: { apiVersion, baseUrl: simServer.url, ...credentials, ...shared },
          destination: { url: receiver.url, secret: SECRET },
          schedule: { enabled: false },
        },
      });
      equal(created.status, 201, JSON.stringify(created.body));
      ids.push(created.body.id);
    }
    for (const id of ids) {
      const started = await api(`/api/integrations/${id}/runs`, { method: "POST" });
      equal(started.status, 202);
      await until(
        async () => (await api(`/api/runs/${started.body.runId}`)).body.status !== "running",
        20_000,
        "the run",
      );
      const run = (await api(`/api/runs/${started.body.runId}`)).body;
      equal(run.status, "succeeded", JSON.stringify(run));
      deepStrictEqual(run.counts, {
        fetched: counts.fetched,
        filtered: counts.filtered,
        invalid: 0,
        alerts: counts.alerts,
        delivered: counts.alerts,
        drift: counts.drift,
        deadLettered: 0,
        duplicates: 0,
      });
    }

    const wh = new Webhook(SECRET);
    for (const r of receiver.received) {
      wh.verify(r.body, {
        "webhook-id": r.id,
        "webhook-timestamp": r.timestamp,
        "webhook-signature": r.signature,
      });
    }
    const byId = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      String(a.id).localeCompare(String(b.id));
    for (const id of ids) {
      const got = receiver.received.flatMap((r) => r.alerts).filter((a) => a.integrationId === id);
      const want = expected.map((a) => ({ ...a, integrationId: id }));
      deepStrictEqual(got.sort(byId), want.sort(byId));
      const view = (await api(`/api/integrations/${id}`)).body;
      // Run by hand with the schedule off: paused (SPEC §5.5), the run itself a success.
      equal(view.status, "paused");
      equal(view.lastRun.status, "succeeded");
      equal(view.streams.length, 3);
    }
    const secrets = [
      SECRET,
      SIM_CLIENT.clientSecret,
      SIM_KEYS.secretKey,
      SIM_KEYS.accessKey,
      SIM_KEYS.applicationKey,
    ];
    const everything = JSON.stringify((await api("/api/integrations")).body) + host.logs.join("\n");
    for (const secret of secrets) {
      equal(everything.includes(secret), false, "a secret leaked into the API or logs");
    }
  } finally {
    await host.stop();
    await receiver.close();
    simAbort.abort();
    await simServer.finished;
    await Deno.remove(dir, { recursive: true });
  }
});
