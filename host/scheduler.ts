/**
 * When scheduled runs happen: at the integration's interval (or the manifest's default) with
 * ±10 % jitter so many integrations do not fire together, through the runner (one run at a time
 * per integration, across hosts), at most `maxConcurrent` at once: due integrations a tick finds
 * no slot for start as the scheduler's runs end. With several hosts (`shared`), each tick also
 * marks the runs of hosts whose leases expired as interrupted, so their integrations run again
 * elsewhere.
 * @module
 */
import type { Registry } from "./registry.ts";
import { HostError } from "./errors.ts";
import type { Runner } from "./runner.ts";
import type { HostStore } from "./store/mod.ts";
import type { Clock, Logger } from "./types.ts";

/** Fires scheduled runs. */
export class Scheduler {
  /** Per integration: when its next run is due, and the last run's end it was reckoned from. */
  #due = new Map<string, { basis: string; at: number }>();
  /**
   * Due integrations the last tick found no free slot for, in its order: started as this
   * scheduler's runs end, so that a slot does not idle until the next tick (with runs of one or
   * two seconds, a freed slot waited up to a second: bench/scale.ts at 2,000 integrations every
   * 5 minutes fell behind with the host using less than half the cores).
   */
  #waiting: { id: string; interval: number }[] = [];
  /** One refill at a time, so two runs ending together cannot overfill the slots. */
  #filling: Promise<void> = Promise.resolve();
  #timer?: ReturnType<typeof setInterval>;
  #deps: {
    store: HostStore;
    registry: Registry;
    runner: Runner;
    clock: Clock;
    logger: Logger;
    maxConcurrent: number;
    random: () => number;
    shared: boolean;
    retryMs: number;
  };

  constructor(
    deps: {
      store: HostStore;
      registry: Registry;
      runner: Runner;
      clock: Clock;
      logger: Logger;
      maxConcurrent?: number;
      random?: () => number;
      /** Several hosts share the store (PostgreSQL). */
      shared?: boolean;
      /** How soon to look again at an integration another host holds (its lease's length). */
      retryMs?: number;
    },
  ) {
    this.#deps = {
      random: Math.random,
      shared: false,
      retryMs: 30_000,
      ...deps,
      // An option left undefined (HOST_MAX_RUNS not set) keeps the default.
      maxConcurrent: deps.maxConcurrent ?? 8,
    };
  }

  /** The most scheduled runs going at once (HOST_MAX_RUNS). */
  get slots(): number {
    return this.#deps.maxConcurrent;
  }

  /** When an integration's next scheduled run is due (epoch ms), once the scheduler has seen it. */
  nextRunAt(integrationId: string): number | undefined {
    return this.#due.get(integrationId)?.at;
  }

  /** One pass: starts the runs that are due, up to the concurrency limit. */
  async tick(): Promise<string[]> {
    const { store, registry, runner, clock, maxConcurrent, random, logger } = this.#deps;
    const now = clock.now();
    const started: string[] = [];
    const waiting: { id: string; interval: number }[] = [];
    if (this.#deps.shared) {
      // A host that died or stalled holds its runs `running` until its leases expire.
      const interrupted = await store.failInterruptedRuns({ expiredOnly: true });
      if (interrupted > 0) {
        logger.warn("Runs of a host whose lease expired were marked interrupted", { interrupted });
      }
    }
    // Each integration's schedule and newest run, wherever it ran: one set-based read of only
    // that (reading every integration and the whole overview cost 30–40 ms of CPU a tick at 1,000).
    for (const row of await store.scheduleRows()) {
      const installed = registry.get(row.pluginId);
      if (!row.enabled || !installed) {
        this.#due.delete(row.id);
        continue;
      }
      const interval = (row.intervalSeconds ?? installed.manifest.schedule.defaultIntervalSeconds) *
        1000;
      const jitter = () => interval * (0.9 + 0.2 * random());
      // Due an interval after the last run ended, wherever it ran (the store's lastRunAt is
      // shared by every host): when another host finishes a run, every host's next time moves.
      // A run that was interrupted (its host died, or stalled past its lease) left its work
      // undone: due again at once, on whichever host takes the lease.
      const newest = row.newestRun;
      const interrupted = newest?.status === "failed" && newest.errorCode === "INTERRUPTED";
      const basis = `${row.lastRunAt} ${newest?.id} ${newest?.status}`;
      let due = this.#due.get(row.id);
      if (!due || due.basis !== basis) {
        const last = row.lastRunAt ? Date.parse(row.lastRunAt) : NaN;
        const at = interrupted
          ? now + random() * 2_000
          : Number.isNaN(last)
          ? (due?.at ?? now + random() * Math.min(interval, 10_000))
          : last + jitter();
        due = { basis, at };
        this.#due.set(row.id, due);
      }
      if (due.at > now || runner.runningId(row.id)) continue;
      if (runner.active >= maxConcurrent) waiting.push({ id: row.id, interval });
      else if (await this.#start(row.id, due, interval)) started.push(row.id);
    }
    this.#waiting = waiting;
    return started;
  }

  /** Starts a due integration's scheduled run; false when it runs elsewhere or already. */
  async #start(id: string, due: { at: number }, interval: number): Promise<boolean> {
    const { runner, clock, random } = this.#deps;
    const now = clock.now();
    due.at = now + interval * (0.9 + 0.2 * random());
    try {
      if ((await runner.start(id, "schedule")).started) {
        if (this.#timer !== undefined) runner.settled(id).then(() => this.#refill());
        return true;
      }
      // Another host may hold it (running it, or delivering its outbox): look again once its
      // lease would have run out, so that a host that died is taken over then.
      due.at = now + this.#deps.retryMs;
    } catch (error) {
      if (!(error instanceof HostError && error.code === "RUN_IN_PROGRESS")) throw error;
      due.at = now + this.#deps.retryMs;
    }
    return false;
  }

  /** A run ended: its slot goes to the next integration the last tick left waiting. */
  #refill(): void {
    const { runner, clock, maxConcurrent, logger } = this.#deps;
    this.#filling = this.#filling.then(async () => {
      while (
        this.#timer !== undefined && this.#waiting.length > 0 && runner.active < maxConcurrent
      ) {
        const next = this.#waiting.shift()!;
        const due = this.#due.get(next.id);
        if (!due || due.at > clock.now() || runner.runningId(next.id)) continue;
        await this.#start(next.id, due, next.interval);
      }
    }).catch((error) => logger.error("Scheduler refill failed", { error: String(error) }));
  }

  /** Ticks every `intervalMs` until `stop()`. */
  start(intervalMs = 1000): void {
    // A slow store must not stack ticks: one pass at a time.
    let ticking = false;
    this.#timer = setInterval(() => {
      if (ticking) return;
      ticking = true;
      this.tick()
        .catch((error) =>
          this.#deps.logger.error("Scheduler tick failed", { error: String(error) })
        )
        .finally(() => ticking = false);
    }, intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#waiting = [];
  }
}
