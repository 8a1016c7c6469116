/**
 * Every alert type of the seed's table reaches a real receiver (SPEC §3.4, §3.5, §3.8): a real
 * host process with the plugin dropped in, an integration over HTTP with the four log types, the
 * simulator over HTTP (API 2.0 and 1.0, SIEM files on a second origin), and the eleven alert types
 * arriving signed, each with the seed's ATT&CK technique. Then a host killed in the middle of a
 * large SIEM file resumes there: nothing lost, nothing sent under two webhook-ids.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import * as v from "valibot";
import {
  generateSiemEvents,
  MimecastSimulator,
  serveSimulator,
  SIM_CLIENT,
  SIM_KEYS,
} from "../../fixtures/simulator/mod.ts";
import { allTypeReceipts, allTypeRecords, SEED_TABLE } from "../../fixtures/simulator/all_types.ts";
import { configSchema } from "../../plugin/config.ts";
import { normalize } from "../../plugin/normalize.ts";
import { installPlugin } from "./_host.ts";
import { checkDeliveries } from "./_ingest.ts";
import { client, serveReceiver, spawnHost, until } from "./_process.ts";

const TOKEN = "alert-types-admin-token-0123456789";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MIN = 60_000;

function integration(apiVersion: "2.0" | "1.0", baseUrl: string, receiverUrl: string) {
  const credentials = apiVersion === "2.0" ? SIM_CLIENT : SIM_KEYS;
  return {
    plugin: "mimecast",
    name: `all alert types ${apiVersion}`,
    config: {
      apiVersion,
      baseUrl,
      ...credentials,
      logTypes: ["url", "attachment", "impersonation", "rejections"],
      startFrom: "1d",
    },
    destination: { url: receiverUrl, secret: SECRET },
    schedule: { enabled: false },
  };
}

Deno.test("all eleven alert types of the seed's table arrive signed, with their ATT&CK technique (API 2.0 and 1.0)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alert-types-" });
  const now = Date.now();
  const sim = new MimecastSimulator();
  const records = allTypeRecords(now);
  for (const [logType, list] of Object.entries(records)) {
    sim.add(logType as "url" | "attachment" | "impersonation", list);
  }
  sim.siem.addFile({ stage: "receipt", events: allTypeReceipts(now), publishedAt: now - 60 * MIN });
  // A delivery file carrying seed texts: the next server's refusals, never alerts.
  sim.siem.addFile({
    stage: "delivery",
    events: allTypeReceipts(now).map((e) => ({
      ...e,
      type: "delivery",
      aggregateId: `d${e.aggregateId}`,
    })),
    publishedAt: now - 50 * MIN,
  });
  const simAbort = new AbortController();
  const simServer = serveSimulator(sim, { signal: simAbort.signal });
  const receiver = serveReceiver();
  await installPlugin(`${dir}/plugins`);
  const host = await spawnHost({
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: TOKEN,
  });
  try {
    const api = client(host.url, TOKEN);
    await until(async () => (await api("/api/plugins")).body.length === 1, 10_000, "the plugin");
    for (const apiVersion of ["2.0", "1.0"] as const) {
      receiver.received.length = 0;
      const created = await api("/api/integrations", {
        method: "POST",
        json: integration(apiVersion, simServer.url, receiver.url),
      });
      equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id;
      const { runId } = (await api(`/api/integrations/${id}/runs`, { method: "POST" })).body;
      await until(
        async () => (await api(`/api/runs/${runId}`)).body.status !== "running",
        30_000,
        "the run",
      );
      const run = (await api(`/api/runs/${runId}`)).body;
      equal(run.status, "succeeded", JSON.stringify(run));
      await until(
        async () => (await api(`/api/integrations/${id}`)).body.outboxPending === 0,
        10_000,
        "delivery",
      );
      const wh = new Webhook(SECRET);
      for (const r of receiver.received) {
        wh.verify(r.body, {
          "webhook-id": r.id,
          "webhook-timestamp": r.timestamp,
          "webhook-signature": r.signature,
        });
      }
      const alerts = receiver.received.flatMap((r) => r.alerts) as unknown as {
        alertType: string;
        threatId: string;
        logType: string;
        rejection?: unknown;
        sender?: { ip: string };
      }[];
      const techniques = Object.fromEntries(alerts.map((a) => [a.alertType, a.threatId]));
      deepStrictEqual(techniques, SEED_TABLE, `API ${apiVersion}`);
      equal(
        alerts.length,
        11,
        "one alert per type; the RBL, accepted and delivery events filtered",
      );
      for (const a of alerts.filter((a) => a.logType === "rejections")) {
        ok(a.rejection && a.sender?.ip, "rejection alerts carry rejection and sender.ip");
      }
      // The run counts rejections by reason: what the rules kept and what they dropped.
      equal(run.notes["rejections not alerted: IP Found in RBL"], 1);
      equal(run.notes["rejections alerted: Invalid Recipient"], 1);
    }
  } finally {
    await host.stop();
    await receiver.close();
    simAbort.abort();
    await simServer.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a host killed in the middle of a SIEM file resumes inside it: nothing lost, nothing under two webhook-ids", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siem-crash-" });
  const now = Date.now();
  const sim = new MimecastSimulator();
  sim.recordBodies = false;
  const config = v.parse(configSchema, { ...SIM_CLIENT, logTypes: ["rejections"] });
  const expected = new Set<string>();
  for (let f = 0; f < 2; f++) {
    const { events } = generateSiemEvents(15_000, {
      start: now - 5 * 60 * MIN + f * 60 * MIN,
      stepMs: 100,
      offset: f * 15_000,
      stage: "receipt",
    });
    sim.siem.addFile({ stage: "receipt", events, publishedAt: now - 3 * 60 * MIN + f * MIN });
    for (const data of events) {
      const alert = normalize({ logType: "rejections", data }, {
        integrationId: "x",
        config,
        count: () => {},
      });
      if (alert) expected.add(alert.id);
    }
  }
  ok(expected.size > 200, `${expected.size} rejection alerts expected`);
  const simAbort = new AbortController();
  const simServer = serveSimulator(sim, { signal: simAbort.signal });
  const receiver = serveReceiver({ delayMs: 40 });
  await installPlugin(`${dir}/plugins`);
  const env = {
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: TOKEN,
  };
  let host = await spawnHost(env);
  try {
    let api = client(host.url, TOKEN);
    await until(async () => (await api("/api/plugins")).body.length === 1, 10_000, "the plugin");
    const created = await api("/api/integrations", {
      method: "POST",
      json: {
        ...integration("2.0", simServer.url, receiver.url),
        config: { ...SIM_CLIENT, baseUrl: simServer.url, logTypes: ["rejections"] },
      },
    });
    const id = created.body.id;
    await api(`/api/integrations/${id}/runs`, { method: "POST" });
    await until(() => receiver.received.length >= 3, 20_000, "some deliveries");
    await host.kill();
    const before = receiver.received.length;
    host = await spawnHost(env);
    api = client(host.url, TOKEN);
    await until(async () => (await api("/api/plugins")).body.length === 1, 10_000, "restart");
    const { runId } = (await api(`/api/integrations/${id}/runs`, { method: "POST" })).body;
    await until(
      async () => (await api(`/api/runs/${runId}`)).body.status !== "running",
      60_000,
      "the second run",
    );
    equal((await api(`/api/runs/${runId}`)).body.status, "succeeded");
    await until(
      async () => (await api(`/api/integrations/${id}`)).body.outboxPending === 0,
      30_000,
      "the outbox",
    );
    const figures = checkDeliveries(receiver.received, expected);
    console.log(
      `siem crash: ${expected.size} alerts, killed after ${before} deliveries, ${
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
