/**
 * Planted secrets: known secret values go in through the API and must come out nowhere: no API
 * response, log line, run record, webhook body, nor the database file in clear text.
 */
import { equal } from "node:assert/strict";
import { generateRecords, MimecastSimulator } from "../../fixtures/simulator/mod.ts";
import type { SqliteStore } from "../../host/store/sqlite/mod.ts";
import { FakeClock } from "../_helpers.ts";
import { awaitRun, HOOK_URL, integrationBody, NOW, SIM_ORIGIN, testHost } from "./_host.ts";

const PLANTED = {
  clientSecret: "PLANTED-client-secret-7f3a9c",
  wrongSecret: "PLANTED-wrong-secret-c41d2e",
  webhook: "whsec_UExBTlRFRC13ZWJob29rLXNlY3JldC0xMjM0NTY=",
};

Deno.test("planted secrets appear in no response, log line, run record, webhook body or database page", async () => {
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({
    now: clock.now,
    clients: [{ clientId: "planted-id", clientSecret: PLANTED.clientSecret }],
  });
  sim.add(
    "url",
    generateRecords("url", 30, { start: NOW - 3_600_000 }).map((r) => ({
      ...r,
      scanResult: "malicious",
      subject: "no secrets here",
    })),
  );
  const t = await testHost({ clock, sim });
  const seen: string[] = [];
  const call = async (path: string, init: { method?: string; json?: unknown } = {}) => {
    const response = await t.request(path, init);
    const text = await response.text();
    seen.push(`${path} ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  try {
    const created = await call("/api/integrations", {
      method: "POST",
      json: {
        plugin: "mimecast",
        name: "planted",
        config: {
          baseUrl: SIM_ORIGIN,
          clientId: "planted-id",
          clientSecret: PLANTED.clientSecret,
          logTypes: ["url"],
        },
        destination: { url: HOOK_URL, secret: PLANTED.webhook },
      },
    });
    const id = created.id;
    await call(`/api/integrations/${id}`);
    await call("/api/integrations");
    await call(`/api/integrations/${id}/check`, { method: "POST" });
    await call(`/api/integrations/${id}/preview`, { method: "POST" });
    const ok = await call(`/api/integrations/${id}/runs`, { method: "POST" });
    await awaitRun(t, id, ok.runId);
    // A wrong secret: the failure travels through errors, hints, logs and run records.
    await call(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { config: { clientSecret: PLANTED.wrongSecret } },
    });
    await call(`/api/integrations/${id}/check`, { method: "POST" });
    await call(`/api/integrations/${id}/preview`, { method: "POST" });
    clock.advance(5 * 60_000); // a later run has a window to read, so it calls Mimecast
    const bad = await call(`/api/integrations/${id}/runs`, { method: "POST" });
    await awaitRun(t, id, bad.runId);
    await call(`/api/runs/${bad.runId}`);
    await call(`/api/integrations/${id}/runs`);
    await call(`/api/integrations/${id}/dead-letters`);
    await call(`/api/integrations/${id}/invalid-records`);
    equal((await call("/api/alerts?limit=500")).alerts.length > 0, true);
    await call(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { config: { startFrom: "999d" } },
    });
    seen.push(await (await t.host.app.request("/metrics")).text());

    equal(t.receiver.received.length > 0, true);
    const runs = JSON.stringify(
      (t.host.store as SqliteStore).db.prepare("SELECT * FROM runs").all(),
    );
    const webhooks = t.receiver.received.map((r) => `${JSON.stringify(r.json)} ${r.signature}`)
      .join("\n");
    await t.host.stop();
    const database = new TextDecoder("latin1").decode(await Deno.readFile(`${t.dir}/host.sqlite`));
    let wal = "";
    try {
      wal = new TextDecoder("latin1").decode(await Deno.readFile(`${t.dir}/host.sqlite-wal`));
    } catch { /* checkpointed away */ }
    const places = {
      responses: seen.join("\n"),
      logs: t.logLines.join("\n"),
      runs,
      webhooks,
      database: database + wal,
    };
    equal(
      places.logs.length > 0 && places.runs.includes("PLUGIN_FETCH_FAILED"),
      true,
      "the failure was recorded",
    );
    for (const [where, text] of Object.entries(places)) {
      for (const [name, value] of Object.entries(PLANTED)) {
        equal(text.includes(value), false, `${name} leaked into ${where}`);
      }
    }
  } finally {
    await Deno.remove(t.dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a 422 never echoes a secret entered with the wrong type or shape", async () => {
  const t = await testHost();
  try {
    const number = 98765432109876;
    const cases: [Record<string, unknown>, string, string][] = [
      // [config, the path refused, what must not come back]
      [{ ...integrationBody().config, clientSecret: number }, "config.clientSecret", `${number}`],
      [
        { ...integrationBody("1.0").config, accessKey: ["PLANTED-access-key-in-a-list"] },
        "config.accessKey",
        "PLANTED-access-key-in-a-list",
      ],
      [
        { ...integrationBody("1.0").config, secretKey: "PLANTED secret key with spaces!" },
        "config.secretKey",
        "PLANTED secret key with spaces!",
      ],
    ];
    for (const [config, path, planted] of cases) {
      const body = { ...integrationBody(), config };
      for (
        const [method, url] of [["POST", "/api/integrations"]] as const
      ) {
        const response = await t.request(url, { method, json: body });
        equal(response.status, 422);
        const text = await response.text();
        const issues = JSON.parse(text).issues as { path: string; message: string }[];
        const issue = issues.find((i) => i.path === path);
        equal(typeof issue?.message, "string", `${path} is named: ${text}`);
        equal(text.includes(planted), false, `the answer echoes the secret: ${text}`);
      }
    }
    // An update too.
    const created = await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { enabled: false } },
    });
    const { id } = await created.json();
    const response = await t.request(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { config: { clientSecret: number }, destination: { secret: number } },
    });
    equal(response.status, 422);
    const text = await response.text();
    equal(text.includes(`${number}`), false, `the answer echoes the secret: ${text}`);
  } finally {
    await t.close();
  }
});
