/**
 * The contract's leases (SPEC §5.7): one owner at a time, expiry on the database's clock, growing
 * fencing tokens, and fenced writes that a host which lost its lease cannot make.
 * @module
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { LeaseLostError } from "../../../host/store/contract.ts";
import { alert, page, pendingBodies, type Step, T0 } from "./_fixtures.ts";

/** Lease lengths short enough to wait out in a test (seconds). */
const SHORT = 0.3;
const LONG = 60;

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The lease steps of the contract suite. */
export const leaseSteps: Record<string, Step> = {
  "a lease has one owner at a time; it is renewed, released, and taken over with a higher token":
    async ({ store }) => {
      const a = await store.acquireLease("i1", "host-a", LONG);
      ok(a);
      equal(a.owner, "host-a");
      equal(a.integrationId, "i1");
      equal(await store.acquireLease("i1", "host-b", LONG), undefined, "held by host-a");
      deepEqual(await store.currentLease("i1"), a);
      equal(await store.renewLease(a, LONG), true);
      const again = await store.acquireLease("i1", "host-a", LONG);
      ok(again && again.token > a.token, "every acquisition raises the token");
      equal(await store.renewLease(a, LONG), false, "the older token is no longer the lease");
      await store.releaseLease(again);
      equal(await store.currentLease("i1"), undefined);
      equal(await store.renewLease(again, LONG), false, "a released lease is not renewed");
      const b = await store.acquireLease("i1", "host-b", LONG);
      ok(b && b.token > again.token, "taken at once after a release, with a higher token");
      equal(await store.currentLease("other"), undefined);
    },

  "an expired lease is lost: another host takes it over with a higher token": async ({ store }) => {
    const a = (await store.acquireLease("i1", "host-a", SHORT))!;
    equal(await store.acquireLease("i1", "host-b", LONG), undefined);
    await wait(SHORT * 1000 + 200);
    equal(await store.currentLease("i1"), undefined);
    const b = await store.acquireLease("i1", "host-b", LONG);
    ok(b && b.token > a.token);
    equal(await store.renewLease(a, LONG), false);
    equal(await store.acquireLease("i1", "host-a", LONG), undefined);
    deepEqual(await store.currentLease("i1"), b);
  },

  "fenced writes with a lost lease throw LeaseLostError and write nothing": async ({ store }) => {
    const a = (await store.acquireLease("i1", "host-a", SHORT))!;
    deepEqual(await store.storePage(page([alert("a")]), a), { stored: 1, duplicates: 0 });
    await wait(SHORT * 1000 + 200);
    const b = (await store.acquireLease("i1", "host-b", LONG))!;
    await rejects(
      store.storePage(page([alert("x")], { checkpoint: { cursor: "stale" } }), a),
      LeaseLostError,
    );
    await rejects(store.finishRun("r1", { status: "succeeded" }, a), LeaseLostError);
    await rejects(
      store.setOutcome("i1", {
        error: null,
        hint: null,
        at: new Date(T0).toISOString(),
        success: true,
      }, a),
      LeaseLostError,
    );
    deepEqual(await pendingBodies(store), ['{"alerts":[{"id":"a"}]}']);
    deepEqual(await store.getCheckpoint("i1"), { cursor: 1 });
    const run = (await store.getRun("r1"))!;
    equal(run.status, "running");
    equal(run.counts.alerts, 1);
    equal((await store.getIntegration("i1"))?.lastRunAt, null);
    equal((await store.alerts.list({}, { limit: 10 })).length, 1);
    // The new owner's writes go through.
    deepEqual(await store.storePage(page([alert("x")]), b), { stored: 1, duplicates: 0 });
    await store.finishRun("r1", { status: "succeeded" }, b);
    equal((await store.getRun("r1"))?.status, "succeeded");
  },

  "failInterruptedRuns({ expiredOnly }) leaves the runs of live leases alone": async (
    { store },
  ) => {
    await store.insertIntegration({ ...(await store.getIntegration("i1"))!, id: "i2" });
    await store.insertRun({
      id: "r2",
      integrationId: "i2",
      trigger: "api",
      startedAt: "2026-03-01T12:00:00.000Z",
    });
    await store.acquireLease("i1", "host-a", LONG);
    await store.acquireLease("i2", "host-b", SHORT);
    await wait(SHORT * 1000 + 200);
    equal(await store.failInterruptedRuns({ expiredOnly: true }), 1);
    equal((await store.getRun("r1"))?.status, "running", "host-a still runs it");
    equal((await store.getRun("r2"))?.status, "failed");
  },
};
