/**
 * The contract's read for the scheduler: every integration's schedule, when its last run ended and
 * its newest run (whatever its kind or state), in creation order, with what the overview says.
 * @module
 */
import { deepEqual } from "node:assert/strict";
import { integration, type Step } from "./_fixtures.ts";

/** The scheduler's steps of the contract suite. */
export const scheduleSteps: Record<string, Step> = {
  "scheduleRows() gives each integration's schedule and newest run, as the overview does": async (
    { store },
  ) => {
    // i1 (from the suite) has r1 running since 12:00.
    await store.insertIntegration(integration("i0", { createdAt: "2026-02-01T00:00:00.000Z" }));
    await store.insertIntegration(
      integration("i2", { createdAt: "2026-03-02T00:00:00.000Z", intervalSeconds: null }),
    );
    await store.insertIntegration(
      integration("i3", {
        createdAt: "2026-03-03T00:00:00.000Z",
        enabled: false,
        intervalSeconds: 900,
      }),
    );
    // i2: a run that ended, then a backfill that ended, then a run interrupted (the newest).
    await store.insertRun({
      id: "a1",
      integrationId: "i2",
      trigger: "schedule",
      startedAt: "2026-03-01T11:00:00.000Z",
    });
    await store.finishRun("a1", { status: "succeeded" });
    await store.setOutcome("i2", {
      error: null,
      hint: null,
      at: "2026-03-01T11:00:02.000Z",
      success: true,
    });
    await store.insertRun({
      id: "a2",
      integrationId: "i2",
      trigger: "manual",
      startedAt: "2026-03-01T11:10:00.000Z",
      backfill: { logTypes: ["url"], from: "a", to: "b", redeliver: false },
    });
    await store.finishRun("a2", { status: "succeeded" });
    await store.insertRun({
      id: "a3",
      integrationId: "i2",
      trigger: "schedule",
      startedAt: "2026-03-01T11:20:00.000Z",
    });
    await store.failInterruptedRuns({ integrationId: "i2" });
    // i0: a backfill going is its newest run.
    await store.insertRun({
      id: "b1",
      integrationId: "i0",
      trigger: "manual",
      startedAt: "2026-03-01T10:00:00.000Z",
      backfill: { logTypes: ["url"], from: "a", to: "b", redeliver: false },
    });

    const rows = await store.scheduleRows();
    deepEqual(
      rows.map((r) => r.id),
      (await store.listIntegrations()).map((r) => r.id),
      "in listIntegrations()'s order",
    );
    deepEqual(rows, [
      {
        id: "i0",
        pluginId: "mimecast",
        enabled: true,
        intervalSeconds: 300,
        lastRunAt: null,
        newestRun: { id: "b1", status: "running", errorCode: null },
      },
      {
        id: "i1",
        pluginId: "mimecast",
        enabled: true,
        intervalSeconds: 300,
        lastRunAt: null,
        newestRun: { id: "r1", status: "running", errorCode: null },
      },
      {
        id: "i2",
        pluginId: "mimecast",
        enabled: true,
        intervalSeconds: null,
        lastRunAt: "2026-03-01T11:00:02.000Z",
        newestRun: { id: "a3", status: "failed", errorCode: "INTERRUPTED" },
      },
      {
        id: "i3",
        pluginId: "mimecast",
        enabled: false,
        intervalSeconds: 900,
        lastRunAt: null,
        newestRun: null,
      },
    ]);
    const overview = await store.overview();
    for (const row of rows) {
      const lastRun = overview.get(row.id)!.lastRun;
      deepEqual(row.newestRun?.id ?? null, lastRun?.id ?? null, `${row.id}: the overview's`);
    }
  },
};
