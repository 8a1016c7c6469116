/**
 * A destination's format end to end (SPEC §4): the same Mimecast records, through two
 * integrations of one host, reach the receiver once as alerts (the default, byte for byte the
 * alert shape) and once as OCSF Detection Findings (`format: "ocsf"`), signed, with the same ids,
 * every finding valid against the compiled OCSF schema.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import {
  allTypeReceipts,
  allTypeRecords,
  SEED_TABLE,
} from "../../../fixtures/simulator/all_types.ts";
import { toDetectionFinding } from "../../../host/formats/mod.ts";
import type { Alert } from "../../../host/types.ts";
import { awaitRun, HOOK_URL, integrationBody, NOW, testHost, WEBHOOK_SECRET } from "../_host.ts";
import { schemaProblems } from "./_schema.ts";

const LOG_TYPES = ["url", "attachment", "impersonation", "rejections"];

Deno.test("an ocsf destination receives signed findings with format: ocsf; the default keeps the alert shape", async () => {
  const t = await testHost();
  try {
    for (const [logType, list] of Object.entries(allTypeRecords(NOW))) {
      t.sim.add(logType as "url" | "attachment" | "impersonation", list);
    }
    t.sim.siem.addFile({
      stage: "receipt",
      events: allTypeReceipts(NOW),
      publishedAt: NOW - 3_600_000,
    });
    const create = async (format?: string) => {
      const body = integrationBody("2.0", { logTypes: LOG_TYPES, startFrom: "1d" });
      const response = await t.request("/api/integrations", {
        method: "POST",
        json: {
          ...body,
          name: `as ${format ?? "default"}`,
          destination: { url: HOOK_URL, secret: WEBHOOK_SECRET, ...(format ? { format } : {}) },
        },
      });
      equal(response.status, 201);
      return await response.json();
    };
    const plain = await create();
    const ocsf = await create("ocsf");
    equal(plain.destination.format, "alerts");
    equal(ocsf.destination.format, "ocsf");

    // The preview shows what a run would send, in the destination's format.
    const preview = await (await t.request(`/api/integrations/${ocsf.id}/preview`, {
      method: "POST",
    })).json();
    equal(preview.format, "ocsf");
    ok(preview.alerts.length > 0);
    for (const finding of preview.alerts) deepStrictEqual(schemaProblems(finding), []);
    equal(t.receiver.received.length, 0);

    for (const { id } of [plain, ocsf]) {
      const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
        .json();
      equal((await awaitRun(t, id, runId)).status, "succeeded");
    }
    t.receiver.verifyAll(WEBHOOK_SECRET);
    const bodiesOf = (id: string) => t.receiver.received.filter((r) => r.json.integrationId === id);

    // The default: the envelope and the alerts as they always were.
    const alerts: Alert[] = [];
    for (const r of bodiesOf(plain.id)) {
      deepStrictEqual(Object.keys(r.json), ["type", "integrationId", "alerts"]);
      equal(
        r.body,
        JSON.stringify({ type: "mimecast.alerts", integrationId: plain.id, alerts: r.json.alerts }),
      );
      alerts.push(...r.json.alerts as unknown as Alert[]);
    }
    deepStrictEqual(
      Object.fromEntries(alerts.map((a) => [a.alertType, a.threatId])),
      SEED_TABLE,
    );

    // OCSF: the same envelope plus format, one valid finding per alert, under the alert's id.
    const findings: ReturnType<typeof toDetectionFinding>[] = [];
    for (const r of bodiesOf(ocsf.id)) {
      deepStrictEqual(Object.keys(r.json), ["type", "integrationId", "format", "alerts"]);
      equal(r.json.type, "mimecast.alerts");
      equal((r.json as unknown as { format: string }).format, "ocsf");
      findings.push(...r.json.alerts as unknown as ReturnType<typeof toDetectionFinding>[]);
    }
    equal(findings.length, alerts.length);
    for (const finding of findings) deepStrictEqual(schemaProblems(finding), []);
    const byId = new Map(alerts.map((a) => [a.id, a]));
    for (const finding of findings) {
      const alert = byId.get(finding.finding_info.uid);
      ok(alert, `finding ${finding.finding_info.uid} has no alert`);
      deepStrictEqual(finding, toDetectionFinding({ ...alert, integrationId: ocsf.id }));
    }
    deepStrictEqual(
      [...new Set(findings.map((f) => f.unmapped.logType))].sort(),
      [...LOG_TYPES].sort(),
    );
    const received = await (await t.request(`/api/integrations/${ocsf.id}`)).json();
    equal(received.destination.format, "ocsf");
  } finally {
    await t.close();
  }
});

Deno.test("destination.format: create and PATCH accept alerts or ocsf, refuse anything else in plain words", async () => {
  const t = await testHost();
  try {
    const bad = await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), destination: { url: HOOK_URL, format: "cef" } },
    });
    equal(bad.status, 422);
    const { issues } = await bad.json();
    // (The secret left out would be generated: only the format is wrong.)
    deepStrictEqual(issues.map((i: { path: string }) => i.path).sort(), ["destination.format"]);
    const message = issues.find((i: { path: string }) => i.path === "destination.format").message;
    equal(message, 'destination.format must be "alerts" or "ocsf" (leave it out for "alerts")');

    const { id } = await (await t.request("/api/integrations", {
      method: "POST",
      json: integrationBody(),
    })).json();
    const patch = (destination: unknown) =>
      t.request(`/api/integrations/${id}`, { method: "PATCH", json: { destination } });
    for (const wrong of [5, "OCSF", null, ""]) {
      const refused = await patch({ format: wrong });
      equal(refused.status, 422, `format ${JSON.stringify(wrong)}`);
      equal((await refused.json()).issues[0].path, "destination.format");
    }
    const toOcsf = await patch({ format: "ocsf" });
    equal(toOcsf.status, 200);
    equal((await toOcsf.json()).destination.format, "ocsf");
    // Another destination change keeps the format.
    const moved = await (await patch({ url: `${HOOK_URL}/2` })).json();
    deepStrictEqual(moved.destination, { url: `${HOOK_URL}/2`, secretSet: true, format: "ocsf" });
    const back = await (await patch({ format: "alerts" })).json();
    equal(back.destination.format, "alerts");
    match(JSON.stringify(back), /"format":"alerts"/);
  } finally {
    await t.close();
  }
});
