/**
 * The storage contract's behaviour (SPEC §5.7), written once and run against every
 * implementation of `HostStore`: what the host and its operators rely on, through the contract
 * alone. `contractSuite(name, open)` registers one test whose steps each open a fresh, empty store
 * on a fake clock.
 * @module
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import type { HostStore } from "../../../host/store/contract.ts";
import { INVALID_KEPT } from "../../../host/store/rows.ts";
import { PRUNE_ROWS } from "../../../host/store/alerts.ts";
import { HOUR_MS, hourOf } from "../../../host/store/stream_hours.ts";
import { FakeClock } from "../../_helpers.ts";
import { leaseSteps } from "./_contract_leases.ts";
import { scheduleSteps } from "./_contract_schedule.ts";
import {
  alert,
  integration,
  type OpenStore,
  page,
  pendingBodies,
  type Step,
  T0,
} from "./_fixtures.ts";

const steps: Record<string, Step> = {
  "integrations are inserted, listed in creation order, updated and deleted": async (
    { store, clock },
  ) => {
    await store.insertIntegration(integration("i0", { createdAt: "2026-02-01T00:00:00.000Z" }));
    deepEqual((await store.listIntegrations()).map((i) => i.id), ["i0", "i1"]);
    clock.advance(1000);
    await store.updateIntegration("i1", { name: "Renamed", enabled: false, config: { a: 1 } });
    const i1 = await store.getIntegration("i1");
    equal(i1?.name, "Renamed");
    equal(i1?.enabled, false);
    deepEqual(i1?.config, { a: 1 });
    equal(i1?.destinationUrl, "https://siem.example/hook", "fields not given stay");
    equal(i1?.updatedAt, new Date(T0 + 1000).toISOString());
    equal(i1?.lastSuccessAt, null);
    await store.replaceSecrets([{ id: "i0", secrets: "s0" }, { id: "i1", secrets: "s1" }]);
    equal((await store.getIntegration("i0"))?.secrets, "s0");
    equal((await store.getIntegration("i1"))?.secrets, "s1");
    equal(await store.deleteIntegration("i0"), true);
    equal(await store.deleteIntegration("i0"), false);
    equal(await store.getIntegration("i0"), undefined);
  },

  "enableAfterCheck() turns a waiting integration's schedule on once": async ({ store }) => {
    await store.insertIntegration(integration("i2", { enabled: false, awaitingCheck: true }));
    equal(await store.enableAfterCheck("i2"), true);
    const i2 = await store.getIntegration("i2");
    equal(i2?.enabled, true);
    equal(i2?.awaitingCheck, false);
    await store.updateIntegration("i2", { enabled: false });
    equal(await store.enableAfterCheck("i2"), false, "an operator's pause stays");
    equal((await store.getIntegration("i2"))?.enabled, false);
  },

  "setOutcome() keeps the last success through a failure": async ({ store }) => {
    const at1 = "2026-03-01T12:01:00.000Z";
    const at2 = "2026-03-01T12:02:00.000Z";
    await store.setOutcome("i1", { error: null, hint: null, at: at1, success: true });
    await store.setOutcome("i1", { error: "boom", hint: "fix it", at: at2, success: false });
    const i1 = await store.getIntegration("i1");
    equal(i1?.lastSuccessAt, at1);
    equal(i1?.lastRunAt, at2);
    equal(i1?.lastError, "boom");
    equal(i1?.lastHint, "fix it");
  },

  "storePage() cuts new alerts into batches of batchSize under the envelope, with the checkpoint":
    async ({ store }) => {
      const result = await store.storePage(page([alert("a"), alert("b"), alert("c")]));
      deepEqual(result, { stored: 3, duplicates: 0 });
      deepEqual(await pendingBodies(store), [
        '{"alerts":[{"id":"a"},{"id":"b"}]}',
        '{"alerts":[{"id":"c"}]}',
      ]);
      const batches = [await store.nextPending("i1")];
      batches.push(await store.nextPending("i1", batches[0]!.seq));
      ok(batches[0]!.webhookId.startsWith("msg_"));
      ok(batches[0]!.webhookId !== batches[1]!.webhookId);
      equal(batches[0]!.runId, "r1");
      equal(batches[0]!.alertCount, 2);
      equal(batches[0]!.status, "pending");
      equal(batches[0]!.attempts, 0);
      deepEqual(await store.getCheckpoint("i1"), { cursor: 3 });
      equal(await store.getCheckpoint("nobody"), null);
      const run = await store.getRun("r1");
      equal(run?.counts.fetched, 3);
      equal(run?.counts.alerts, 3);
      equal(run?.counts.duplicates, 0);
      equal((await store.alerts.list({}, { limit: 10 })).length, 3);
    },

  "storePage() drops alert ids already stored within the horizon, and repeats within a page":
    async ({ store }) => {
      await store.storePage(page([alert("a"), alert("b")]));
      const again = await store.storePage(
        page([alert("b"), alert("c"), alert("c")], { checkpoint: { cursor: "second" } }),
      );
      deepEqual(again, { stored: 1, duplicates: 2 });
      deepEqual(await pendingBodies(store), [
        '{"alerts":[{"id":"a"},{"id":"b"}]}',
        '{"alerts":[{"id":"c"}]}',
      ]);
      deepEqual(await store.getCheckpoint("i1"), { cursor: "second" });
      equal((await store.getRun("r1"))?.counts.duplicates, 2);
      equal((await store.alerts.list({}, { limit: 10 })).length, 3);
      // Past the horizon, an id may come back.
      equal(await store.pruneAlertIds("i1", Date.parse("2026-03-01T11:30:00.000Z")), 3);
      deepEqual(await store.storePage(page([alert("a")])), { stored: 1, duplicates: 0 });
    },

  "storePage() with keepAlerts false writes no alerts row, and still batches and remembers ids":
    async ({ store }) => {
      const first = await store.storePage(page([alert("a"), alert("b")], { keepAlerts: false }));
      deepEqual(first, { stored: 2, duplicates: 0 });
      const again = await store.storePage(page([alert("b"), alert("c")], { keepAlerts: false }));
      deepEqual(again, { stored: 1, duplicates: 1 });
      deepEqual(await pendingBodies(store), [
        '{"alerts":[{"id":"a"},{"id":"b"}]}',
        '{"alerts":[{"id":"c"}]}',
      ]);
      deepEqual(await store.alerts.list({}, { limit: 10 }), []);
      equal((await store.getRun("r1"))?.counts.alerts, 3);
      equal((await store.listStreams("i1")).reduce((n, s) => n + s.alerts, 0), 3);
    },

  "a backfill's page keeps no checkpoint, moves no listed time, and replays under new ids": async (
    { store },
  ) => {
    await store.storePage(
      page([alert("a")], { listed: [{ stream: "ttp-url", at: "2026-03-01T11:00:00.000Z" }] }),
    );
    const first = await store.nextPending("i1");
    await store.insertRun({
      id: "b1",
      integrationId: "i1",
      trigger: "api",
      startedAt: "2026-03-01T12:00:00.000Z",
      backfill: {
        logTypes: ["ttp-url"],
        from: "2026-02-01T00:00:00Z",
        to: "2026-02-02T00:00:00Z",
        redeliver: true,
      },
    });
    const result = await store.storePage(
      page([alert("a"), alert("x")], {
        runId: "b1",
        checkpoint: { cursor: "backfill" },
        backfill: { replay: { prefix: '{"replay":true,"alerts":[', suffix: "]}" } },
        listed: [{ stream: "ttp-url", at: "2026-03-01T11:59:00.000Z" }],
      }),
    );
    deepEqual(result, { stored: 1, duplicates: 1 });
    deepEqual(await store.getCheckpoint("i1"), { cursor: 1 }, "the live checkpoint stays");
    deepEqual(await pendingBodies(store), [
      '{"alerts":[{"id":"a"}]}',
      '{"alerts":[{"id":"x"}]}',
      '{"replay":true,"alerts":[{"id":"a"}]}',
    ]);
    const replayed = (await store.listDeadLetters("i1")).length;
    equal(replayed, 0);
    let b = await store.nextPending("i1", first!.seq);
    const ids = new Set([first!.webhookId]);
    for (; b; b = await store.nextPending("i1", b.seq)) ids.add(b.webhookId);
    equal(ids.size, 3, "every batch under a webhook id of its own");
    equal((await store.listStreams("i1"))[0].listedAt, "2026-03-01T11:00:00.000Z");
    const run = await store.getRun("b1");
    equal(run?.kind, "backfill");
    deepEqual(run?.progress, { "ttp-url": "2026-03-01T11:59:00.000Z" });
  },

  "storePage() is all or nothing: a page that fails leaves no trace": async ({ store }) => {
    await store.storePage(page([alert("a")]));
    // A record JSON cannot hold fails the page after its alerts and batches were written.
    const broken = page([alert("b"), alert("c")], {
      checkpoint: { cursor: "broken" },
      invalid: [{ record: { n: 1n }, issues: [] }],
    });
    await rejects(store.storePage(broken));
    deepEqual(await pendingBodies(store), ['{"alerts":[{"id":"a"}]}']);
    deepEqual(await store.getCheckpoint("i1"), { cursor: 1 });
    equal((await store.alerts.list({}, { limit: 10 })).length, 1);
    equal((await store.getRun("r1"))?.counts.alerts, 1);
    deepEqual(await store.storePage(page([alert("b"), alert("c")])), { stored: 2, duplicates: 0 });
  },

  "the outbox hands batches out in order; markDelivered() removes one and credits its run": async (
    { store },
  ) => {
    await store.storePage(page([alert("a"), alert("b"), alert("c")]));
    await store.insertIntegration(integration("i2"));
    deepEqual(await store.integrationsWithPending(), ["i1"]);
    equal(await store.pendingCount("i1"), 2);
    const first = (await store.nextPending("i1"))!;
    await store.noteAttempt(first.seq, "503 from the receiver");
    const tried = (await store.nextPending("i1"))!;
    equal(tried.attempts, 1);
    equal(tried.lastError, "503 from the receiver");
    await store.markDelivered(tried);
    await store.markDelivered(tried);
    equal((await store.getRun("r1"))?.counts.delivered, 2, "credited once");
    equal(await store.pendingCount("i1"), 1);
    await store.markDelivered((await store.nextPending("i1"))!);
    equal((await store.getRun("r1"))?.counts.delivered, 3);
    equal(await store.nextPending("i1"), undefined);
    deepEqual(await store.integrationsWithPending(), []);
  },

  "dead letters: markDead(), list, count, redrive some or all, discard": async ({ store }) => {
    await store.storePage(page([alert("a"), alert("b"), alert("c"), alert("d"), alert("e")]));
    const batches = [];
    for (let b = await store.nextPending("i1"); b; b = await store.nextPending("i1", b.seq)) {
      batches.push(b);
    }
    equal(batches.length, 3);
    for (const b of batches) await store.markDead(b, "410 Gone");
    equal(await store.pendingCount("i1"), 0);
    equal((await store.getRun("r1"))?.counts.deadLettered, 3);
    const dead = await store.listDeadLetters("i1");
    deepEqual(dead.map((d) => d.webhookId), batches.map((b) => b.webhookId));
    equal(dead[0].status, "dead");
    equal(dead[0].lastError, "410 Gone");
    ok(dead[0].deadAt);
    equal((await store.listDeadLetters("i1", 1)).length, 1);
    await store.insertIntegration(integration("i2"));
    equal(await store.deadLetterCount("i1"), 3);
    equal(await store.deadLetterCount("i2"), 0);
    equal(await store.deadLetterCount(), 3);
    equal(await store.redrive("i1", [batches[1].webhookId, "msg_unknown"]), 1);
    const back = (await store.nextPending("i1"))!;
    equal(back.webhookId, batches[1].webhookId, "a redriven batch keeps its webhook id");
    equal(back.attempts, 0);
    equal(await store.discardDeadLetter("i1", batches[0].webhookId), true);
    equal(await store.discardDeadLetter("i1", batches[0].webhookId), false);
    equal(
      await store.discardDeadLetter("i2", batches[2].webhookId),
      false,
      "another integration's",
    );
    equal(await store.redrive("i1"), 1);
    equal(await store.deadLetterCount(), 0);
    equal(await store.pendingCount("i1"), 2);
  },

  "runs record their host, counts and end; listed newest first": async ({ store, clock }) => {
    await store.insertRun({
      id: "r2",
      integrationId: "i1",
      trigger: "api",
      startedAt: "2026-03-01T12:05:00.000Z",
      hostId: "host-b",
    });
    await store.addRunCounts("r2", { fetched: 5, filtered: 1, invalid: 1, drift: 2 });
    await store.addRunCounts("r2", { fetched: 5 });
    clock.advance(60_000);
    await store.finishRun("r2", {
      status: "failed",
      error: "boom",
      errorCode: "PLUGIN_FETCH_FAILED",
      hint: "retry",
    });
    const r2 = (await store.getRun("r2"))!;
    equal(r2.hostId, "host-b");
    equal(r2.kind, "run");
    equal(r2.trigger, "api");
    equal(r2.status, "failed");
    equal(r2.finishedAt, new Date(T0 + 60_000).toISOString());
    deepEqual([r2.error, r2.errorCode, r2.hint], ["boom", "PLUGIN_FETCH_FAILED", "retry"]);
    deepEqual(r2.counts, {
      fetched: 10,
      filtered: 1,
      invalid: 1,
      alerts: 0,
      delivered: 0,
      drift: 2,
      deadLettered: 0,
      duplicates: 0,
    });
    deepEqual(r2.skipped, []);
    deepEqual(r2.notes, {});
    equal(r2.backfill, null);
    equal((await store.getRun("r1"))?.hostId, null);
    await store.finishRun("r1", { status: "succeeded" });
    equal((await store.getRun("r1"))?.error, null);
    deepEqual((await store.listRuns("i1")).map((r) => r.id), ["r2", "r1"]);
    deepEqual((await store.listRuns("i1", 1)).map((r) => r.id), ["r2"]);
    equal(await store.getRun("nope"), undefined);
  },

  "listRunsBefore() pages through runs that started at the same time, each once": async (
    { store },
  ) => {
    const same = "2026-03-01T13:00:00.000Z";
    for (const id of ["t1", "t2", "t3", "t4", "t5"]) {
      await store.insertRun({ id, integrationId: "i1", trigger: "schedule", startedAt: same });
    }
    const all = (await store.listRuns("i1", 100)).map((r) => r.id);
    deepEqual(all, ["t5", "t4", "t3", "t2", "t1", "r1"], "ties newest inserted first");
    const seen: string[] = [];
    let before;
    for (let i = 0; i < 10; i++) {
      const rows = await store.listRunsBefore("i1", { before, limit: 2 });
      if (rows.length === 0) break;
      seen.push(...rows.map((r) => r.run.id));
      before = rows.at(-1)!.position;
    }
    deepEqual(seen, all);
  },

  "failInterruptedRuns() fails what was left running, with a hint per kind": async ({ store }) => {
    await store.insertRun({
      id: "b1",
      integrationId: "i1",
      trigger: "api",
      startedAt: "2026-03-01T12:00:00.000Z",
      backfill: {
        logTypes: ["ttp-url"],
        from: "2026-02-01T00:00:00Z",
        to: "2026-02-02T00:00:00Z",
        redeliver: false,
      },
    });
    await store.insertRun({
      id: "done",
      integrationId: "i1",
      trigger: "api",
      startedAt: "2026-03-01T12:00:00.000Z",
    });
    await store.finishRun("done", { status: "succeeded" });
    equal(await store.failInterruptedRuns(), 2);
    const r1 = (await store.getRun("r1"))!;
    equal(r1.status, "failed");
    equal(r1.errorCode, "INTERRUPTED");
    ok(r1.hint?.includes("resumes"));
    ok((await store.getRun("b1"))!.hint?.includes("backfill"));
    equal((await store.getRun("done"))!.status, "succeeded");
    equal(await store.failInterruptedRuns(), 0);
  },

  "invalid records are kept, newest first, at most INVALID_KEPT per integration": async (
    { store },
  ) => {
    const invalid = Array.from(
      { length: INVALID_KEPT + 5 },
      (_, n) => ({ record: { n }, issues: [{ path: "x", message: "bad" }] }),
    );
    await store.storePage(page([], { invalid }));
    const kept = await store.listInvalid("i1", INVALID_KEPT + 100);
    equal(kept.length, INVALID_KEPT);
    deepEqual(kept[0].record, { n: INVALID_KEPT + 4 });
    deepEqual(kept.at(-1)!.record, { n: 5 });
    deepEqual(kept[0].issues, [{ path: "x", message: "bad" }]);
    equal(kept[0].runId, "r1");
    equal((await store.listInvalid("i1")).length, 50);
  },

  "streams keep their alerts, newest alert, listed time and skipped span; runs their progress and notes":
    async ({ store }) => {
      const span = {
        stream: "siem",
        from: "2026-02-01T00:00:00.000Z",
        to: "2026-02-10T00:00:00.000Z",
        reason: "retention",
      };
      await store.storePage(page([
        alert("a", { at: "2026-03-01T10:00:00.000Z" }),
        alert("b", { at: "2026-03-01T11:30:00.000Z" }),
        alert("c", { stream: "siem", at: "2026-03-01T09:00:00.000Z" }),
      ], {
        listed: [{ stream: "ttp-url", at: "2026-03-01T11:40:00.000Z" }],
        skipped: [span],
        notes: { rejected: 2 },
      }));
      await store.storePage(page([alert("d", { at: "2026-03-01T10:30:00.000Z" })], {
        listed: [{ stream: "ttp-url", at: "2026-03-01T11:50:00.000Z" }, {
          stream: "siem",
          at: "2026-03-01T11:00:00.000Z",
        }],
        notes: { rejected: 1, late: 4 },
      }));
      deepEqual(await store.listStreams("i1"), [
        {
          logType: "siem",
          newestAt: "2026-03-01T09:00:00.000Z",
          listedAt: "2026-03-01T11:00:00.000Z",
          alerts: 1,
          skipped: span,
        },
        {
          logType: "ttp-url",
          newestAt: "2026-03-01T11:30:00.000Z",
          listedAt: "2026-03-01T11:50:00.000Z",
          alerts: 3,
          skipped: null,
        },
      ]);
      const run = (await store.getRun("r1"))!;
      deepEqual(run.skipped, [span]);
      deepEqual(run.notes, { rejected: 3, late: 4 });
      deepEqual(run.progress, {
        "ttp-url": "2026-03-01T11:50:00.000Z",
        siem: "2026-03-01T11:00:00.000Z",
      });
    },

  "alerts are listed newest first, filtered, searched case-insensitively and paged by cursor":
    async ({ store }) => {
      await store.insertIntegration(integration("i2"));
      await store.insertRun({
        id: "r2",
        integrationId: "i2",
        trigger: "api",
        startedAt: "2026-03-01T12:00:00.000Z",
      });
      await store.storePage(page([
        alert("a", {
          at: "2026-03-01T10:00:00.000Z",
          summary: { alertType: "url", sender: "Éva@Example.com", subject: "Invoice" },
        }),
        alert("b", {
          at: "2026-03-01T11:00:00.000Z",
          summary: { alertType: "attachment", threatId: "T1", fileName: "x.exe" },
        }),
        alert("c", {
          stream: "siem",
          at: "2026-03-01T11:00:00.000Z",
          summary: { alertType: "url", url: "https://bad.example/" },
        }),
        alert("n", { at: null }),
      ]));
      await store.storePage(
        page([alert("z", { at: "2026-03-01T09:00:00.000Z", summary: { alertType: "url" } })], {
          integrationId: "i2",
          runId: "r2",
        }),
      );
      const ids = async (filter: Parameters<HostStore["alerts"]["list"]>[0]) =>
        (await store.alerts.list(filter, { limit: 100 })).map((a) => a.id);
      deepEqual(await ids({}), ["n", "c", "b", "a", "z"], "newest first, ties by the later stored");
      deepEqual(await ids({ integrationId: "i2" }), ["z"]);
      deepEqual(await ids({ logType: "siem" }), ["c"]);
      deepEqual(await ids({ alertType: "url", integrationId: "i1" }), ["c", "a"]);
      deepEqual(await ids({ threatId: "T1" }), ["b"]);
      deepEqual(
        await ids({
          fromMs: Date.parse("2026-03-01T10:00:00.000Z"),
          toMs: Date.parse("2026-03-01T11:00:00.000Z"),
        }),
        ["a"],
      );
      deepEqual(await ids({ q: "ÉVA@example" }), ["a"]);
      deepEqual(await ids({ q: "bad.EXAMPLE" }), ["c"]);
      deepEqual(await ids({ q: "nothing" }), []);
      const a = (await store.alerts.list({ q: "invoice" }, { limit: 1 }))[0];
      deepEqual(
        [
          a.integrationId,
          a.runId,
          a.logType,
          a.alertType,
          a.sender,
          a.subject,
          a.json,
          a.occurredMs,
          a.storedMs,
        ],
        [
          "i1",
          "r1",
          "ttp-url",
          "url",
          "Éva@Example.com",
          "Invoice",
          '{"id":"a"}',
          Date.parse("2026-03-01T10:00:00.000Z"),
          T0,
        ],
      );
      equal(a.threatId, undefined);
      const paged: string[] = [];
      let before;
      for (let i = 0; i < 10; i++) {
        const rows = await store.alerts.list({}, { before, limit: 2 });
        if (rows.length === 0) break;
        paged.push(...rows.map((r) => r.id));
        before = { occurredMs: rows.at(-1)!.occurredMs, seq: rows.at(-1)!.seq };
      }
      deepEqual(paged, ["n", "c", "b", "a", "z"]);
    },

  "alerts.prune() deletes alerts stored before a time, at most PRUNE_ROWS at once": async (
    { store, clock },
  ) => {
    const many = Array.from({ length: PRUNE_ROWS + 3 }, (_, n) => alert(`old${n}`));
    await store.storePage(page(many, { batchSize: 1000 }));
    clock.advance(HOUR_MS);
    await store.storePage(page([alert("new")]));
    equal(await store.alerts.prune(T0 + 1), PRUNE_ROWS);
    equal(await store.alerts.prune(T0 + 1), 3);
    equal(await store.alerts.prune(T0 + 1), 0);
    deepEqual((await store.alerts.list({}, { limit: 10 })).map((a) => a.id), ["new"]);
  },

  "a batch keeps its body byte for byte when the alerts it carries are pruned while it waits":
    async ({ store, clock }) => {
      await store.storePage(page([alert("a"), alert("b"), alert("c")], { batchSize: 2 }));
      const first = (await store.nextPending("i1"))!;
      const second = (await store.nextPending("i1", first.seq))!;
      deepEqual([first.body, second.body], [
        `{"alerts":[{"id":"a"},{"id":"b"}]}`,
        `{"alerts":[{"id":"c"}]}`,
      ]);
      await store.markDead(second, "503");
      clock.advance(HOUR_MS);
      equal(await store.alerts.prune(T0 + 1), 3);
      deepEqual((await store.nextPending("i1"))!.body, first.body);
      deepEqual((await store.listDeadLetters("i1")).map((b) => b.body), [second.body]);
    },

  "stream hours count stored alerts and keep the largest lag per hour": async (
    { store, clock },
  ) => {
    await store.storePage(page([alert("a"), alert("b"), alert("c", { stream: "siem" })]));
    clock.advance(HOUR_MS);
    await store.storePage(page([alert("d")]));
    await store.hours.noteLags("i1", [{ logType: "ttp-url", lagSeconds: 30 }], clock.ms);
    await store.hours.noteLags("i1", [{ logType: "ttp-url", lagSeconds: 10 }], clock.ms);
    const h0 = hourOf(T0);
    const h1 = h0 + HOUR_MS;
    deepEqual(await store.hours.list("i1", h0, h1 + HOUR_MS), [
      { logType: "siem", hourMs: h0, alerts: 1, lagSeconds: null },
      { logType: "ttp-url", hourMs: h0, alerts: 2, lagSeconds: null },
      { logType: "ttp-url", hourMs: h1, alerts: 1, lagSeconds: 30 },
    ]);
    deepEqual(await store.hours.list("i1", h1, h1 + HOUR_MS), [{
      logType: "ttp-url",
      hourMs: h1,
      alerts: 1,
      lagSeconds: 30,
    }]);
    const byIntegration = (await store.hours.alertsByIntegration(h0, h1 + HOUR_MS))
      .sort((x, y) => x.hourMs - y.hourMs);
    deepEqual(byIntegration, [
      { integrationId: "i1", hourMs: h0, alerts: 3 },
      { integrationId: "i1", hourMs: h1, alerts: 1 },
    ]);
    equal(await store.hours.prune(h1), 2);
    equal((await store.hours.list("i1", h0, h1 + HOUR_MS)).length, 1);
  },

  "sessions are found by their id, deleted, and pruned when expired": async ({ store }) => {
    await store.sessions.add("sid-1", { csrf: "c1", expiresMs: T0 + 1000 }, T0);
    await store.sessions.add("sid-2", { csrf: "c2", expiresMs: T0 + 5000 }, T0);
    deepEqual(await store.sessions.get("sid-1"), { csrf: "c1", expiresMs: T0 + 1000 });
    equal(await store.sessions.get("sid-3"), undefined);
    await store.sessions.delete("sid-1");
    equal(await store.sessions.get("sid-1"), undefined);
    equal(await store.sessions.prune(T0 + 6000), 1);
    equal(await store.sessions.get("sid-2"), undefined);
    await store.sessions.add("sid-4", { csrf: "c4", expiresMs: T0 }, T0);
    await store.sessions.add("sid-5", { csrf: "c5", expiresMs: T0 + 9000 }, T0 + 1000);
    equal(await store.sessions.get("sid-4"), undefined, "add() prunes the ended ones");
  },

  "a session's notice is kept for its next page, shown once, the last one set winning": async (
    { store },
  ) => {
    await store.sessions.add("sid-1", { csrf: "c1", expiresMs: T0 + 60_000 }, T0);
    await store.sessions.add("sid-2", { csrf: "c2", expiresMs: T0 + 60_000 }, T0);
    equal(await store.sessions.takeFlash("sid-1"), undefined);
    await store.sessions.setFlash("sid-1", "Run r1 started.");
    await store.sessions.setFlash("sid-1", "Saved.");
    equal(await store.sessions.takeFlash("sid-2"), undefined, "another session's is its own");
    equal(await store.sessions.takeFlash("sid-1"), "Saved.");
    equal(await store.sessions.takeFlash("sid-1"), undefined, "shown once");
    await store.sessions.setFlash("nobody", "lost");
    equal(await store.sessions.takeFlash("nobody"), undefined, "no session, no notice");
  },

  "totals() sums runs by status, records, and each integration's outbox": async ({ store }) => {
    await store.insertIntegration(integration("i2"));
    await store.insertRun({
      id: "r2",
      integrationId: "i2",
      trigger: "api",
      startedAt: "2026-03-01T12:00:00.000Z",
    });
    await store.storePage(
      page([alert("a"), alert("b"), alert("c")], {
        counts: { fetched: 7, filtered: 2, invalid: 1, drift: 1 },
      }),
    );
    await store.storePage(
      page([alert("a"), alert("z")], { integrationId: "i2", runId: "r2", batchSize: 1 }),
    );
    await store.storePage(page([alert("z")], { integrationId: "i2", runId: "r2" }));
    await store.markDelivered((await store.nextPending("i1"))!);
    await store.markDead((await store.nextPending("i2"))!, "gone");
    await store.finishRun("r1", { status: "succeeded" });
    const totals = await store.totals();
    const counted = (o: Record<string, number>) => Object.entries(o).filter(([, n]) => n > 0);
    deepEqual(counted(totals.runsByStatus).sort(), [["running", 1], ["succeeded", 1]]);
    deepEqual(totals.records, {
      fetched: 10,
      filtered: 2,
      invalid: 1,
      drift: 1,
      duplicates: 1,
      alerts: 5,
      delivered: 2,
    });
    deepEqual(totals.outbox.i1, { pending: 1, dead: 0 });
    deepEqual(totals.outbox.i2, { pending: 1, dead: 1 });
  },

  "overview() gives every integration's newest runs, streams and outbox at once": async (
    { store },
  ) => {
    await store.insertIntegration(integration("i2"));
    await store.insertIntegration(integration("i3"));
    // i1: r1 ended, then a backfill ended, then a live run still going.
    await store.storePage(
      page([alert("a"), alert("b"), alert("c")], {
        listed: [{ stream: "ttp-url", at: "2026-03-01T11:30:00Z" }],
      }),
    );
    await store.markDead((await store.nextPending("i1"))!, "gone");
    await store.finishRun("r1", { status: "failed", error: "x" });
    await store.insertRun({
      id: "b1",
      integrationId: "i1",
      trigger: "manual",
      startedAt: "2026-03-01T12:10:00.000Z",
      backfill: { logTypes: ["url"], from: "a", to: "b", redeliver: false },
    });
    await store.finishRun("b1", { status: "succeeded" });
    await store.insertRun({
      id: "r3",
      integrationId: "i1",
      trigger: "schedule",
      startedAt: "2026-03-01T12:20:00.000Z",
    });
    // i2: one run, going.
    await store.insertRun({
      id: "r2",
      integrationId: "i2",
      trigger: "schedule",
      startedAt: "2026-03-01T12:00:00.000Z",
    });
    const all = await store.overview();
    deepEqual([...all.keys()].sort(), ["i1", "i2", "i3"]);
    const i1 = all.get("i1")!;
    equal(i1.lastRun?.id, "r3");
    equal(i1.lastFinished?.id, "r1", "a backfill's end is not the live pipeline's");
    deepEqual(i1.streams.map((s) => [s.logType, s.alerts, s.listedAt]), [
      ["ttp-url", 3, "2026-03-01T11:30:00Z"],
    ]);
    deepEqual([i1.pending, i1.dead], [1, 1]);
    deepEqual(await store.listStreams("i1"), i1.streams);
    const i2 = all.get("i2")!;
    deepEqual([i2.lastRun?.id, i2.lastFinished, i2.streams, i2.pending, i2.dead], [
      "r2",
      null,
      [],
      0,
      0,
    ]);
    deepEqual(all.get("i3"), {
      lastRun: null,
      lastFinished: null,
      streams: [],
      pending: 0,
      dead: 0,
    });
  },

  ...leaseSteps,
  ...scheduleSteps,
};

/** Registers `name`'s run of the contract: one test, a step per behaviour, a fresh store each. */
export function contractSuite(
  name: string,
  open: OpenStore,
  hooks: { before?: () => Promise<void>; after?: () => Promise<void> } = {},
): void {
  Deno.test(`${name} keeps the storage contract`, async (t) => {
    await hooks.before?.();
    try {
      for (const [behaviour, step] of Object.entries(steps)) {
        await t.step(behaviour, async () => {
          const clock = new FakeClock(T0);
          const store = await open(clock.now);
          try {
            await store.insertIntegration(integration("i1"));
            await store.insertRun({
              id: "r1",
              integrationId: "i1",
              trigger: "schedule",
              startedAt: "2026-03-01T12:00:00.000Z",
            });
            await step({ store, clock });
          } finally {
            await store.close();
          }
        });
      }
    } finally {
      await hooks.after?.();
    }
  });
}

export type { OpenStore };
