/**
 * Reliability under faults (issue: reliability): a webhook outage that recovers, one that outlasts
 * the retry budget, every Mimecast fault the spec names, and many integrations run at once.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import type { Alert } from "../../host/types.ts";
import { awaitRun, integrationBody, NOW, testHost } from "./_host.ts";

const HOUR = 3_600_000;
const malicious = (r: Record<string, unknown>) => ({ ...r, scanResult: "malicious" });

Deno.test("a webhook outage that recovers: everything arrives once, in order, with backoff honouring Retry-After, and fetching waits", async () => {
  const t = await testHost({
    delivery: { attempts: 8, baseDelayMs: 1000, maxDelayMs: 60_000, timeoutMs: 2000 },
  });
  try {
    t.sim.add("url", generateRecords("url", 500, { start: NOW - 2 * HOUR }).map(malicious));
    const { id } = await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody("2.0", { logTypes: ["url"] }), schedule: { enabled: false } },
    })).json();
    t.receiver.script = [{ status: 503 }, { status: 500 }, { status: 502 }, {
      status: 429,
      headers: { "Retry-After": "20" },
    }, { status: 503 }];
    const pendingSeen: number[] = [];
    const callsSeen: number[] = [];
    t.receiver.onRequest = () => {
      // The outbox as the request arrives (SQLite answers within the call).
      t.host.store.pendingCount(id).then((n) => pendingSeen.push(n));
      callsSeen.push(t.sim.logCalls);
    };
    const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    const run = await awaitRun(t, id, runId);
    equal(run.status, "succeeded");
    equal(run.counts.delivered, 500);
    const times = t.receiver.alerts.map((a) => String(a.occurredAt));
    deepStrictEqual(times, [...times].sort(), "in order");
    equal(new Set(t.receiver.alerts.map((a) => a.id)).size, 500, "each once");
    // Backoff: 1 s, 2 s, 4 s ceilings with jitter, then Retry-After 20 s, then 16 s ceiling.
    const [a, b, c, d, e] = t.clock.slept;
    equal(
      a >= 500 && a <= 1000 && b >= 1000 && b <= 2000 && c >= 2000 && c <= 4000,
      true,
      `${t.clock.slept}`,
    );
    equal(d, 20_000);
    equal(e >= 8000 && e <= 16_000, true);
    equal(await t.host.store.deadLetterCount(id), 0, "no dead letter within the budget");
    // While the receiver was down (the first six requests), fetching waited: one page in delivery,
    // at most one more stored in the outbox and one read ahead, however long the outage.
    equal(Math.max(...pendingSeen.slice(0, 6)) <= 2, true, `pending ${pendingSeen}`);
    equal(Math.max(...callsSeen.slice(0, 6)) <= 3, true, `Mimecast calls ${callsSeen}`);
  } finally {
    await t.close();
  }
});

Deno.test("an outage past the retry budget: one dead letter, the rest waits in the outbox; redrive and the next run deliver all once", async () => {
  const t = await testHost({
    delivery: { attempts: 4, baseDelayMs: 1000, maxDelayMs: 8000, timeoutMs: 2000 },
  });
  try {
    t.sim.add("url", generateRecords("url", 300, { start: NOW - 2 * HOUR }).map(malicious));
    const { id } = await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody("2.0", { logTypes: ["url"] }), schedule: { enabled: false } },
    })).json();
    t.receiver.script = Array.from({ length: 4 }, () => ({ status: 503 }));
    const first = await awaitRun(
      t,
      id,
      (await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" })).json()).runId,
    );
    equal(first.status, "failed");
    equal(first.code, "DELIVERY_FAILED");
    equal(/redrive/i.test(first.hint), true);
    equal(await t.host.store.deadLetterCount(id), 1);
    equal(t.receiver.received.length, 0);
    const view = await (await t.request(`/api/integrations/${id}`)).json();
    equal(view.status, "error");
    equal(view.outboxPending <= 1, true, "fetching stopped instead of filling the outbox");
    // The receiver is back.
    await t.request(`/api/integrations/${id}/dead-letters/redrive`, { method: "POST" });
    await t.host.delivery.settle();
    const second = await awaitRun(
      t,
      id,
      (await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" })).json()).runId,
    );
    equal(second.status, "succeeded");
    const ids = t.receiver.alerts.map((a) => a.id);
    equal(ids.length, 300);
    equal(new Set(ids).size, 300);
    const times = t.receiver.alerts.map((a) => String(a.occurredAt));
    deepStrictEqual(times, [...times].sort(), "still in order after redrive");
  } finally {
    await t.close();
  }
});

Deno.test("Mimecast faults: the run fails or goes on as the spec says, with a hint, no hot loop, and the next run fills any gap", async (t) => {
  const cases = [
    {
      name: "429 storm",
      fault: { kind: "429" as const, times: 30, resetMs: 3000 },
      status: "failed",
      hint: /rate limiting/,
      maxCalls: 12,
    },
    {
      name: "5xx burst",
      fault: { kind: "5xx" as const, times: 3 },
      status: "succeeded",
      maxCalls: 3 + 4,
    },
    {
      name: "5xx outage",
      fault: { kind: "5xx" as const, times: 50 },
      status: "failed",
      hint: /unavailable/,
      maxCalls: 5,
    },
    {
      name: "malformed JSON",
      fault: { kind: "malformed" as const, times: 2 },
      status: "succeeded",
      maxCalls: 2 + 4,
    },
    {
      name: "fail[] in a 200",
      fault: { kind: "fail" as const, times: 1 },
      status: "failed",
      hint: /rejected the request/,
      maxCalls: 1,
    },
    {
      name: "403 permissions",
      fault: { kind: "403" as const, times: 1 },
      status: "failed",
      hint: /Monitoring/,
      maxCalls: 1,
    },
    {
      name: "404 wrong region",
      fault: { kind: "404" as const, times: 1 },
      status: "failed",
      hint: /base URL/,
      maxCalls: 1,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const h = await testHost();
      try {
        h.sim.add("url", generateRecords("url", 250, { start: NOW - 2 * HOUR }).map(malicious));
        const { id } = await (await h.request("/api/integrations", {
          method: "POST",
          json: {
            ...integrationBody("2.0", { logTypes: ["url"] }),
            schedule: { enabled: false },
          },
        })).json();
        // The fault strikes the second page, after the first was stored and delivered.
        let calls = 0;
        const sim = h.sim;
        const original = sim.handle.bind(sim);
        sim.handle = (request: Request) => {
          if (new URL(request.url).pathname.endsWith("get-logs") && ++calls === 2) {
            sim.inject(c.fault);
          }
          return original(request);
        };
        const run = await awaitRun(
          h,
          id,
          (await (await h.request(`/api/integrations/${id}/runs`, { method: "POST" })).json())
            .runId,
        );
        equal(run.status, c.status, JSON.stringify(run));
        if (c.hint) {
          equal(c.hint.test(run.hint ?? ""), true, run.hint);
          const view = await (await h.request(`/api/integrations/${id}`)).json();
          equal(view.status, "error");
          equal(c.hint.test(view.lastHint), true);
        }
        equal(calls - 1 <= c.maxCalls + 2, true, `calls ${calls}`);
        // The cursor did not move past what was received: a clean run delivers the rest, once.
        sim.handle = original;
        while (sim.faults.pending > 0) sim.faults.take("/api/ttp/url/get-logs");
        h.clock.advance(60_000);
        const next = await awaitRun(
          h,
          id,
          (await (await h.request(`/api/integrations/${id}/runs`, { method: "POST" })).json())
            .runId,
        );
        equal(next.status, "succeeded");
        const ids = h.receiver.alerts.map((a) => a.id);
        equal(ids.length, 250, c.name);
        equal(new Set(ids).size, 250, c.name);
      } finally {
        await h.close();
      }
    });
  }
});

Deno.test("schema drift: a record that cannot be told apart is kept as invalid, odd fields are dropped, extra fields pass into raw, missing and unknown verdicts are delivered and counted", async () => {
  const t = await testHost();
  try {
    const records: Record<string, unknown>[] = generateRecords("attachment", 6, {
      start: NOW - HOUR,
    }).map((r) => ({ ...r, result: "malicious" }));
    delete records[0].recipientAddress;
    delete records[0].fileHash;
    delete records[0].messageId;
    records[1].fileName = ["not", "a", "string"];
    records[2].newField = { nested: true };
    records[3].result = "quarantined-v2";
    delete records[4].result;
    t.sim.add("attachment", records);
    const { id } = await (await t.request("/api/integrations", {
      method: "POST",
      json: {
        ...integrationBody("2.0", { logTypes: ["attachment"] }),
        schedule: { enabled: false },
      },
    })).json();
    const run = await awaitRun(
      t,
      id,
      (await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" })).json()).runId,
    );
    equal(run.status, "succeeded");
    deepStrictEqual(
      [run.counts.fetched, run.counts.invalid, run.counts.alerts, run.counts.drift],
      [6, 1, 5, 2],
    );
    const invalid = await (await t.request(`/api/integrations/${id}/invalid-records`)).json();
    deepStrictEqual(invalid.map((r: { issues: { path: string; message: string }[] }) => r.issues), [
      [{
        path: "",
        message:
          "Cannot tell the record apart from others: recipientAddress, fileHash and messageId are all missing or empty, so its key would be the time alone",
      }],
    ]);
    const alerts = t.receiver.alerts as unknown as Alert[];
    const byName = (name: string) => alerts.find((a) => a.email.subject === name);
    deepStrictEqual(byName(String(records[1].subject))?.file, {
      type: records[1].fileType,
      sha256: records[1].fileHash,
    });
    deepStrictEqual(byName(String(records[1].subject))?.raw.fileName, ["not", "a", "string"]);
    deepStrictEqual(byName(String(records[2].subject))?.raw.newField, { nested: true });
    equal(byName(String(records[3].subject))?.verdict, "quarantined-v2");
    equal(byName(String(records[4].subject))?.verdict, "unknown");
    const metrics = await (await t.host.app.request("/metrics")).text();
    equal(metrics.includes('host_records_total{outcome="drift"} 2'), true);
  } finally {
    await t.close();
  }
});

Deno.test("50 integrations on one host, triggered in parallel and by the scheduler: one run at a time each, nothing lost, nothing twice", async () => {
  const t = await testHost();
  try {
    for (const logType of ["url", "attachment", "impersonation"] as const) {
      t.sim.add(logType, generateRecords(logType, 120, { start: NOW - 3 * HOUR, stepMs: 30_000 }));
    }
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const response = await t.request("/api/integrations", {
        method: "POST",
        json: {
          ...integrationBody(i % 2 ? "1.0" : "2.0"),
          name: `tenant ${i}`,
          schedule: { enabled: true },
        },
      });
      ids.push((await response.json()).id);
    }
    const expected = 60 + 60 + 120; // half the url and attachment records are clean or safe
    t.clock.advance(11_000); // every integration is due for its first scheduled run
    const [responses, scheduled] = await Promise.all([
      Promise.all(
        ids.flatMap((id) =>
          [1, 2, 3].map(() => t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
        ),
      ),
      Promise.resolve(await t.host.scheduler.tick()),
    ]);
    const statuses = await Promise.all(
      responses.map(async (r) => ({ status: r.status, runId: (await r.json()).runId })),
    );
    const perIntegration = new Map<string, Set<string>>();
    statuses.forEach((s, i) => {
      const id = ids[Math.floor(i / 3)];
      if (!perIntegration.has(id)) perIntegration.set(id, new Set());
      perIntegration.get(id)!.add(s.runId);
    });
    for (const [id, runIds] of perIntegration) {
      equal(runIds.size, 1, `one run for ${id}, got ${[...runIds]}`);
    }
    equal(
      statuses.filter((s) => s.status === 202).length + scheduled.length,
      50,
      "exactly one start per integration",
    );
    equal(
      statuses.filter((s) => s.status === 409).length,
      150 - 50 + scheduled.length,
      "every other trigger got 409",
    );
    await Promise.all(ids.map((id) => t.host.runner.settled(id)));
    for (const id of ids) {
      const runs = await t.host.store.listRuns(id);
      equal(runs.length, 1, `runs of ${id}`);
      equal(runs[0].status, "succeeded", JSON.stringify(runs[0]));
      const got = t.receiver.alerts.filter((a) => a.integrationId === id).map((a) => a.id);
      equal(got.length, expected);
      equal(new Set(got).size, expected);
      equal(await t.host.store.getCheckpoint(id) !== null, true);
    }
    // A second wave finds nothing new: the checkpoints held.
    t.clock.advance(60_000);
    await Promise.all(
      ids.map((id) => t.request(`/api/integrations/${id}/runs`, { method: "POST" })),
    );
    await Promise.all(ids.map((id) => t.host.runner.settled(id)));
    equal(t.receiver.alerts.length, 50 * expected);
  } finally {
    await t.close();
  }
});
