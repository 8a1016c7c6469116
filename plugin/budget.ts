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
import type { Clock } from "../host/types.ts";

/** A granted call: report its answer's headers (or none, when it got no answer) when it ends. */
export type Release = (headers?: Headers) => void;

/** The calls one integration's run may make, shared by all its streams. */
export class RateBudget {
  #clock: Clock;
  #max: number;
  #inFlight = 0;
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

  constructor(clock: Clock, options: { maxInFlight: number }) {
    this.#clock = clock;
    this.#max = Math.max(1, options.maxInFlight);
  }

  /** Calls in flight now (for tests and logs). */
  get inFlight(): number {
    return this.#inFlight;
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
      if (this.#inFlight >= (spent || !this.#answered ? 1 : this.#max)) {
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
      this.#inFlight++;
      const grant = ++this.#sent;
      let released = false;
      return (headers) => {
        if (released) return;
        released = true;
        this.#inFlight--;
        if (headers) this.#note(grant, headers);
        for (const wake of [...this.#wakers]) wake();
      };
    }
  }

  /** A 429: no stream sends anything for `waitMs`. */
  pause(waitMs: number): void {
    const until = this.#clock.now() + waitMs;
    this.#pausedUntil = Math.max(this.#pausedUntil, until);
    this.#remaining = 0;
    this.#refillAt = Math.max(this.#refillAt, until);
  }

  /** Takes an answer's quota headers into the estimate. */
  #note(grant: number, headers: Headers): void {
    this.#answered = true;
    const remaining = Number(headers.get("X-RateLimit-Remaining") ?? NaN);
    if (!Number.isFinite(remaining)) return;
    // The calls still in flight may not be counted in this answer: count them as spent. An
    // answer older than the one the estimate came from can only lower it.
    const estimate = remaining - this.#inFlight;
    if (grant > this.#estimateFrom) {
      this.#estimateFrom = grant;
      this.#remaining = estimate;
    } else {
      this.#remaining = Math.min(this.#remaining, estimate);
    }
    const reset = Number(headers.get("X-RateLimit-Reset") ?? NaN);
    if (this.#remaining < 1) {
      this.#refillAt = this.#clock.now() + (Number.isFinite(reset) && reset > 0 ? reset : 1000);
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
