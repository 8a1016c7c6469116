/**
 * The pipeline, top to bottom (SPEC §5.3): start the plugin's sandbox for this run, resolve the
 * integration's config and secrets in it, deliver what the outbox still holds, then walk the
 * plugin's pages (fetched and normalized in the sandbox, one read ahead), store each page's
 * alerts (as webhook batches) and its checkpoint in one transaction, deliver. A crash at any
 * moment loses nothing: the next run resumes from the last stored page. A run of kind `backfill`
 * walks the same way over a past span (`ctx.window`) and keeps no checkpoint (SPEC §5.3).
 * @module
 */
import { HostError } from "./errors.ts";
import type { Delivery } from "./delivery.ts";
import { type DestinationFormat, envelopeOf, formatAlert, storedFormat } from "./formats/mod.ts";
import type { Integrations } from "./integrations.ts";
import { childLogger } from "./logger.ts";
import type { InstalledPlugin, Registry } from "./registry.ts";
import { type SortedPage, sortResults } from "./sandbox/mod.ts";
import type { Redactor } from "./secrets.ts";
import { lagSeconds } from "./status.ts";
import {
  ALERT_RETENTION_DAYS,
  type BackfillSpan,
  type HostStore,
  type IntegrationOutcome,
  type Lease,
  LeaseLostError,
  type PageWrite,
  type RunOutcome,
  summaryOf,
} from "./store/mod.ts";
import type { Clock, Logger, Page, SkippedSpan } from "./types.ts";

/** What a run needs, injected once. */
export interface RunDeps {
  store: HostStore;
  registry: Registry;
  integrations: Integrations;
  delivery: Delivery;
  redactor: Redactor;
  clock: Clock;
  logger: Logger;
  /** The fetch plugins get, limited to their manifest's hosts. */
  pluginFetch: (installed: InstalledPlugin) => typeof fetch;
  batchSize?: number;
  /** The ids of stored alerts that occurred within this long are remembered, to drop duplicates (default 30 days, Mimecast's retention). */
  alertIdHorizonMs?: number;
  /** Stored alerts are kept this many days for operators (default 30; 0 keeps none). */
  alertRetentionDays?: number;
}

/** Pages a run reads ahead of the one it stores (each about 100 alerts). */
const READ_AHEAD = 3;

/** The default horizon of stored alert ids: longer than any late-arrival window plus interval. */
export const ALERT_ID_HORIZON_MS = 30 * 86_400_000;

/**
 * Runs one integration once; the run row must exist (status `running`). With `lease`, every page,
 * the run's end and the integration's outcome are written under it as a fence: once another host
 * has taken the integration over, nothing more is written. Never throws.
 */
export async function runOnce(
  deps: RunDeps,
  integrationId: string,
  runId: string,
  signal: AbortSignal,
  lease?: Lease,
): Promise<void> {
  try {
    await runAndRecord(deps, integrationId, runId, signal, lease);
    await noteLags(deps, integrationId);
  } catch (error) {
    if (error instanceof LeaseLostError) {
      // Stalled past the lease: the host that took it over marked this run interrupted and
      // resumes from the last page stored under the lease.
      deps.logger.error("The run lost its lease: nothing more of it is written", {
        integrationId,
        runId,
        hint: "Another host resumes from the last stored page; nothing stored is lost.",
      });
      return;
    }
    // Recording the run's end failed too (a full disk, a database gone): the run stays
    // `running` until the next start marks it interrupted; the host keeps going.
    deps.logger.error("Cannot record the end of a run; the database refused it", {
      integrationId,
      runId,
      error: deps.redactor.redact(error instanceof Error ? error.message : String(error)),
      hint: "Free space or restore the data folder; the next start marks the run interrupted.",
    });
  }
}

async function runAndRecord(
  deps: RunDeps,
  integrationId: string,
  runId: string,
  signal: AbortSignal,
  lease: Lease | undefined,
): Promise<void> {
  const { registry, integrations, delivery, clock } = deps;
  const store = fenced(deps.store, lease);
  const logger = childLogger(deps.logger, { integrationId, runId });
  // A backfill reads its span and never the live checkpoint (SPEC §5.3); its pages' checkpoints
  // are not kept either (see PageWrite.backfill), nor is its outcome the integration's.
  const backfill = (await store.getRun(runId))?.backfill ?? null;
  try {
    const row = await integrations.get(integrationId);
    const installed = registry.require(row.pluginId, "run");
    const format = storedFormat(row.destinationFormat);
    // The plugin runs in a sandbox of its own for this run (SPEC §5.2), closed when the run ends.
    await using sandbox = await registry.sandbox(installed, {
      fetch: deps.pluginFetch(installed),
      clock,
      logger: childLogger(logger, { plugin: installed.manifest.id }),
    });
    const { config, destination } = await integrations.resolve(row, installed, sandbox);
    const destinationOf = () => Promise.resolve(destination);
    await store.pruneAlertIds(
      integrationId,
      clock.now() - (deps.alertIdHorizonMs ?? ALERT_ID_HORIZON_MS),
    );
    await pruneStoredAlerts(deps);
    await delivery.drain(integrationId, destinationOf, signal);

    const pages = sandbox.normalizedPages({
      integrationId,
      config,
      ...(backfill
        ? {
          checkpoint: null,
          window: { from: backfill.from, to: backfill.to, logTypes: backfill.logTypes },
        }
        : { checkpoint: await store.getCheckpoint(integrationId) }),
      signal,
    }, { slim: true, ahead: READ_AHEAD });
    // Delivery of page k overlaps the fetch of page k+1; at most one drain is in flight, so a
    // slow receiver slows fetching down instead of piling pages up in memory.
    let delivering: Promise<void> = Promise.resolve();
    const batchSize = deps.batchSize ?? 100;
    const keepAlerts = (deps.alertRetentionDays ?? ALERT_RETENTION_DAYS) > 0;
    try {
      for await (const { page, normalized } of readAhead(pages)) {
        await store.storePage(
          pageWrite(installed, page, sortResults(page.records, normalized), {
            integrationId,
            runId,
            batchSize,
            format,
            backfill,
            keepAlerts,
          }),
        );
        await delivering;
        delivering = delivery.drain(integrationId, destinationOf, signal);
        delivering.catch(() => {}); // observed at the next await
      }
    } catch (error) {
      await delivering.catch(() => {}); // the fetch error is the one to report
      throw error;
    }
    await delivering;
    const dead = (await store.getRun(runId))?.counts.deadLettered ?? 0;
    if (dead > 0) {
      throw new HostError(
        "DELIVERY_FAILED",
        `${dead} batch(es) moved to dead letters: the webhook refused them`,
        {
          hint:
            "Check the webhook receiver's answer in the dead letters, fix it, then redrive them.",
        },
      );
    }
    await store.finishRun(runId, { status: "succeeded" });
    logger.info(backfill ? "Backfill succeeded" : "Run succeeded", {
      counts: (await store.getRun(runId))?.counts,
    });
    // The live pipeline's health and schedule stay as the live runs left them.
    if (backfill) return;
    await store.setOutcome(integrationId, {
      error: null,
      hint: null,
      at: new Date(clock.now()).toISOString(),
      success: true,
    });
  } catch (caught) {
    if (signal.reason instanceof HostError && signal.reason.code === "CANCELLED") {
      await store.finishRun(runId, {
        status: "cancelled",
        error: signal.reason.message,
        errorCode: "CANCELLED",
        hint: backfill
          ? "What was stored before the cancel stays stored and is delivered; a backfill is not resumed: start another over the span its progress had not reached."
          : "What was stored before the cancel stays stored and is delivered; the next run resumes from there.",
      });
      logger.info("Run cancelled", { counts: (await store.getRun(runId))?.counts });
      return;
    }
    const error = caught instanceof HostError ? caught : new HostError(
      "INTERNAL",
      `Run failed: ${caught instanceof Error ? caught.message : String(caught)}`,
      { cause: caught },
    );
    const message = deps.redactor.redact(
      signal.aborted ? `Run stopped: ${error.message}` : error.message,
    );
    const hint = error.hint ? deps.redactor.redact(error.hint) : undefined;
    await store.finishRun(runId, { status: "failed", error: message, errorCode: error.code, hint });
    logger.error("Run failed", { error: message, code: error.code });
    if (backfill) return;
    await store.setOutcome(integrationId, {
      error: message,
      hint: hint ?? null,
      at: new Date(clock.now()).toISOString(),
      success: false,
    });
  }
}

/**
 * Deletes a bounded number of stored alerts older than the retention, and the charts' hours
 * older than it; returns how many alerts. With a retention of 0 days the host keeps no alert:
 * those stored before are deleted, a bounded number at a time, and the charts (a few rows an
 * hour, not the alerts) keep the default retention.
 */
export async function pruneStoredAlerts(
  deps: Pick<RunDeps, "store" | "clock" | "alertRetentionDays">,
): Promise<number> {
  const days = deps.alertRetentionDays ?? ALERT_RETENTION_DAYS;
  const now = deps.clock.now();
  await deps.store.hours.prune(now - (days || ALERT_RETENTION_DAYS) * 86_400_000);
  return await deps.store.alerts.prune(days === 0 ? now + 1 : now - days * 86_400_000);
}

/**
 * Samples each log type's lag as a run ends, whatever its outcome, for the lag chart: a run
 * that fails before its first page still shows the lag growing.
 */
async function noteLags(deps: RunDeps, integrationId: string): Promise<void> {
  const now = deps.clock.now();
  const lags = (await deps.store.listStreams(integrationId)).flatMap((s) => {
    const lag = lagSeconds(s, now);
    return lag === null ? [] : [{ logType: s.logType, lagSeconds: lag }];
  });
  await deps.store.hours.noteLags(integrationId, lags, now);
}

/**
 * The items of an async iterable, the next one asked for as soon as one is handed out, so that
 * the caller's work on this item overlaps the making of the next; never more than one is read
 * ahead here (a sandbox reads further ahead on its own side). Breaking off ends the iterable.
 */
export async function* readAhead<T>(iterable: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  const pull = () => {
    const step = iterator.next();
    step.catch(() => {}); // observed when awaited
    return step;
  };
  let ahead = pull();
  try {
    for (;;) {
      const step = await ahead;
      if (step.done) return;
      ahead = pull();
      yield step.value;
    }
  } finally {
    await iterator.return?.().catch(() => {});
  }
}

/** A page ready for storage: its alerts as the destination's format wants them, in batches. */
function pageWrite(
  installed: InstalledPlugin,
  page: Page,
  sorted: SortedPage,
  run: {
    integrationId: string;
    runId: string;
    batchSize: number;
    format: DestinationFormat;
    backfill: BackfillSpan | null;
    keepAlerts: boolean;
  },
): PageWrite {
  const { alerts, invalid, counts, notes } = sorted;
  const type = `${installed.manifest.id}.alerts`;
  const listed: PageWrite["listed"] = [];
  for (const [stream, at] of Object.entries(page.progress ?? {})) {
    if (typeof at === "string" && !Number.isNaN(Date.parse(at))) listed.push({ stream, at });
  }
  return {
    integrationId: run.integrationId,
    runId: run.runId,
    alerts: alerts.map((alert) => ({
      id: alert.id,
      stream: String(alert.logType ?? "default"),
      occurredAt: typeof alert.occurredAt === "string" && alert.occurredAt
        ? alert.occurredAt
        : null,
      json: JSON.stringify(formatAlert(alert, run.format)),
      // Only the alerts store reads the summary.
      summary: run.keepAlerts ? summaryOf(alert) : {},
    })),
    envelope: envelopeOf(type, run.integrationId, run.format),
    batchSize: run.batchSize,
    checkpoint: page.checkpoint,
    ...(run.backfill
      ? {
        backfill: run.backfill.redeliver
          ? { replay: envelopeOf(type, run.integrationId, run.format, { replay: true }) }
          : {},
      }
      : {}),
    invalid,
    listed,
    skipped: skippedOf(page),
    notes,
    keepAlerts: run.keepAlerts,
    counts: {
      fetched: counts.fetched,
      filtered: counts.filtered,
      invalid: counts.invalid,
      drift: counts.drift,
    },
  };
}

/** The page's well-formed skipped spans. */
function skippedOf(page: Page): SkippedSpan[] {
  if (!Array.isArray(page.skipped)) return [];
  return page.skipped.filter((s) =>
    typeof s === "object" && s !== null && typeof s.stream === "string" &&
    typeof s.from === "string" && typeof s.to === "string" && typeof s.reason === "string"
  ).map(({ stream, from, to, reason }) => ({ stream, from, to, reason }));
}

/** The store as a run uses it: its pages, its end and its outcome written under its lease. */
function fenced(store: HostStore, lease: Lease | undefined) {
  return {
    getRun: (id: string) => store.getRun(id),
    getCheckpoint: (id: string) => store.getCheckpoint(id),
    pruneAlertIds: (id: string, beforeMs: number) => store.pruneAlertIds(id, beforeMs),
    storePage: (page: PageWrite) => store.storePage(page, lease),
    finishRun: (id: string, outcome: RunOutcome) => store.finishRun(id, outcome, lease),
    setOutcome: (id: string, outcome: IntegrationOutcome) => store.setOutcome(id, outcome, lease),
  };
}
