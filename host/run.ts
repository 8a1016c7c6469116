/**
 * The pipeline, top to bottom (SPEC §5.3): resolve the integration's config and secrets, deliver
 * what the outbox still holds, then walk the plugin's `fetch` page by page: normalize the page,
 * store its alerts (as webhook batches) and its checkpoint in one transaction, deliver. A crash
 * at any moment loses nothing: the next run resumes from the last stored page.
 * @module
 */
import { HostError, wrapPluginError } from "./errors.ts";
import type { Delivery } from "./delivery.ts";
import { type DestinationFormat, envelopeOf, formatAlert, storedFormat } from "./formats/mod.ts";
import type { Integrations } from "./integrations.ts";
import { childLogger } from "./logger.ts";
import type { InstalledPlugin, Registry } from "./registry.ts";
import type { Redactor } from "./secrets.ts";
import type { PageWrite, RunCounts, Store } from "./store/mod.ts";
import type { Alert, Clock, Issue, Logger, Page, PluginContext, SkippedSpan } from "./types.ts";

/** What a run needs, injected once. */
export interface RunDeps {
  store: Store;
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
}

/** The default horizon of stored alert ids: longer than any late-arrival window plus interval. */
export const ALERT_ID_HORIZON_MS = 30 * 86_400_000;

/** Runs one integration once; the run row must exist (status `running`). Never throws. */
export async function runOnce(
  deps: RunDeps,
  integrationId: string,
  runId: string,
  signal: AbortSignal,
): Promise<void> {
  const { store, registry, integrations, delivery, clock } = deps;
  const logger = childLogger(deps.logger, { integrationId, runId });
  try {
    const row = integrations.get(integrationId);
    const installed = registry.require(row.pluginId, "run");
    const format = storedFormat(row.destinationFormat);
    const { config, destination } = await integrations.resolve(row, installed);
    const destinationOf = () => Promise.resolve(destination);
    store.pruneAlertIds(
      integrationId,
      clock.now() - (deps.alertIdHorizonMs ?? ALERT_ID_HORIZON_MS),
    );
    await delivery.drain(integrationId, destinationOf, signal);

    const ctx: PluginContext = {
      integrationId,
      config,
      checkpoint: store.getCheckpoint(integrationId) as PluginContext["checkpoint"],
      fetch: deps.pluginFetch(installed),
      clock,
      logger: childLogger(logger, { plugin: installed.manifest.id }),
      signal,
    };
    // Delivery of page k overlaps the fetch of page k+1; at most one drain is in flight, so a
    // slow receiver slows fetching down instead of piling pages up in memory.
    let delivering: Promise<void> = Promise.resolve();
    const batchSize = deps.batchSize ?? 100;
    try {
      for await (const page of pagesOf(installed, ctx)) {
        store.storePage(
          normalizePage(installed, page, { integrationId, runId, config, batchSize, format }),
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
    const dead = store.getRun(runId)?.counts.deadLettered ?? 0;
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
    store.finishRun(runId, { status: "succeeded" });
    store.setOutcome(integrationId, {
      error: null,
      hint: null,
      at: new Date(clock.now()).toISOString(),
      success: true,
    });
    logger.info("Run succeeded", { counts: store.getRun(runId)?.counts });
  } catch (caught) {
    if (signal.reason instanceof HostError && signal.reason.code === "CANCELLED") {
      store.finishRun(runId, {
        status: "cancelled",
        error: signal.reason.message,
        errorCode: "CANCELLED",
        hint:
          "What was stored before the cancel stays stored and is delivered; the next run resumes from there.",
      });
      logger.info("Run cancelled", { counts: store.getRun(runId)?.counts });
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
    store.finishRun(runId, { status: "failed", error: message, errorCode: error.code, hint });
    store.setOutcome(integrationId, {
      error: message,
      hint: hint ?? null,
      at: new Date(clock.now()).toISOString(),
      success: false,
    });
    logger.error("Run failed", { error: message, code: error.code });
  }
}

/**
 * The plugin's pages, with every plugin failure wrapped to name the plugin and the hook. The next
 * page is requested as soon as one is handed out, so fetching overlaps the caller's work on the
 * current page; never more than one page is read ahead.
 */
export async function* pagesOf(
  installed: InstalledPlugin,
  ctx: PluginContext,
): AsyncGenerator<Page> {
  const id = installed.manifest.id;
  let iterator: AsyncIterator<Page>;
  try {
    iterator = installed.plugin.fetch(ctx)[Symbol.asyncIterator]();
  } catch (error) {
    throw wrapPluginError("PLUGIN_FETCH_FAILED", id, "fetch", error);
  }
  const pull = () => {
    const step = iterator.next();
    step.catch(() => {}); // observed when awaited
    return step;
  };
  let ahead = pull();
  try {
    for (;;) {
      let step: IteratorResult<Page>;
      try {
        step = await ahead;
      } catch (error) {
        throw wrapPluginError("PLUGIN_FETCH_FAILED", id, "fetch", error);
      }
      if (step.done) return;
      const page = step.value;
      if (!page || !Array.isArray(page.records) || page.checkpoint === undefined) {
        throw new HostError(
          "PLUGIN_OUTPUT_INVALID",
          `[plugin ${id}] fetch: a page must be { records: [], checkpoint }`,
        );
      }
      ahead = pull();
      yield page;
    }
  } finally {
    await iterator.return?.().catch(() => {});
  }
}

/** What normalizing one page produced, before storage. */
export interface NormalizedPage {
  alerts: Alert[];
  filtered: unknown[];
  invalid: { record: unknown; issues: Issue[] }[];
  counts: Pick<RunCounts, "fetched" | "filtered" | "invalid" | "alerts" | "drift">;
  /** What normalize counted by name (`ctx.count`), drift aside. */
  notes: Record<string, number>;
}

/** Normalizes a page's records; a record the plugin cannot normalize is kept as invalid. */
export function normalizeRecords(
  installed: InstalledPlugin,
  records: unknown[],
  integrationId: string,
  config: unknown,
): NormalizedPage {
  const counts = { fetched: records.length, filtered: 0, invalid: 0, alerts: 0, drift: 0 };
  const notes: Record<string, number> = {};
  const ctx = {
    integrationId,
    config,
    count: (name: string) => void (notes[name] = (notes[name] ?? 0) + 1),
  };
  const alerts: Alert[] = [];
  const filtered: unknown[] = [];
  const invalid: NormalizedPage["invalid"] = [];
  for (const record of records) {
    try {
      const alert = installed.plugin.normalize(record, ctx);
      if (alert === null) filtered.push(record);
      else if (typeof alert !== "object" || typeof alert.id !== "string" || alert.id === "") {
        invalid.push({
          record,
          issues: [{
            path: "",
            message: `[plugin ${installed.manifest.id}] normalize: returned an alert without an id`,
          }],
        });
      } else alerts.push(alert);
    } catch (error) {
      const issues = Array.isArray((error as { issues?: unknown }).issues)
        ? (error as { issues: Issue[] }).issues
        : [{
          path: "",
          message: `[plugin ${installed.manifest.id}] normalize: ${
            error instanceof Error ? error.message : String(error)
          }`,
        }];
      invalid.push({ record, issues });
    }
  }
  counts.filtered = filtered.length;
  counts.invalid = invalid.length;
  counts.alerts = alerts.length;
  counts.drift = notes.drift ?? 0;
  delete notes.drift;
  return { alerts, filtered, invalid, counts, notes };
}

/** A page ready for storage: its alerts as the destination's format wants them, in batches. */
function normalizePage(
  installed: InstalledPlugin,
  page: Page,
  run: {
    integrationId: string;
    runId: string;
    config: unknown;
    batchSize: number;
    format: DestinationFormat;
  },
): PageWrite {
  const { alerts, invalid, counts, notes } = normalizeRecords(
    installed,
    page.records,
    run.integrationId,
    run.config,
  );
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
    })),
    envelope: envelopeOf(`${installed.manifest.id}.alerts`, run.integrationId, run.format),
    batchSize: run.batchSize,
    checkpoint: page.checkpoint,
    invalid,
    listed,
    skipped: skippedOf(page),
    notes,
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
