import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { systemClock } from "../../host/clock.ts";
import { RateBudget } from "../../plugin/budget.ts";

const quota = (remaining: number, reset = 0) =>
  new Headers({ "X-RateLimit-Remaining": String(remaining), "X-RateLimit-Reset": String(reset) });
const signal = new AbortController().signal;

/** Starts `n` acquires and says which of them were granted within `ms`. */
async function granted(budget: RateBudget, n: number, ms = 20) {
  const got: number[] = [];
  const releases = Array.from({ length: n }, (_, i) =>
    budget.acquire(signal).then((release) => {
      got.push(i);
      return release;
    }));
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { got, releases };
}

Deno.test("RateBudget sends one call until the first answer, then up to maxInFlight", async () => {
  const budget = new RateBudget(systemClock, { maxInFlight: 3, maxWaitMs: 300_000 });
  const { got, releases } = await granted(budget, 5);
  deepStrictEqual(got, [0], "the quota is not known yet");
  (await releases[0])(quota(100));
  await new Promise((resolve) => setTimeout(resolve, 10));
  equal(got.length, 4, "three more at once");
  equal(budget.inFlight, 3);
  for (const release of releases.slice(1, 4)) (await release)(quota(100));
  await new Promise((resolve) => setTimeout(resolve, 10));
  equal(got.length, 5);
});

Deno.test("RateBudget stops before the quota runs out and then goes one call per reset", async () => {
  const budget = new RateBudget(systemClock, { maxInFlight: 8, maxWaitMs: 300_000 });
  (await budget.acquire(signal))(quota(3, 40));
  const { got, releases } = await granted(budget, 4);
  equal(got.length, 2, "three calls were left in the quota, one of them kept back");
  const answeredAt = Date.now();
  (await releases[0])(quota(1, 40));
  (await releases[1])(quota(0, 40));
  // Spent: the next call waits for the reset, and then goes alone.
  await new Promise((resolve) => setTimeout(resolve, 15));
  equal(got.length, 2);
  const third = await Promise.race(releases.slice(2));
  ok(Date.now() - answeredAt >= 35, `${Date.now() - answeredAt} ms`);
  await new Promise((resolve) => setTimeout(resolve, 60));
  equal(got.length, 3, "the fourth waits for the third's answer");
  third(quota(5));
  await Promise.all(releases);
  equal(got.length, 4);
});

Deno.test("RateBudget counts calls still in flight as spent when an answer comes", async () => {
  const budget = new RateBudget(systemClock, { maxInFlight: 8, maxWaitMs: 300_000 });
  (await budget.acquire(signal))(quota(10));
  const { got, releases } = await granted(budget, 8);
  equal(got.length, 8);
  // Seven others are in flight and may not be counted yet, and one is kept back: 9 - 7 - 1 = 1
  // more may go.
  (await releases[0])(quota(9, 50));
  const more = await granted(budget, 3);
  equal(more.got.length, 1);
  for (const release of [...releases.slice(1), ...more.releases.slice(0, 1)]) {
    (await release)();
  }
});

Deno.test("RateBudget holds every stream after a 429 until its reset", async () => {
  const budget = new RateBudget(systemClock, { maxInFlight: 8, maxWaitMs: 300_000 });
  (await budget.acquire(signal))(quota(100));
  const pausedAt = Date.now();
  budget.pause(50);
  const { got, releases } = await granted(budget, 3, 25);
  equal(got.length, 0, "nothing goes during the pause");
  const first = await Promise.race(releases);
  ok(Date.now() - pausedAt >= 45, `${Date.now() - pausedAt} ms`);
  equal(got.length, 1, "then one call, to learn what the quota holds");
  first(quota(100));
  for (const release of releases) (await release)(quota(100));
  equal(got.length, 3);
});

Deno.test("RateBudget without quota headers is bounded only by the calls in flight", async () => {
  const budget = new RateBudget(systemClock, { maxInFlight: 2, maxWaitMs: 300_000 });
  (await budget.acquire(signal))(new Headers());
  const { got, releases } = await granted(budget, 3);
  equal(got.length, 2);
  (await releases[0])(new Headers());
  await releases[2];
  equal(got.length, 3);
});

Deno.test("RateBudget gives up waiting when the run is cancelled", async () => {
  const budget = new RateBudget(systemClock, { maxInFlight: 1, maxWaitMs: 300_000 });
  const held = await budget.acquire(signal);
  const cancel = new AbortController();
  const waiting = budget.acquire(cancel.signal);
  cancel.abort(new Error("cancelled"));
  await waiting.then(
    () => ok(false, "granted after the cancel"),
    (error) => equal((error as Error).message, "cancelled"),
  );
  held();
});

Deno.test("RateBudget reads the quota headers in the X-Rate-Limit- spelling too", async () => {
  const budget = new RateBudget(systemClock, { maxInFlight: 8, maxWaitMs: 300_000 });
  (await budget.acquire(signal))(
    new Headers({ "X-Rate-Limit-Remaining": "3", "X-Rate-Limit-Reset": "40" }),
  );
  const { got, releases } = await granted(budget, 4);
  equal(got.length, 2);
  for (const release of releases.slice(0, 2)) (await release)(quota(100));
  await Promise.all(releases);
});

Deno.test("RateBudget waits for a refill at most maxWaitMs, whatever X-RateLimit-Reset says", async () => {
  const budget = new RateBudget(systemClock, { maxInFlight: 8, maxWaitMs: 60 });
  const answeredAt = Date.now();
  (await budget.acquire(signal))(quota(0, 6 * 3_600_000));
  (await budget.acquire(signal))(quota(100));
  const waited = Date.now() - answeredAt;
  ok(waited >= 55 && waited < 1000, `${waited} ms`);
});
