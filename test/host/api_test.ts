import { deepStrictEqual, equal, notEqual } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { awaitRun, HOOK_URL, integrationBody, NOW, testHost, WEBHOOK_SECRET } from "./_host.ts";

const HOUR = 3_600_000;

Deno.test("every /api route refuses a missing or wrong token", async () => {
  const t = await testHost({ install: false });
  try {
    const routes: [string, string][] = [
      ["GET", "/api/plugins"],
      ["GET", "/api/plugins/refused"],
      ["POST", "/api/integrations"],
      ["GET", "/api/integrations"],
      ["GET", "/api/integrations/x"],
      ["PATCH", "/api/integrations/x"],
      ["DELETE", "/api/integrations/x"],
      ["POST", "/api/integrations/x/check"],
      ["POST", "/api/integrations/x/preview"],
      ["POST", "/api/integrations/x/runs"],
      ["GET", "/api/integrations/x/runs"],
      ["GET", "/api/runs/x"],
      ["GET", "/api/integrations/x/dead-letters"],
      ["POST", "/api/integrations/x/dead-letters/redrive"],
      ["GET", "/api/nope"],
    ];
    for (const [method, path] of routes) {
      for (
        const auth of [
          undefined,
          "Bearer wrong-token",
          "Basic dGVzdA==",
          `Bearer ${"x".repeat(2000)}`,
        ]
      ) {
        const headers: Record<string, string> = auth
          ? { Authorization: auth }
          : { Authorization: "" };
        const response = await t.host.app.request(path, { method, headers });
        equal(response.status, 401, `${method} ${path} with ${auth}`);
        await response.body?.cancel();
      }
    }
    equal((await t.host.app.request("/healthz")).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("POST /api/integrations lists every bad field with its dot path, and 201s a good one without secrets", async () => {
  const t = await testHost();
  try {
    const bad = await t.request("/api/integrations", {
      method: "POST",
      json: {
        plugin: "mimecast",
        name: "",
        config: { apiVersion: "1.0", baseUrl: "ftp://x", logTypes: ["dlp"] },
        destination: { url: "http://169.254.169.254/latest", secret: "plain" },
      },
    });
    equal(bad.status, 422);
    const { issues } = await bad.json();
    deepStrictEqual(
      issues.map((i: { path: string }) => i.path).sort(),
      [
        "config.accessKey",
        "config.applicationId",
        "config.applicationKey",
        "config.baseUrl",
        "config.logTypes.0",
        "config.secretKey",
        "destination.secret",
        "destination.url",
        "name",
      ].sort(),
    );

    const created = await t.request("/api/integrations", {
      method: "POST",
      json: integrationBody("2.0"),
    });
    equal(created.status, 201);
    const body = await created.json();
    // Paused until a connection check passes (SPEC §5.8).
    equal(body.status, "paused");
    deepStrictEqual(body.schedule, { intervalSeconds: 300, enabled: false, awaitingCheck: true });
    deepStrictEqual(body.secretsSet, ["clientSecret"]);
    equal(body.config.clientSecret, undefined);
    equal(body.config.clientId, "sim-client-id");
    deepStrictEqual(body.destination, { url: HOOK_URL, secretSet: true, format: "alerts" });
    equal(JSON.stringify(body).includes("sim-client-secret-value"), false);
    equal(JSON.stringify(body).includes(WEBHOOK_SECRET), false);

    const unknownPlugin = await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), plugin: "nope" },
    });
    equal(unknownPlugin.status, 422);
    equal((await unknownPlugin.json()).issues[0].path, "plugin");
    const notJson = await t.request("/api/integrations", {
      method: "POST",
      body: "{",
      headers: { "Content-Type": "application/json" },
    });
    equal(notJson.status, 400);
    const huge = await t.request("/api/integrations", {
      method: "POST",
      body: "x".repeat(2 * 1024 * 1024),
    });
    equal(huge.status, 413);
  } finally {
    await t.close();
  }
});

Deno.test("PATCH keeps omitted secrets, replaces given ones, and re-validates the config", async () => {
  const t = await testHost();
  try {
    const { id } =
      await (await t.request("/api/integrations", { method: "POST", json: integrationBody("2.0") }))
        .json();
    const renamed = await t.request(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { name: "Renamed", config: { startFrom: "2d" } },
    });
    equal(renamed.status, 200);
    const view = await renamed.json();
    equal(view.name, "Renamed");
    equal(view.config.startFrom, "2d");
    deepStrictEqual(view.secretsSet, ["clientSecret"]);
    // The secret still works: a run authenticates.
    const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    equal((await awaitRun(t, id, runId)).status, "succeeded");
    // A wrong replacement secret is stored and fails the next run with the client-credentials hint.
    await t.request(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { config: { clientSecret: "replaced-secret" } },
    });
    t.clock.advance(5 * 60_000); // a later run has a window to read, so it calls Mimecast
    const second = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    const failed = await awaitRun(t, id, second.runId);
    equal(failed.status, "failed");
    equal(failed.code, "PLUGIN_FETCH_FAILED");
    equal(/client ID and client secret/.test(failed.hint), true);
    equal(JSON.stringify(failed).includes("replaced-secret"), false);
    const integration = await (await t.request(`/api/integrations/${id}`)).json();
    equal(integration.status, "error");
    equal(/client ID and client secret/.test(integration.lastHint), true);
    const bad = await t.request(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { config: { startFrom: "100d" } },
    });
    equal(bad.status, 422);
    equal((await bad.json()).issues[0].path, "config.startFrom");
    equal((await t.request(`/api/integrations/${id}`, { method: "DELETE" })).status, 204);
    equal((await t.request(`/api/integrations/${id}`)).status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("a run over HTTP delivers signed alerts, counts what it did, and a second trigger gets 409", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 250, { start: NOW - 2 * HOUR, stepMs: 1000 }));
    t.sim.add("attachment", generateRecords("attachment", 40, { start: NOW - 2 * HOUR }));
    const { id } = await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody("2.0"), schedule: { enabled: true } },
    })).json();
    const started = await t.request(`/api/integrations/${id}/runs`, { method: "POST" });
    equal(started.status, 202);
    const { runId } = await started.json();
    const again = await t.request(`/api/integrations/${id}/runs`, { method: "POST" });
    equal(again.status, 409);
    equal((await again.json()).runId, runId);
    const run = await awaitRun(t, id, runId);
    equal(run.status, "succeeded");
    deepStrictEqual(run.counts, {
      fetched: 290,
      filtered: 145,
      invalid: 0,
      alerts: 145,
      delivered: 145,
      drift: 0,
      deadLettered: 0,
      duplicates: 0,
    });
    equal(t.receiver.alerts.length, 145);
    t.receiver.verifyAll(WEBHOOK_SECRET);
    equal(
      t.receiver.received.every((r) =>
        r.json.type === "mimecast.alerts" && r.json.integrationId === id
      ),
      true,
    );
    const view = await (await t.request(`/api/integrations/${id}`)).json();
    equal(view.status, "connected");
    deepStrictEqual(view.streams.map((s: { logType: string }) => s.logType), [
      "attachment",
      "impersonation",
      "url",
    ]);
    const { runs } = await (await t.request(`/api/integrations/${id}/runs`)).json();
    equal(runs[0].id, runId);
    const metrics = await (await t.host.app.request("/metrics")).text();
    equal(metrics.includes("host_alerts_delivered_total 145"), true);
    equal(
      metrics.includes(`host_integration_lag_seconds{integration="${id}",log_type="url"}`),
      true,
    );
  } finally {
    await t.close();
  }
});

Deno.test("check and preview report per log type, move no cursor and deliver nothing", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 150, { start: NOW - 2 * HOUR }));
    const { id } =
      await (await t.request("/api/integrations", { method: "POST", json: integrationBody("1.0") }))
        .json();
    const check = await (await t.request(`/api/integrations/${id}/check`, { method: "POST" }))
      .json();
    equal(check.ok, true);
    deepStrictEqual(check.results.map((r: { logType: string }) => r.logType), [
      "url",
      "attachment",
      "impersonation",
    ]);
    const preview = await (await t.request(`/api/integrations/${id}/preview`, { method: "POST" }))
      .json();
    equal(preview.alerts.length, 50); // first page of 100: half clean
    equal(preview.filtered.length, 50);
    equal(preview.counts.fetched, 100);
    equal(t.receiver.received.length, 0);
    const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    await awaitRun(t, id, runId);
    equal(t.receiver.alerts.length, 75); // the preview moved no cursor: the run sends all of them
  } finally {
    await t.close();
  }
});

Deno.test("a dead webhook fills the dead letters after the retry budget; redrive delivers the same batches", async () => {
  const t = await testHost();
  try {
    t.sim.add(
      "url",
      generateRecords("url", 20, { start: NOW - HOUR }).map((r) => ({
        ...r,
        scanResult: "malicious",
      })),
    );
    const { id } = await (await t.request("/api/integrations", {
      method: "POST",
      json: integrationBody("2.0", { logTypes: ["url"] }),
    })).json();
    t.receiver.script = [{ status: 503 }, { status: 429, headers: { "Retry-After": "7" } }, {
      status: 500,
    }];
    const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    const run = await awaitRun(t, id, runId);
    equal(run.status, "failed");
    equal(run.code, "DELIVERY_FAILED");
    equal(run.counts.deadLettered, 1);
    equal(t.clock.slept.some((ms) => ms === 7000), true, `Retry-After honoured: ${t.clock.slept}`);
    const dead = await (await t.request(`/api/integrations/${id}/dead-letters`)).json();
    equal(dead.length, 1);
    equal(dead[0].attempts, 3);
    equal(dead[0].body.alerts.length, 20);
    const redrive = await t.request(`/api/integrations/${id}/dead-letters/redrive`, {
      method: "POST",
    });
    deepStrictEqual(await redrive.json(), { requeued: 1 });
    await t.host.delivery.settle();
    equal(t.receiver.received.length, 1);
    equal(t.receiver.received[0].id, dead[0].webhookId);
    deepStrictEqual(
      t.receiver.alerts.map((a) => a.id),
      dead[0].body.alerts.map((a: { id: string }) => a.id),
    );
    equal((await (await t.request(`/api/integrations/${id}/dead-letters`)).json()).length, 0);
    notEqual(t.receiver.received[0].signature, "");
  } finally {
    await t.close();
  }
});

Deno.test("lag per log type is how far behind now each is fully received, even when a log type is quiet", async () => {
  const t = await testHost();
  try {
    t.sim.add(
      "url",
      generateRecords("url", 10, { start: NOW - 5 * HOUR }).map((r) => ({
        ...r,
        scanResult: "malicious",
      })),
    );
    const { id } = await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { enabled: false } },
    })).json();
    await awaitRun(
      t,
      id,
      (await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" })).json()).runId,
    );
    const view = await (await t.request(`/api/integrations/${id}`)).json();
    const byType = Object.fromEntries(view.streams.map((s: { logType: string }) => [s.logType, s]));
    // Windows end 60 s before now (the lag setting): every log type, alerts or none, is 60 s behind.
    deepStrictEqual(Object.keys(byType).sort(), ["attachment", "impersonation", "url"]);
    for (const logType of ["url", "attachment", "impersonation"]) {
      equal(byType[logType].lagSeconds, 60, logType);
    }
    equal(byType.url.alerts, 10);
    equal(byType.attachment.alerts, 0);
    equal(
      Date.parse(byType.url.newestAt) < NOW - 4 * HOUR,
      true,
      "the newest alert is older than the lag",
    );
    const metrics = await (await t.host.app.request("/metrics")).text();
    equal(
      metrics.includes(
        `host_integration_lag_seconds{integration="${id}",log_type="impersonation"} 60`,
      ),
      true,
    );
  } finally {
    await t.close();
  }
});

Deno.test("a name or webhook URL with a control character is refused, not stored cut short", async () => {
  const t = await testHost();
  try {
    const body = integrationBody("2.0");
    const nul = await t.request("/api/integrations", {
      method: "POST",
      json: { ...body, name: "Mimecast\u0000 EU" },
    });
    equal(nul.status, 422);
    const issues = (await nul.json()).issues;
    equal(issues[0].path, "name");
    equal(/control characters/.test(issues[0].message), true);
    const url = await t.request("/api/integrations", {
      method: "POST",
      json: { ...body, destination: { ...body.destination, url: `${body.destination.url}\n` } },
    });
    equal(url.status, 422);
    equal((await url.json()).issues[0].path, "destination.url");
    const { id } = await (await t.request("/api/integrations", { method: "POST", json: body }))
      .json();
    const patched = await t.request(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { name: "tab\there" },
    });
    equal(patched.status, 422);
    equal((await (await t.request(`/api/integrations/${id}`)).json()).name, body.name);
  } finally {
    await t.close();
  }
});

Deno.test("test-webhook sends one signed test event and reports the receiver's answer", async () => {
  const t = await testHost();
  try {
    const created = await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { enabled: false } },
    });
    const { id } = await created.json();
    const sent = await (await t.request(`/api/integrations/${id}/test-webhook`, {
      method: "POST",
    })).json();
    equal(sent.ok, true);
    equal(sent.status, 200);
    equal(typeof sent.ms, "number");
    equal(t.receiver.received.length, 1);
    const [event] = t.receiver.received;
    equal(event.id, sent.webhookId);
    equal(event.json.type, "mimecast.test");
    equal(event.json.integrationId, id);
    deepStrictEqual(event.json.alerts, []);
    t.receiver.verifyAll(WEBHOOK_SECRET);
    equal(await t.host.store.pendingCount(id), 0, "nothing stored");

    // A refusal is reported as the receiver gave it, not retried.
    t.receiver.script = [{ status: 503 }];
    const refused = await (await t.request(`/api/integrations/${id}/test-webhook`, {
      method: "POST",
    })).json();
    equal(refused.ok, false);
    equal(refused.status, 503);
    equal(t.receiver.received.length, 1, "a 503 is not retried");
  } finally {
    await t.close();
  }
});

Deno.test("dead letters keep the receiver's answer; one can be redriven or discarded by its id", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 300, { start: NOW - 3_600_000, stepMs: 10_000 }));
    const { id } = await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { enabled: false } },
    })).json();
    t.receiver.script = Array.from({ length: 10 }, () => ({
      status: 422,
      body: '{"error":"field   alerts[0].threatId\nis not allowed"}',
    }));
    const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    equal((await awaitRun(t, id, runId)).status, "failed");
    const dead = await (await t.request(`/api/integrations/${id}/dead-letters`)).json();
    equal(dead.length >= 2, true, `${dead.length} dead letters`);
    equal(
      dead[0].lastError,
      `Cannot deliver batch to webhook at 127.0.0.1:9702: received status 422 (it answered: {"error":"field alerts[0].threatId is not allowed"})`,
    );

    // Discard one: gone for good; a second discard is 404.
    const [first, second] = dead;
    equal(
      (await t.request(`/api/integrations/${id}/dead-letters/${first.webhookId}`, {
        method: "DELETE",
      })).status,
      204,
    );
    equal(
      (await t.request(`/api/integrations/${id}/dead-letters/${first.webhookId}`, {
        method: "DELETE",
      })).status,
      404,
    );
    // Redrive another by its id: delivered under the same webhook-id.
    t.receiver.script = [];
    await t.request(`/api/integrations/${id}/dead-letters/redrive`, {
      method: "POST",
      json: { webhookIds: [second.webhookId] },
    });
    await t.host.delivery.settle();
    equal(t.receiver.received.some((r) => r.id === second.webhookId), true);
    equal(t.receiver.received.some((r) => r.id === first.webhookId), false);
    const left = await (await t.request(`/api/integrations/${id}/dead-letters`)).json();
    equal(left.length, dead.length - 2);
  } finally {
    await t.close();
  }
});

Deno.test("a webhook secret left out is generated, returned once in the 201, and signs deliveries", async () => {
  const t = await testHost();
  try {
    const body = integrationBody();
    const created = await t.request("/api/integrations", {
      method: "POST",
      json: {
        ...body,
        destination: { url: body.destination.url },
        schedule: { enabled: false },
      },
    });
    equal(created.status, 201);
    const answer = await created.json();
    const generated = answer.destination.secret as string;
    equal(/^whsec_[A-Za-z0-9+/]+=*$/.test(generated), true, generated);
    const read = await (await t.request(`/api/integrations/${answer.id}`)).text();
    equal(read.includes(generated), false, "never shown again");
    await t.request(`/api/integrations/${answer.id}/test-webhook`, { method: "POST" });
    equal(t.receiver.received.length, 1);
    t.receiver.verifyAll(generated);
  } finally {
    await t.close();
  }
});
