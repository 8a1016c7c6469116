/**
 * A small run of the end-to-end benchmark: it checks that the pipeline completes through real
 * processes and that Mimecast is called exactly the minimum number of times (one call per page
 * plus one token), and that its CPU figures count the processes they name, not timings.
 */
import { equal, ok } from "node:assert/strict";
import { measure } from "../../bench/e2e.ts";

Deno.test("bench smoke: 1,050 records per log type arrive with exactly one Mimecast call per page", async () => {
  const result = await measure(1050);
  equal(result.runStatus, "succeeded");
  equal(result.records, 3 * 1050);
  equal(result.alerts, 1050 / 2 + 1050 / 2 + 1050); // url and attachment: half clean or safe
  equal(result.minimumCalls, 3 * 11);
  equal(result.mimecastCalls, result.minimumCalls);
  equal(result.tokenCalls, 1);
  equal(result.webhookRequests, 3 * 11);
  // The sandbox is a child of the host, and the run's CPU takes in the host's: a meter reading
  // the wrong process breaks one of these.
  ok(result.sandboxCpuSeconds > 0 && result.sandboxCpuSeconds <= result.hostCpuSeconds, "sandbox");
  ok(result.runCpuSeconds >= result.hostCpuSeconds - 0.05, "run CPU takes in the host's");
  ok(result.bareCpuSeconds > 0, "bare pipe CPU");
  equal(result.cpuRatio, Math.round(result.runCpuSeconds / result.bareCpuSeconds * 100) / 100);
});
