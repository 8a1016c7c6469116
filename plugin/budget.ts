/**
 * One rate-limit budget per integration (SPEC §3.2): every Mimecast call of a run, whatever its
 * log type or sub-window, passes through here first. It bounds the calls in flight, pauses every
 * stream after a 429 until `X-RateLimit-Reset`, and stops before the quota runs out: the newest
 * answer's `X-RateLimit-Remaining`, less the calls still in flight (they may reach Mimecast after
 * it counted, whichever was sent first), is what may still be sent. Once that is spent, calls go
 * one at a time, each after the `X-RateLimit-Reset` of the answer before it (the time Mimecast
 * takes to add a call back to the quota), until an answer says there is room again. Until the
 * first answer is in, one call goes at a time (the quota is not known yet; that costs one round
 * trip a run). An answer without the headers leaves the estimate as it was, so a service that
 * sends none is only bounded by the calls in flight.
 * @module
 */
import type { Clock, Logger } from "../host/types.ts";

/** A granted call: report its answer's headers (or none, when it got no answer) when it ends. */
export type Release = (headers?: Headers) => void;

/** What a budget needs besides the clock. */
export interface BudgetOptions {
  /** The most calls in flight at once. */
  maxInFlight: number;
  /** The longest wait for the quota to refill (a longer `X-RateLimit-Reset` is cut to this). */
  maxWaitMs: number;
  logger?: Logger;
}

/** Calls of the quota never counted on (see `#note`). */
const RESERVE = 1;

/** A quota header in either spelling Mimecast's gateways use. */
export function quotaHeader(headers: Headers, name: "Remaining" | "Reset"): number {
  const value = headers.get(`X-RateLimit-${name}`) ?? headers.get(`X-Rate-Limit-${name}`);
  return value === null || value.trim() === "" ? NaN : Number(value);
}

/** The calls one integration's run may make, shared by all its streams. */
export class RateBudget {
  #clock: Clock;
  #options: BudgetOptions;
  /** The grants in flight. */
  #inFlight = new Set<number>();
  #wakers = new Set<() => void>();
  /** Calls sent so far; each grant's number orders the answers. */
  #sent = 0;
  /** The grant whose answer set the estimate: older answers do not overwrite newer ones. */
  #estimateFrom = 0;
  /** Calls that may still be sent before the quota runs out (Infinity until an answer says). */
  #remaining = Infinity;
  /** When Mimecast adds one call back to the quota, once the estimate is spent. */
  #refillAt = 0;
  /** A 429 pauses every stream until then. */
  #pausedUntil = 0;
  /** Whether any call has been answered yet. */
  #answered = false;

  constructor(clock: Clock, options: BudgetOptions) {
    this.#clock = clock;
    this.#options = { ...options, maxInFlight: Math.max(1, options.maxInFlight) };
  }

  /** Calls in flight now (for tests and logs). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Waits until a call may be sent, and counts it as sent. */
  async acquire(signal: AbortSignal): Promise<Release> {
    for (;;) {
      signal.throwIfAborted();
      const now = this.#clock.now();
      if (this.#pausedUntil > now) {
        await this.#clock.sleep(this.#pausedUntil - now, signal);
        continue;
      }
      const spent = this.#remaining < 1;
      // Spent, or not known yet: one call at a time, so its answer tells exactly what is left.
      const most = spent || !this.#answered ? 1 : this.#options.maxInFlight;
      if (this.#inFlight.size >= most) {
        await this.#released(signal);
        continue;
      }
      if (spent) {
        if (now < this.#refillAt) {
          await this.#clock.sleep(this.#refillAt - now, signal);
          continue;
        }
        this.#remaining = 1; // a reset has passed: Mimecast has added one call back
      }
      this.#remaining--;
      const grant = ++this.#sent;
      this.#inFlight.add(grant);
      return (headers) => this.#release(grant, headers);
    }
  }

  /** A 429: no stream sends anything for `waitMs` (at most `maxWaitMs`). */
  pause(waitMs: number): void {
    const until = this.#clock.now() + Math.min(waitMs, this.#options.maxWaitMs);
    this.#pausedUntil = Math.max(this.#pausedUntil, until);
    this.#remaining = 0;
    this.#refillAt = Math.max(this.#refillAt, until);
  }

  #release(grant: number, headers?: Headers): void {
    if (!this.#inFlight.delete(grant)) return; // released already
    if (headers) this.#note(grant, headers);
    for (const wake of [...this.#wakers]) wake();
  }

  /** Takes an answer's quota headers into the estimate. */
  #note(grant: number, headers: Headers): void {
    this.#answered = true;
    const remaining = quotaHeader(headers, "Remaining");
    if (!Number.isFinite(remaining)) return;
    // Calls still in flight may not be counted in this answer (they may reach Mimecast after it,
    // whichever was sent first): they count as spent. One more is kept back: two calls that
    // reached Mimecast in the other order than their answers reached us make the newest answer
    // one too high. An answer older than the one the estimate came from can only lower it.
    const estimate = remaining - this.#inFlight.size - RESERVE;
    if (grant > this.#estimateFrom) {
      this.#estimateFrom = grant;
      this.#remaining = estimate;
    } else {
      this.#remaining = Math.min(this.#remaining, estimate);
    }
    if (this.#remaining >= 1) return;
    const reset = quotaHeader(headers, "Reset");
    const waitMs = Math.min(
      Number.isFinite(reset) && reset > 0 ? reset : 1000,
      this.#options.maxWaitMs,
    );
    this.#refillAt = this.#clock.now() + waitMs;
    if (waitMs >= 5000) {
      this.#options.logger?.warn("Mimecast's call quota is spent; waiting for it to refill", {
        waitMs,
      });
    }
  }

  #released(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#wakers.delete(done);
        signal.removeEventListener("abort", aborted);
        resolve();
      };
      const aborted = () => {
        this.#wakers.delete(done);
        reject(signal.reason);
      };
      this.#wakers.add(done);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }
}
