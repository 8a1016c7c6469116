/**
 * A full disk (SPEC §5.3): SQLite's `max_page_count` makes writes fail with SQLITE_FULL exactly as
 * a full disk does, without filling one. The error that surfaces is the disk's, with a hint.
 */
import { equal, match, ok, rejects } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { HostError } from "../../host/errors.ts";
import type { PageWrite } from "../../host/store/mod.ts";
import { SqliteStore } from "../../host/store/sqlite/mod.ts";
import { integration } from "./store/_fixtures.ts";
import { awaitRun, integrationBody, NOW, testHost } from "./_host.ts";

/** Caps the database at the pages it has now: the next write that needs a page fails. */
function fillDisk(store: SqliteStore): () => void {
  const { page_count } = store.db.prepare("PRAGMA page_count").get() as { page_count: number };
  store.db.exec(`PRAGMA max_page_count = ${page_count}`);
  return () => store.db.exec("PRAGMA max_page_count = 1073741823");
}

function page(runId: string, n: number): PageWrite {
  return {
    integrationId: "i1",
    runId,
    alerts: Array.from({ length: n }, (_, i) => ({
      id: `${runId}-${i}`,
      stream: "url",
      occurredAt: new Date(NOW).toISOString(),
      json: JSON.stringify({ id: `${runId}-${i}`, padding: "x".repeat(2000) }),
      summary: {},
    })),
    envelope: { prefix: '{"alerts":[', suffix: "]}" },
    batchSize: 100,
    checkpoint: { at: runId },
    invalid: [],
    listed: [],
    skipped: [],
    counts: { fetched: n, filtered: 0, invalid: 0, drift: 0 },
    notes: {},
  };
}

Deno.test("a page stored on a full disk fails with the disk's error and a hint, and the store keeps working", async () => {
  const dir = await Deno.makeTempDir();
  const store = new SqliteStore(`${dir}/host.sqlite`);
  try {
    const at = new Date(NOW).toISOString();
    await store.insertIntegration(
      integration("i1", {
        name: "full",
        config: {},
        intervalSeconds: null,
        createdAt: at,
        updatedAt: at,
      }),
    );
    await store.insertRun({ id: "r1", integrationId: "i1", trigger: "manual", startedAt: at });
    const free = fillDisk(store);
    await rejects(() => store.storePage(page("r1", 50)), (e: HostError) => {
      equal(e.code, "STORAGE_FAILED");
      match(e.message, /database or disk is full/);
      match(e.hint ?? "", /Free space on the disk that holds .*host\.sqlite/);
      return true;
    });
    // Nothing of the page was kept, and no transaction is left open.
    equal(store.db.isTransaction, false);
    equal(await store.pendingCount("i1"), 0);
    equal(await store.getCheckpoint("i1"), null);
    free();
    equal((await store.storePage(page("r1", 50))).stored, 50);
    equal(await store.pendingCount("i1"), 1);
    equal((await store.getCheckpoint("i1") as { at: string }).at, "r1");
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a run on a full disk fails naming the disk, with a hint; the next one after freeing space delivers everything", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 40, { start: NOW - 3_600_000 }));
    const created = await t.request("/api/integrations", {
      method: "POST",
      json: integrationBody("2.0", { logTypes: ["url"] }),
    });
    const { id } = await created.json();
    const free = fillDisk(t.host.store as SqliteStore);
    const started = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    const failed = await awaitRun(t, id, started.runId);
    equal(failed.status, "failed");
    equal(failed.code, "STORAGE_FAILED");
    match(failed.error, /database or disk is full/);
    equal(/no transaction is active/.test(failed.error), false);
    match(failed.hint, /Free space/);
    const integration = await (await t.request(`/api/integrations/${id}`)).json();
    equal(integration.status, "error");
    match(integration.lastHint, /Free space/);
    equal(t.receiver.alerts.length, 0);

    free();
    const again = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    equal((await awaitRun(t, id, again.runId)).status, "succeeded");
    ok(t.receiver.alerts.length > 0);
    equal(new Set(t.receiver.alerts.map((a) => a.id)).size, t.receiver.alerts.length);
  } finally {
    await t.close();
  }
});

Deno.test("a run whose end cannot be recorded (the disk full even for that) is logged; the host keeps going", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 20, { start: NOW - 3_600_000, stepMs: 30_000 }));
    const created = await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { enabled: false } },
    });
    const { id } = await created.json();
    // Every write of a run's end fails, as on a disk full even for a few bytes.
    const store = t.host.store;
    const finishRun = store.finishRun.bind(store);
    store.finishRun = () => {
      throw new HostError("STORAGE_FAILED", "Cannot write: database or disk is full");
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      unhandled.push(event.reason);
    };
    globalThis.addEventListener("unhandledrejection", onUnhandled);
    try {
      const started = await t.request(`/api/integrations/${id}/runs`, { method: "POST" });
      equal(started.status, 202);
      await t.host.runner.settled(id);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      globalThis.removeEventListener("unhandledrejection", onUnhandled);
      store.finishRun = finishRun;
    }
    equal(unhandled.length, 0, `unhandled: ${unhandled}`);
    const line = t.logLines.find((l) => l.includes("Cannot record the end of a run"));
    ok(line, "the log says the run's end could not be recorded");
    match(line!, /database or disk is full/);
    equal((await t.request("/healthz")).status, 200);
  } finally {
    await t.close();
  }
});
