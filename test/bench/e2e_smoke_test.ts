/**
 * A small run of the end-to-end benchmark: it checks that the pipeline completes through real
 * processes and that Mimecast is called exactly the minimum number of times (one call per page
 * plus one token), not timings.
 */
import { equal } from "node:assert/strict";
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
});
