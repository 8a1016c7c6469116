/**
 * A small run of the scale benchmark (bench/scale.ts): it checks that the scheduler, not the API,
 * runs exactly the integrations the benchmark made due (and none of the others), each with one
 * token and one empty page per log type when idle, that active ones deliver alerts, and that the
 * figures come out as numbers, not timings.
 */
import { equal, ok } from "node:assert/strict";
import { measure } from "../../bench/scale.ts";
import { capacity, derive } from "../../bench/_scale_report.ts";

Deno.test("bench smoke: the scale benchmark's scheduled runs are exactly the due ones", async () => {
  const result = await measure({
    integrations: 12,
    activeShare: 0.25,
    intervalSeconds: 300,
    latencyMs: 0,
    stepMs: 1000,
    idleRuns: 4,
    activeRuns: 2,
    quietSeconds: 1,
    steadySeconds: 0,
  });
  equal(result.activeCount, 3);
  const [empty, none, idle, active] = result.phases;
  equal(empty.runs + none.runs, 0);
  equal(idle.runs, 4);
  equal(idle.failed, 0);
  equal(idle.tokenCalls, 4);
  equal(idle.mimecastCalls, 4 * 3);
  equal(idle.records, 0);
  equal(active.runs, 2);
  equal(active.failed, 0);
  equal(active.tokenCalls, 2);
  ok(active.records! > 0 && active.alerts! > 0, `active runs delivered ${active.alerts} alerts`);
  const d = derive(result);
  ok(d.idleRun > 0 && d.activeRun > 0, `CPU per run: idle ${d.idleRun}, active ${d.activeRun}`);
  const c = capacity(d, { cores: 2, intervalSeconds: 300, share: 0.25, measuredInterval: 300 });
  ok(Number.isFinite(c.carried) && c.carried > 0, `carried ${c.carried}`);
});
