/**
 * Starts and tracks runs, one at a time per integration across every host (SPEC §5.3, §5.7): a
 * run holds its integration's lease in the store for as long as it goes, renewed by a heartbeat,
 * and its writes carry the lease as a fence, so a host that stalled past its lease can neither
 * store a page nor record the run's end. With SQLite (one host) the lease costs a statement or
 * two per run; with PostgreSQL it is what keeps hosts from running the same integration twice.
 * @module
 */
import { HostError } from "./errors.ts";
import type { BackfillSpan, HostStore, Lease } from "./store/mod.ts";
import type { Clock, Logger } from "./types.ts";

/** How long a lease lasts without renewal when HOST_LEASE_SECONDS is not set. */
export const LEASE_SECONDS = 30;

/** What a run is given to do its work: its abort signal and the lease its writes carry. */
export type Execute = (
  integrationId: string,
  runId: string,
  signal: AbortSignal,
  lease: Lease,
) => Promise<void>;

interface Running {
  runId: string;
  done: Promise<void>;
  controller: AbortController;
}

/** Starts and tracks runs. */
export class Runner {
  #running = new Map<string, Running>();
  #store: HostStore;
  #execute: Execute;
  #clock: Clock;
  #logger?: Logger;
  #hostId: string;
  #leaseSeconds: number;

  constructor(deps: {
    store: HostStore;
    clock: Clock;
    execute: Execute;
    logger?: Logger;
    /** Recorded in every run and owns its leases (HOST_ID). */
    hostId?: string;
    /** HOST_LEASE_SECONDS. */
    leaseSeconds?: number;
  }) {
    this.#store = deps.store;
    this.#execute = deps.execute;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#hostId = deps.hostId ?? "host";
    this.#leaseSeconds = deps.leaseSeconds ?? LEASE_SECONDS;
  }

  /**
   * Starts a run unless one is running (here or on another host); either way returns the run id.
   * With `backfill`, the run replays that past span. The run's row is stored before this
   * resolves. RUN_IN_PROGRESS when another host holds the integration without a run (delivering
   * its outbox).
   */
  async start(
    integrationId: string,
    trigger: "manual" | "schedule",
    backfill?: BackfillSpan,
  ): Promise<{ runId: string; started: boolean }> {
    const running = this.#running.get(integrationId);
    if (running) return { runId: running.runId, started: false };
    const runId = crypto.randomUUID();
    const controller = new AbortController();
    let settle!: () => void;
    const done = new Promise<void>((resolve) => settle = resolve);
    // Taken before the first await, so a second trigger in the meantime gets this run's id.
    this.#running.set(integrationId, { runId, done, controller });
    let lease: Lease | undefined;
    try {
      lease = await this.#store.acquireLease(integrationId, this.#hostId, this.#leaseSeconds);
      if (lease) {
        // A run still `running` here belonged to a holder that lost the lease (it died, or it
        // stalled past it and its writes are now refused): it ended interrupted.
        await this.#store.failInterruptedRuns({ integrationId });
        await this.#store.insertRun({
          id: runId,
          integrationId,
          trigger,
          startedAt: new Date(this.#clock.now()).toISOString(),
          backfill,
          hostId: this.#hostId,
        });
      }
    } catch (error) {
      if (lease) await this.#store.releaseLease(lease).catch(() => {});
      this.#running.delete(integrationId);
      settle();
      throw error;
    }
    if (!lease) {
      this.#running.delete(integrationId);
      settle();
      return { runId: await this.#elsewhere(integrationId), started: false };
    }
    const heartbeat = this.#heartbeat(lease, controller);
    this.#execute(integrationId, runId, controller.signal, lease)
      .catch(() => {}) // a run records its own failure
      .finally(async () => {
        clearInterval(heartbeat);
        await this.#store.releaseLease(lease).catch(() => {});
        this.#running.delete(integrationId);
        settle();
      });
    return { runId, started: true };
  }

  /**
   * Starts `work` under the integration's lease (delivering an outbox outside a run), so that
   * only one host delivers an integration's batches at a time and in order; resolves once it has
   * started, with `done` settling when it ends. Skipped (undefined) when a run here or another
   * host holds the lease: that holder delivers them.
   */
  async exclusive(
    integrationId: string,
    work: () => Promise<void>,
  ): Promise<{ done: Promise<void> } | undefined> {
    if (this.#running.has(integrationId)) return undefined;
    const lease = await this.#store.acquireLease(integrationId, this.#hostId, this.#leaseSeconds);
    if (!lease) return undefined;
    const heartbeat = this.#heartbeat(lease, new AbortController());
    const done = work().finally(async () => {
      clearInterval(heartbeat);
      await this.#store.releaseLease(lease).catch(() => {});
    });
    return { done };
  }

  /**
   * Cancels a run going on this host and waits for it to record its end; false when no such run
   * is going here.
   */
  async cancel(runId: string): Promise<boolean> {
    const running = [...this.#running.values()].find((r) => r.runId === runId);
    if (!running) return false;
    running.controller.abort(new HostError("CANCELLED", "Run cancelled by an operator"));
    await running.done;
    return true;
  }

  /** The id of the integration's run going on this host, if any. */
  runningId(integrationId: string): string | undefined {
    return this.#running.get(integrationId)?.runId;
  }

  /** Resolves when the integration's current run on this host (if any) ends. */
  settled(integrationId: string): Promise<void> {
    return this.#running.get(integrationId)?.done ?? Promise.resolve();
  }

  /** How many runs are going on this host. */
  get active(): number {
    return this.#running.size;
  }

  /** Aborts every run and waits for them to record their end. */
  async stopAll(): Promise<void> {
    const runs = [...this.#running.values()];
    for (const run of runs) run.controller.abort(new Error("the host is shutting down"));
    await Promise.allSettled(runs.map((r) => r.done));
  }

  /** Renews the lease every third of its life; a lost lease stops the run at once. */
  #heartbeat(lease: Lease, controller: AbortController): ReturnType<typeof setInterval> {
    const timer = setInterval(() => {
      this.#store.renewLease(lease, this.#leaseSeconds).then((held) => {
        if (held || controller.signal.aborted) return;
        this.#logger?.error("Lost the integration's lease: another host may take it over", {
          integrationId: lease.integrationId,
          hostId: this.#hostId,
        });
        controller.abort(
          new HostError(
            "INTERRUPTED",
            `Host ${this.#hostId} lost the lease of this integration (it could not renew it within ${this.#leaseSeconds} s)`,
            { hint: "Another host resumes from the last stored page; nothing stored is lost." },
          ),
        );
      }, () => {}); // a database that does not answer: the next beat tries again
    }, Math.max(1000, this.#leaseSeconds * 1000 / 3));
    Deno.unrefTimer(timer);
    return timer;
  }

  /** The run another host holds the integration for, or RUN_IN_PROGRESS naming that host. */
  async #elsewhere(integrationId: string): Promise<string> {
    const [latest] = await this.#store.listRuns(integrationId, 1);
    if (latest?.status === "running") return latest.id;
    const holder = await this.#store.currentLease(integrationId);
    throw new HostError(
      "RUN_IN_PROGRESS",
      `Another host (${
        holder?.owner ?? "unknown"
      }) is delivering this integration's outbox right now`,
      { hint: "Try again in a few seconds." },
    );
  }
}
