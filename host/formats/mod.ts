/**
 * The shapes a destination can receive (SPEC §4): `alerts`, the alert as the plugin made it, or
 * `ocsf`, each alert as an OCSF Detection Finding. The format changes each alert's JSON and adds
 * `format` to the webhook envelope; alert ids, batches, signatures and deduplication are the same
 * in every format.
 * @module
 */
import { HostError } from "../errors.ts";
import type { Alert } from "../types.ts";
import { toDetectionFinding } from "./ocsf.ts";

export { type DetectionFinding, OCSF_VERSION, toDetectionFinding } from "./ocsf.ts";

/** The formats, with the label forms show. */
export const DESTINATION_FORMATS = {
  alerts: "Alerts (Mimecast alert JSON)",
  ocsf: "OCSF 1.x Detection Finding",
} as const;

/** A destination's format. */
export type DestinationFormat = keyof typeof DESTINATION_FORMATS;

/** The format a destination gets when none is chosen. */
export const DEFAULT_FORMAT: DestinationFormat = "alerts";

/** True for a known format name. */
export function isDestinationFormat(value: unknown): value is DestinationFormat {
  return typeof value === "string" && Object.hasOwn(DESTINATION_FORMATS, value);
}

/** A stored destination's format; CONFIG_INVALID for a name this host does not know. */
export function storedFormat(value: string): DestinationFormat {
  if (isDestinationFormat(value)) return value;
  throw new HostError("CONFIG_INVALID", `Unknown destination format "${value}"`, {
    hint: `Set destination.format to one of: ${Object.keys(DESTINATION_FORMATS).join(", ")}.`,
  });
}

/** One alert as the destination receives it. */
export function formatAlert(alert: Alert, format: DestinationFormat): unknown {
  return format === "ocsf" ? toDetectionFinding(alert) : alert;
}

/**
 * The body's text around the comma-joined alerts: `{"type":…,"integrationId":…,"alerts":[` and
 * `]}`, as JSON.stringify would write it; `"format":"ocsf"` comes before `alerts` when the format
 * is not the default, so a default body is byte for byte what it always was. A backfill's
 * `redeliver` sends alerts again under `"replay":true` (SPEC §5.3), in every format.
 */
export function envelopeOf(
  type: string,
  integrationId: string,
  format: DestinationFormat,
  options: { replay?: boolean } = {},
): { prefix: string; suffix: string } {
  const head = JSON.stringify({
    type,
    integrationId,
    ...(format === DEFAULT_FORMAT ? {} : { format }),
    ...(options.replay ? { replay: true } : {}),
  });
  return { prefix: `${head.slice(0, -1)},"alerts":[`, suffix: "]}" };
}
