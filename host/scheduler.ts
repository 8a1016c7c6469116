/**
 * When runs happen: at most one per integration at a time (a second trigger gets the running
 * run's id), manual triggers at once, scheduled runs at the integration's interval (or the
 * manifest's default) with ±10 % jitter so many integrations do not fire together.
 * @module
 */
import type { Registry } from "./registry.ts";
import { HostError } from "./errors.ts";
import type { BackfillSpan, HostStore } from "./store/mod.ts";
import type { Clock, Logger } from "./types.ts";

/** Starts and tracks runs. */
export class Runner {
  #running = new Map<string, { runId: string; done: Promise<void>; controller: AbortController }>();
  #store: HostStore;
  #execute: (integrationId: string, runId: string, signal: AbortSignal) => Promise<void>;
  #clock: Clock;
  #hostId?: string;

  constructor(deps: {
    store: HostStore;
    clock: Clock;
    execute: (integrationId: string, runId: string, signal: AbortSignal) => Promise<void>;
    /** Recorded in every run (HOST_ID). */
    hostId?: string;
  }) {
    this.#store = deps.store;
    this.#execute = deps.execute;
    this.#clock = deps.clock;
    this.#hostId = deps.hostId;
  }

  /**
   * Starts a run unless one is running; either way returns the run id. With `backfill`, the run
   * replays that past span (a run of kind `backfill`). The run's row is stored before this
   * resolves, so its id can be read at once.
   */
  async start(
    integrationId: string,
    trigger: "manual" | "schedule",
    backfill?: BackfillSpan,
  ): Promise<{ runId: string; started: boolean }> {
    const running = this.#running.get(integrationId);
    if (running) return { runId: running.runId, started: false };
    const runId = crypto.randomUUID();
    // Taken before the first await, so a second trigger in the meantime gets this run's id.
    const inserted = this.#store.insertRun({
      id: runId,
      integrationId,
      trigger,
      startedAt: new Date(this.#clock.now()).toISOString(),
      backfill,
      hostId: this.#hostId,
    });
    const controller = new AbortController();
    const done = inserted
      .then(() => this.#execute(integrationId, runId, controller.signal), () => {})
      .finally(() => this.#running.delete(integrationId));
    this.#running.set(integrationId, { runId, done, controller });
    await inserted;
    return { runId, started: true };
  }

  /**
   * Cancels a running run and waits for it to record its end; false when no such run is going
   * on this host.
   */
  async cancel(runId: string): Promise<boolean> {
    const running = [...this.#running.values()].find((r) => r.runId === runId);
    if (!running) return false;
    running.controller.abort(new HostError("CANCELLED", "Run cancelled by an operator"));
    await running.done;
    return true;
  }

  /** The id of the integration's running run, if any. */
  runningId(integrationId: string): string | undefined {
    return this.#running.get(integrationId)?.runId;
  }

  /** Resolves when the integration's current run (if any) ends. */
  settled(integrationId: string): Promise<void> {
    return this.#running.get(integrationId)?.done ?? Promise.resolve();
  }

  /** How many runs are going. */
  get active(): number {
    return this.#running.size;
  }

  /** Aborts every run and waits for them to record their end. */
  async stopAll(): Promise<void> {
    const runs = [...this.#running.values()];
    for (const run of runs) run.controller.abort(new Error("the host is shutting down"));
    await Promise.allSettled(runs.map((r) => r.done));
  }
}

/** Fires scheduled runs. */
export class Scheduler {
  #due = new Map<string, number>();
  #timer?: ReturnType<typeof setInterval>;
  #deps: {
    store: HostStore;
    registry: Registry;
    runner: Runner;
    clock: Clock;
    logger: Logger;
    maxConcurrent: number;
    random: () => number;
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
    },
  ) {
    this.#deps = { maxConcurrent: 8, random: Math.random, ...deps };
  }

  /** When an integration's next scheduled run is due (epoch ms), once the scheduler has seen it. */
  nextRunAt(integrationId: string): number | undefined {
    return this.#due.get(integrationId);
  }

  /** One pass: starts the runs that are due, up to the concurrency limit. */
  async tick(): Promise<string[]> {
    const { store, registry, runner, clock, maxConcurrent, random } = this.#deps;
    const now = clock.now();
    const started: string[] = [];
    for (const row of await store.listIntegrations()) {
      const installed = registry.get(row.pluginId);
      if (!row.enabled || !installed) {
        this.#due.delete(row.id);
        continue;
      }
      const interval = (row.intervalSeconds ?? installed.manifest.schedule.defaultIntervalSeconds) *
        1000;
      const jitter = () => interval * (0.9 + 0.2 * random());
      if (!this.#due.has(row.id)) {
        const last = row.lastRunAt ? Date.parse(row.lastRunAt) : NaN;
        this.#due.set(
          row.id,
          Number.isNaN(last) ? now + random() * Math.min(interval, 10_000) : last + jitter(),
        );
      }
      if (this.#due.get(row.id)! > now || runner.runningId(row.id)) continue;
      if (runner.active >= maxConcurrent) break;
      await runner.start(row.id, "schedule");
      this.#due.set(row.id, now + jitter());
      started.push(row.id);
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
