/**
 * Bounded runs over the API (SPEC §3.2, §5.3, §5.5): a pagination that never ends is cut at
 * `maxPagesPerRun` and the next run continues; one that repeats a page token fails with a clear
 * error; `POST /api/runs/:id/cancel` stops a run within seconds and keeps what it stored;
 * deleting an integration cancels its run first; a cursor older than Mimecast's retention
 * resumes at the oldest time served and the run and integration say which span was not read.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { awaitRun, integrationBody, NOW, testHost } from "./_host.ts";

const DAY = 86_400_000;

/** A page of one malicious click dated `at`, with a fresh page token (or `token`). */
function endlessPage(n: number, token = `endless-${n}`) {
  const [record] = generateRecords("url", 1, { start: NOW - 3_600_000 + n * 1000, offset: n });
  return {
    meta: { status: 200, pagination: { pageSize: 1, next: token } },
    data: [{ clickLogs: [{ ...record, scanResult: "malicious" }] }],
    fail: [],
  };
}

/** Click logs that never end, a page every 10 ms: a run that goes on until it is stopped. */
function slowEndlessPagination(t: Awaited<ReturnType<typeof testHost>>) {
  t.sim.inject({
    kind: "page",
    path: "/api/ttp/url/get-logs",
    times: 100_000,
    delayMs: 10,
    page: endlessPage,
  });
}

async function create(t: Awaited<ReturnType<typeof testHost>>, extra = {}) {
  const body = integrationBody("2.0", { logTypes: ["url"], ...extra });
  const response = await t.request("/api/integrations", { method: "POST", json: body });
  equal(response.status, 201);
  return (await response.json()).id as string;
}

async function startRun(t: Awaited<ReturnType<typeof testHost>>, id: string): Promise<string> {
  const response = await t.request(`/api/integrations/${id}/runs`, { method: "POST" });
  equal(response.status, 202);
  return (await response.json()).runId;
}

Deno.test("a pagination that never ends stops at maxPagesPerRun; the next run continues from there", async () => {
  const t = await testHost();
  try {
    const id = await create(t, { maxPagesPerRun: 5 });
    t.sim.inject({ kind: "page", path: "/api/ttp/url/get-logs", times: 1000, page: endlessPage });
    const run = await awaitRun(t, id, await startRun(t, id));
    equal(run.status, "succeeded");
    equal(run.counts.alerts, 5);
    equal(t.sim.logCalls, 5);
    ok(t.logLines.some((l) => l.includes("Read the most pages a run may read")));
    const next = await awaitRun(t, id, await startRun(t, id));
    equal(next.status, "succeeded");
    equal(t.sim.logCalls, 10);
    equal(t.receiver.alerts.length, 10);
  } finally {
    await t.close();
  }
});

Deno.test("a pagination that repeats a page token fails the run with a clear error", async () => {
  const t = await testHost();
  try {
    // One page at a time: these faked pages answer every query alike, so the repeat must come
    // within the one pagination (sub-windows would each be a pagination of their own).
    const id = await create(t, { concurrentCalls: 1 });
    t.sim.inject({
      kind: "page",
      path: "/api/ttp/url/get-logs",
      times: 1000,
      page: (n) => endlessPage(n, n % 3 === 2 ? "again" : `token-${n % 3}`),
    });
    const run = await awaitRun(t, id, await startRun(t, id));
    equal(run.status, "failed");
    match(run.error, /page token it had already given/);
    ok(t.sim.logCalls < 10);
  } finally {
    await t.close();
  }
});

Deno.test("cancel stops a running run within seconds; what it stored stays and is delivered", async () => {
  const t = await testHost();
  try {
    const id = await create(t);
    slowEndlessPagination(t);
    const runId = await startRun(t, id);
    const deadline = Date.now() + 10_000;
    while (t.receiver.alerts.length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const asked = Date.now();
    const response = await t.request(`/api/runs/${runId}/cancel`, { method: "POST" });
    const took = Date.now() - asked;
    equal(response.status, 200);
    const run = await response.json();
    equal(run.status, "cancelled");
    ok(took < 5000, `the cancel took ${took} ms`);
    ok(run.counts.alerts >= 3);
    const until = Date.now() + 5000;
    while (t.receiver.alerts.length < run.counts.alerts && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    equal(t.receiver.alerts.length, run.counts.alerts, "everything stored was delivered");
    const calls = t.sim.logCalls;
    await new Promise((r) => setTimeout(r, 100));
    equal(t.sim.logCalls, calls, "no call after the cancel");
    const again = await t.request(`/api/runs/${runId}/cancel`, { method: "POST" });
    equal(again.status, 409);
    equal((await t.request("/api/runs/no-such-run/cancel", { method: "POST" })).status, 404);
    const view = await (await t.request(`/api/integrations/${id}`)).json();
    equal(view.runningRunId, null);
  } finally {
    await t.close();
  }
});

Deno.test("deleting an integration cancels its run first", async () => {
  const t = await testHost();
  try {
    const id = await create(t);
    slowEndlessPagination(t);
    await startRun(t, id);
    await new Promise((r) => setTimeout(r, 100));
    equal((await t.request(`/api/integrations/${id}`, { method: "DELETE" })).status, 204);
    equal(t.host.runner.runningId(id), undefined);
    const calls = t.sim.logCalls;
    await new Promise((r) => setTimeout(r, 100));
    equal(t.sim.logCalls, calls);
    equal((await t.request(`/api/integrations/${id}`)).status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("a cursor older than Mimecast's 30-day retention resumes at the oldest time served and says what was not read", async () => {
  const t = await testHost();
  try {
    const id = await create(t);
    await awaitRun(t, id, await startRun(t, id));
    t.clock.advance(40 * DAY); // paused for 40 days
    const now = t.clock.now();
    t.sim.add(
      "url",
      generateRecords("url", 20, { start: now - 29 * DAY, stepMs: 3_600_000 }).map((r) => ({
        ...r,
        scanResult: "malicious",
      })),
    );
    const run = await awaitRun(t, id, await startRun(t, id));
    equal(run.status, "succeeded");
    equal(run.counts.alerts, 20);
    equal(run.skipped.length, 1);
    equal(run.skipped[0].stream, "url");
    equal(run.skipped[0].from, "2025-03-04T11:30:00Z");
    equal(
      run.skipped[0].to,
      new Date(now - 30 * DAY + 15 * 60_000).toISOString().slice(0, 19) + "Z",
    );
    match(run.skipped[0].reason, /30 days/);
    const body = t.sim.bodies.at(-1)!.body as { data: { from: string }[] };
    equal(body.data[0].from, run.skipped[0].to.replace("Z", "+0000"));
    const view = await (await t.request(`/api/integrations/${id}`)).json();
    deepStrictEqual(view.streams.find((s: { logType: string }) => s.logType === "url").skipped, {
      ...run.skipped[0],
    });
  } finally {
    await t.close();
  }
});
