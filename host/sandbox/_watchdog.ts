/**
 * The sandbox's time limits, checked on a timer: per waiting call, the plugin's own time (not
 * counted while the host works on one of the call's requests or sleeps) and the wall time; and
 * the sandbox's heartbeat while any call waits.
 * @module
 */
import type { Ending } from "./_process.ts";
import type { Hook } from "./_protocol.ts";
import type { SandboxLimits } from "./limits.ts";

/** A call as the watchdog sees it. */
export interface Watched {
  hook: Hook;
  /** Requests and sleeps the host is working on for this call. */
  busy: number;
  /** Set while the host waits for the call's answer (or the next page). */
  waiter?: { activeMs: number; startedAt: number; limitMs: number };
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Tracks time per call and the last word from the sandbox; says when a limit is breached. */
export class Watchdog {
  /** How often `tick` should run. */
  readonly everyMs: number;
  #limits: SandboxLimits;
  #lastHeard = performance.now();
  #lastTick = performance.now();

  constructor(limits: SandboxLimits) {
    this.#limits = limits;
    const shortest = Math.min(limits.callTimeoutMs, limits.loadTimeoutMs, limits.unresponsiveMs);
    this.everyMs = Math.max(20, Math.min(250, shortest / 8));
  }

  /** The sandbox said something (any message, heartbeats included). */
  heard(): void {
    this.#lastHeard = performance.now();
  }

  /** Advances the calls' clocks; returns the breach, if one happened. */
  tick(calls: Iterable<Watched>): Ending | undefined {
    const now = performance.now();
    // A late tick means the host itself was busy: that time is not the plugin's, and the
    // sandbox's messages may be waiting unread.
    const late = now - this.#lastTick > this.everyMs * 4;
    const elapsed = late ? this.everyMs : now - this.#lastTick;
    this.#lastTick = now;
    if (late) this.#lastHeard = Math.max(this.#lastHeard, now - this.everyMs);
    let waiting: Watched | undefined;
    for (const call of calls) {
      const waiter = call.waiter;
      if (!waiter) continue;
      waiting ??= call;
      if (call.busy === 0) waiter.activeMs += elapsed;
      if (waiter.activeMs > waiter.limitMs) {
        return {
          kind: "timeout",
          hook: call.hook,
          detail: `did not answer within ${seconds(waiter.limitMs)}`,
        };
      }
      if (now - waiter.startedAt > this.#limits.wallTimeoutMs) {
        return {
          kind: "timeout",
          hook: call.hook,
          detail: `did not finish within ${seconds(this.#limits.wallTimeoutMs)}, waits included`,
        };
      }
    }
    if (waiting && now - this.#lastHeard > this.#limits.unresponsiveMs) {
      return {
        kind: "unresponsive",
        hook: waiting.hook,
        detail: `stopped responding (its event loop was blocked for ${
          seconds(this.#limits.unresponsiveMs)
        })`,
      };
    }
    return undefined;
  }
}
