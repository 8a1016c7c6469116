/**
 * The on-demand actions the API and the UI share: a connection check and a preview (neither keeps
 * a checkpoint nor delivers anything), starting and cancelling a run or a backfill, deleting an
 * integration, and redriving dead letters.
 * @module
 */
import type { ApiDeps } from "./api.ts";
import { backfillSpan, parseBackfillRequest } from "./backfill.ts";
import type { WebhookProbe } from "./delivery.ts";
import { HostError, wrapPluginError } from "./errors.ts";
import { type DestinationFormat, formatAlert, storedFormat } from "./formats/mod.ts";
import { type Sandbox, sortResults } from "./sandbox/mod.ts";
import type { IntegrationRow, RunRow } from "./store/mod.ts";
import type { CheckResult } from "./types.ts";

/** Pages a preview walks at most (one per log type is what the Mimecast plugin yields). */
const PREVIEW_PAGES = 20;

/**
 * A sandbox with the integration's plugin for one action, and the action's context: config
 * validated in that sandbox, the stored checkpoint. The caller closes the sandbox.
 */
async function pluginContext(deps: ApiDeps, id: string, signal: AbortSignal, preview = false) {
  const row = await deps.integrations.get(id);
  const installed = deps.registry.require(row.pluginId, preview ? "preview" : "check");
  const sandbox: Sandbox = await deps.registry.sandbox(installed, {
    fetch: deps.pluginFetch(installed),
    clock: deps.clock,
    logger: deps.logger,
  });
  try {
    const { config } = await deps.integrations.resolve(row, installed, sandbox);
    const ctx = {
      integrationId: row.id,
      config,
      checkpoint: await deps.store.getCheckpoint(row.id),
      signal,
      preview,
    };
    return { row, installed, sandbox, ctx };
  } catch (error) {
    await sandbox.close();
    throw error;
  }
}

/** The outcome of a connection check. */
export interface CheckOutcome {
  ok: boolean;
  results: CheckResult[];
  error?: string;
  hint?: string;
  note?: string;
  /** True when this check turned on the schedule of a new integration waiting for it. */
  scheduleEnabled?: boolean;
}

/**
 * Runs the plugin's check; failures come back as data with their hints, secrets redacted. A new
 * integration waiting for its first passing check (SPEC §5.8) gets its schedule turned on when
 * every log type passes; a later failing check does not turn it off again.
 */
export async function checkIntegration(deps: ApiDeps, id: string): Promise<CheckOutcome> {
  const { installed, sandbox, ctx } = await pluginContext(deps, id, AbortSignal.timeout(120_000));
  await using _ = sandbox;
  if (!sandbox.hooks.check) {
    return {
      ok: true,
      results: [],
      note: "This plugin has no connection check: turn the schedule on yourself when ready",
    };
  }
  try {
    const results = await sandbox.check(ctx);
    const ok = results.length > 0 && results.every((r) => r.ok);
    const scheduleEnabled = ok && await deps.store.enableAfterCheck(id);
    return {
      ok: results.every((r) => r.ok),
      results: results.map((r) => ({
        ...r,
        ...(r.error ? { error: deps.redactor.redact(r.error) } : {}),
      })),
      ...(scheduleEnabled ? { scheduleEnabled } : {}),
    };
  } catch (error) {
    const e = wrapPluginError("PLUGIN_CHECK_FAILED", installed.manifest.id, "check", error);
    return { ok: false, results: [], error: deps.redactor.redact(e.message), hint: e.hint };
  }
}

/** The outcome of a preview. */
export interface PreviewOutcome {
  /** The destination's format, which `alerts` are in. */
  format: DestinationFormat;
  /** What a run would send: alerts, or findings for an `ocsf` destination. */
  alerts: unknown[];
  filtered: unknown[];
  invalid: unknown[];
  counts: { fetched: number; filtered: number; invalid: number; alerts: number; drift: number };
  error?: string;
  hint?: string;
}

/**
 * Fetches the first page per stream and normalizes it into the destination's format; nothing is
 * stored or delivered.
 */
export async function previewIntegration(deps: ApiDeps, id: string): Promise<PreviewOutcome> {
  const { installed, sandbox, ctx, row } = await pluginContext(
    deps,
    id,
    AbortSignal.timeout(120_000),
    true,
  );
  await using _ = sandbox;
  const format = storedFormat(row.destinationFormat);
  const out: PreviewOutcome = {
    format,
    alerts: [],
    filtered: [],
    invalid: [],
    counts: { fetched: 0, filtered: 0, invalid: 0, alerts: 0, drift: 0 },
  };
  try {
    let pages = 0;
    for await (const { page, normalized: results } of sandbox.normalizedPages(ctx)) {
      const normalized = sortResults(page.records, results);
      for (const k of Object.keys(out.counts) as (keyof PreviewOutcome["counts"])[]) {
        out.counts[k] += normalized.counts[k];
      }
      out.alerts.push(...normalized.alerts.map((alert) => formatAlert(alert, format)));
      out.invalid.push(...normalized.invalid);
      out.filtered.push(...normalized.filtered);
      if (++pages >= PREVIEW_PAGES) break;
    }
  } catch (error) {
    const e = error instanceof HostError
      ? error
      : wrapPluginError("PLUGIN_FETCH_FAILED", installed.manifest.id, "fetch", error);
    out.error = deps.redactor.redact(e.message);
    out.hint = e.hint;
  }
  out.filtered = out.filtered.slice(0, 500);
  return out;
}

/**
 * Sends one signed test event to the integration's webhook and reports the receiver's answer
 * (SPEC §5.5): nothing is stored, and nothing is retried.
 */
export async function testWebhook(deps: ApiDeps, id: string): Promise<WebhookProbe> {
  const row = await deps.integrations.get(id);
  const destination = await deps.integrations.destination(row);
  const probe = await deps.delivery.probe(destination, {
    type: `${row.pluginId}.test`,
    integrationId: row.id,
  });
  return {
    ...probe,
    ...(probe.error ? { error: deps.redactor.redact(probe.error) } : {}),
    ...(probe.excerpt ? { excerpt: deps.redactor.redact(probe.excerpt) } : {}),
  };
}

/** Starts a run now, or names the one already going; PLUGIN_NOT_FOUND when the plugin is gone. */
export async function startRun(
  deps: ApiDeps,
  id: string,
): Promise<{ runId: string; started: boolean }> {
  const row = await deps.integrations.get(id);
  deps.registry.require(row.pluginId, "run");
  return await deps.runner.start(row.id, "manual");
}

/**
 * Starts a backfill (SPEC §5.3): a run of kind `backfill` over a past span, checked first
 * (CONFIG_INVALID listing every issue); or names the run already going.
 */
export async function startBackfill(
  deps: ApiDeps,
  id: string,
  body: unknown,
): Promise<{ runId: string; started: boolean }> {
  const row = await deps.integrations.get(id);
  const request = parseBackfillRequest(body);
  const installed = deps.registry.require(row.pluginId, "backfill");
  const span = backfillSpan(installed.manifest, row, request, deps.clock.now());
  return await deps.runner.start(row.id, "manual", span);
}

/**
 * Puts dead letters (all, or the given webhook ids) back in the outbox and starts delivering them
 * in the background; returns how many were requeued.
 */
export async function redriveDeadLetters(
  deps: ApiDeps,
  id: string,
  webhookIds?: string[],
): Promise<number> {
  const row = await deps.integrations.get(id);
  const requeued = await deps.store.redrive(row.id, webhookIds);
  if (requeued > 0) await deliverInBackground(deps, row.id, "Redrive stopped");
  return requeued;
}

/** Starts delivering what an integration's outbox holds, without waiting for it. */
async function deliverInBackground(deps: ApiDeps, id: string, what: string): Promise<void> {
  const row = await deps.store.getIntegration(id);
  const installed = row && deps.registry.get(row.pluginId);
  if (!row || !installed || await deps.store.pendingCount(id) === 0) return;
  // Under the integration's lease, so that one host delivers its outbox, in order; a run going
  // on (here or on another host) delivers them itself.
  const destination = await deps.integrations.destination(row);
  const started = await deps.runner.exclusive(
    row.id,
    () => deps.delivery.drain(row.id, () => Promise.resolve(destination), deps.shutdown),
  );
  started?.done.catch((error) =>
    deps.logger.warn(what, { integrationId: row.id, error: deps.redactor.redact(String(error)) })
  );
}

/**
 * Cancels a running run (SPEC §5.5): it stops within seconds and ends `cancelled`; the pages it
 * stored stay stored, and what they hold is still delivered.
 */
export async function cancelRun(deps: ApiDeps, runId: string): Promise<RunRow> {
  const run = await deps.store.getRun(runId);
  if (!run) throw new HostError("NOT_FOUND", `No run ${runId}`);
  if (run.status !== "running") {
    throw new HostError(
      "CONFLICT",
      `Cannot cancel run ${runId}: it is not running (${run.status})`,
    );
  }
  if (!(await deps.runner.cancel(runId))) {
    throw new HostError(
      "CONFLICT",
      `Cannot cancel run ${runId} here: it runs on host ${run.hostId ?? "(unknown)"}`,
      { hint: "Send the cancel to that host's API (or console)." },
    );
  }
  await deliverInBackground(deps, run.integrationId, "Delivery after a cancel stopped");
  return (await deps.store.getRun(runId))!;
}

/** Deletes an integration, cancelling its run first (and waiting for it to stop). */
export async function deleteIntegration(deps: ApiDeps, id: string): Promise<IntegrationRow> {
  const row = await deps.integrations.get(id);
  const running = deps.runner.runningId(row.id);
  if (running) await deps.runner.cancel(running);
  await deps.store.deleteIntegration(row.id);
  return row;
}
