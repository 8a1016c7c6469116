/**
 * What a backfill may replay (SPEC §5.3): the span and log types an operator asked for, checked
 * against the plugin's manifest (which log types it can read by span, how long its service keeps
 * them), the integration's own log types and the clock. Every problem is named with its field.
 * @module
 */
import * as v from "valibot";
import { HostError } from "./errors.ts";
import type { Manifest } from "./manifest.ts";
import { backfillBody } from "./schemas.ts";
import type { BackfillSpan, IntegrationRow } from "./store/mod.ts";
import type { Issue } from "./types.ts";

/** A backfill request as the API's schema let it through. */
export type BackfillRequest = v.InferOutput<typeof backfillBody>;

/** Reads a request (the API's JSON body, or the UI's form as the same fields). */
export function parseBackfillRequest(input: unknown): BackfillRequest {
  const result = v.safeParse(backfillBody, input);
  if (result.success) return result.output;
  const issues = result.issues.map((i) => ({ path: v.getDotPath(i) ?? "", message: i.message }));
  throw new HostError(
    "CONFIG_INVALID",
    `Cannot accept the backfill: ${issues.map((i) => i.message).join("; ")}`,
    { issues },
  );
}

/** An ISO time to the second, in UTC: how spans are stored and handed to plugins. */
function isoSecond(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The span to replay; CONFIG_INVALID (422) listing every issue when it cannot be. */
export function backfillSpan(
  manifest: Manifest,
  row: Pick<IntegrationRow, "config">,
  request: BackfillRequest,
  now: number,
): BackfillSpan {
  const { backfill } = manifest;
  if (!backfill) {
    throw new HostError(
      "CONFIG_INVALID",
      `Cannot backfill: plugin "${manifest.id}" cannot replay a past span`,
      { issues: [{ path: "", message: `Plugin "${manifest.id}" cannot replay a past span` }] },
    );
  }
  const issues: Issue[] = [];
  const configured = Array.isArray(row.config.logTypes)
    ? row.config.logTypes.filter((t): t is string => typeof t === "string")
    : backfill.logTypes;
  const replayable = backfill.logTypes.filter((t) => configured.includes(t));
  const choose = replayable.length > 0
    ? `choose among ${replayable.join(", ")}`
    : "this integration has none that can be";
  let logTypes = replayable;
  if (request.logTypes) {
    logTypes = [...new Set(request.logTypes)];
    request.logTypes.forEach((logType, i) => {
      const path = `logTypes.${i}`;
      const why = backfill.notReplayable[logType];
      if (why) {
        issues.push({ path, message: `"${logType}" cannot be replayed: ${why}; ${choose}` });
      } else if (!backfill.logTypes.includes(logType)) {
        issues.push({ path, message: `"${logType}" is not a log type of this plugin; ${choose}` });
      } else if (!configured.includes(logType)) {
        issues.push({
          path,
          message:
            `"${logType}" is not one of this integration's log types: add it to the integration first, or ${choose}`,
        });
      }
    });
  } else if (replayable.length === 0) {
    issues.push({
      path: "logTypes",
      message: `This integration reads no log type that can be replayed (${
        backfill.logTypes.join(", ")
      } can be): add one to the integration first`,
    });
  }

  // Whole seconds, as the span is stored and read.
  const from = Math.floor(Date.parse(request.from) / 1000) * 1000;
  const to = Math.floor(Date.parse(request.to) / 1000) * 1000;
  const oldest = now - backfill.retentionDays * 86_400_000;
  if (from < oldest) {
    issues.push({
      path: "from",
      message: `from must be within the last ${backfill.retentionDays} days (the service keeps ${
        backfill.logTypes.join(", ")
      } logs that long): enter ${isoSecond(oldest + 60_000)} or later`,
    });
  }
  if (to > now) {
    issues.push({
      path: "to",
      message: `to must not be in the future: enter ${isoSecond(now)} (now) or earlier`,
    });
  }
  if (from >= to) issues.push({ path: "to", message: "to must come after from" });
  if (issues.length > 0) {
    throw new HostError(
      "CONFIG_INVALID",
      `Cannot accept the backfill: ${issues.map((i) => i.message).join("; ")}`,
      { issues },
    );
  }
  return { logTypes, from: isoSecond(from), to: isoSecond(to), redeliver: request.redeliver };
}
