/**
 * When scheduled runs happen: at the integration's interval (or the manifest's default) with
 * ±10 % jitter so many integrations do not fire together, through the runner (one run at a time
 * per integration, across hosts). With several hosts (`shared`), each tick also marks the runs of
 * hosts whose leases expired as interrupted, so their integrations run again elsewhere.
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
      maxConcurrent: 8,
      random: Math.random,
      shared: false,
      retryMs: 30_000,
      ...deps,
    };
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
    if (this.#deps.shared) {
      // A host that died or stalled holds its runs `running` until its leases expire.
      const interrupted = await store.failInterruptedRuns({ expiredOnly: true });
      if (interrupted > 0) {
        logger.warn("Runs of a host whose lease expired were marked interrupted", { interrupted });
      }
    }
    // Each integration's newest run, wherever it ran: one set-based read for all of them.
    const [rows, overview] = await Promise.all([store.listIntegrations(), store.overview()]);
    for (const row of rows) {
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
      const newest = overview.get(row.id)?.lastRun;
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
      if (runner.active >= maxConcurrent) break;
      due.at = now + jitter();
      try {
        // Another host may hold it (running it, or delivering its outbox): look again once its
        // lease would have run out, so that a host that died is taken over then.
        if ((await runner.start(row.id, "schedule")).started) started.push(row.id);
        else due.at = now + this.#deps.retryMs;
      } catch (error) {
        if (!(error instanceof HostError && error.code === "RUN_IN_PROGRESS")) throw error;
        due.at = now + this.#deps.retryMs;
      }
    }
    return started;
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
  }
}
