/**
 * One Mimecast record to one alert (SPEC §3.3–§4): validate, drop what Mimecast judged clean or
 * safe, choose the alert type, map it to ATT&CK, and shape the alert. Pure and synchronous.
 * @module
 */
import * as v from "valibot";
import type { Alert, Issue, NormalizeContext } from "../host/types.ts";
import type { Config, TtpLogType } from "./config.ts";
import { formatIsoSecond } from "./dates.ts";
import { directionFromRoute, inferDirection } from "./direction.ts";
import { InvalidRecordError } from "./errors.ts";
import {
  type AttachmentLog,
  type ClickLog,
  type ImpersonationLog,
  LOG_KINDS,
  type MimecastRecord,
  parseRecord,
  recordKey,
  recordTime,
} from "./records.ts";
import { stableId } from "./ids.ts";
import { rejectionAlert } from "./siem/normalize.ts";
import { threatFor } from "./threats.ts";

/** Verdicts Mimecast uses for harmless results, lower-cased, per log type (impersonation has none). */
const BENIGN: Record<TtpLogType, ReadonlySet<string>> = {
  url: new Set(["clean"]),
  attachment: new Set(["safe", "clean"]),
  impersonation: new Set(),
};

/** Verdicts seen in Mimecast's documentation or data; anything else is vocabulary drift. */
const KNOWN: Record<TtpLogType, ReadonlySet<string>> = {
  url: new Set(["clean", "malicious"]),
  attachment: new Set(["safe", "clean", "malicious", "unknown", "timeout", "error", "unsafe"]),
  impersonation: new Set(["malicious", "suspicious"]),
};

/** The verdict of a record that carries none: not clean, so it is delivered (and counted as drift). */
const NO_VERDICT = "unknown";

/** The stable alert id: a hash of the log type and the record key. */
export function alertId(
  logType: TtpLogType,
  data: Record<string, unknown>,
  time: number = recordTime(logType, data),
): string {
  return stableId(logType, recordKey(logType, data, time));
}

/** The url alert type (SPEC §3.4): creationMethod when ttpDefinition is empty, else reason or ttpDefinition. */
export function urlAlertType(
  log: Pick<ClickLog, "ttpDefinition" | "reason" | "creationMethod">,
): string {
  const definition = log.ttpDefinition?.trim();
  const chosen = definition ? log.reason?.trim() || definition : log.creationMethod?.trim();
  return chosen || "URL Protection";
}

function issuesOf(issues: v.BaseIssue<unknown>[]): Issue[] {
  return issues.map((issue) => ({ path: v.getDotPath(issue) ?? "", message: issue.message }));
}

/**
 * Normalizes one record: an alert, or null when Mimecast judged it clean or safe.
 * Throws InvalidRecordError when the record cannot be timed or told apart from others (records.ts).
 */
export function normalize(record: MimecastRecord, ctx: NormalizeContext<Config>): Alert | null {
  if (record.logType === "rejections") return rejectionAlert(record.data, ctx);
  const { data } = record;
  const logType = record.logType as TtpLogType;
  const kind = LOG_KINDS[logType];
  if (!kind) {
    throw new InvalidRecordError(String(logType), [{
      path: "logType",
      message: "Unknown log type",
    }]);
  }
  const parsed = parseRecord(logType, data);
  if (!parsed.success) throw new InvalidRecordError(logType, issuesOf(parsed.issues));

  const shaped = SHAPES[logType](parsed.output as never, ctx.config);
  // A missing or unfamiliar verdict is not a clean one: deliver it and let drift show it.
  const said = shaped.verdict?.trim().toLowerCase() ?? "";
  if (BENIGN[logType].has(said)) return null;
  if (!KNOWN[logType].has(said)) ctx.count("drift");
  const verdict = said === "" || shaped.verdict === undefined ? NO_VERDICT : shaped.verdict;

  const threat = threatFor(shaped.alertType, logType, ctx.config.mapping);
  const time = recordTime(logType, data);
  return {
    id: alertId(logType, data, time),
    alertType: shaped.alertType,
    threatId: threat.threatId,
    threatName: threat.threatName,
    logType,
    occurredAt: formatIsoSecond(time),
    direction: shaped.direction,
    email: shaped.email,
    ...(shaped.url === undefined ? {} : { url: shaped.url }),
    ...(shaped.file === undefined ? {} : { file: shaped.file }),
    verdict,
    ...(shaped.action === undefined ? {} : { action: shaped.action }),
    integrationId: ctx.integrationId,
    raw: data,
  };
}

/** The alert's fields that depend on the log type; `verdict` is what Mimecast said, if anything. */
type Shaped = Pick<Alert, "alertType" | "direction" | "email" | "url" | "file" | "action"> & {
  verdict: string | undefined;
};

const SHAPES: { [K in TtpLogType]: (log: never, config: Config) => Shaped } = {
  url: (log: ClickLog, config: Config): Shaped => ({
    alertType: urlAlertType(log),
    direction: directionFromRoute(log.route) ?? inferDirection({
      from: log.fromUserEmailAddress,
      to: log.userEmailAddress,
      senderIp: log.sendingIp,
      senderInternal: log.sendingIp === "Internal IP",
    }, config),
    email: email(log.fromUserEmailAddress, log.userEmailAddress, log.subject, log.messageId),
    url: log.url,
    verdict: log.scanResult,
    action: log.action ?? log.actions,
  }),
  attachment: (log: AttachmentLog, config: Config): Shaped => ({
    alertType: "Unsafe Email Attachment",
    direction: directionFromRoute(log.route) ??
      inferDirection({ from: log.senderAddress, to: log.recipientAddress }, config),
    email: email(log.senderAddress, log.recipientAddress, log.subject, log.messageId),
    file: file(log.fileName, log.fileType, log.fileHash),
    verdict: log.result,
    action: log.actionTriggered,
  }),
  // Impersonation Protect applies to inbound mail, so inbound is the fallback when nothing tells.
  impersonation: (log: ImpersonationLog, config: Config): Shaped => ({
    alertType: "Impersonation Attempt",
    direction: inferDirection(
      { from: log.senderAddress, to: log.recipientAddress, senderIp: log.senderIpAddress },
      config,
      "inbound",
    ),
    email: email(log.senderAddress, log.recipientAddress, log.subject, log.messageId),
    verdict: log.taggedMalicious ? "malicious" : "suspicious",
    action: log.action,
  }),
};

function email(from?: string, to?: string, subject?: string, messageId?: string): Alert["email"] {
  const out: Alert["email"] = {};
  if (from !== undefined) out.from = from;
  if (to !== undefined) out.to = to;
  if (subject !== undefined) out.subject = subject;
  if (messageId !== undefined) out.messageId = messageId;
  return out;
}

function file(name?: string, type?: string, sha256?: string): Alert["file"] {
  const out: NonNullable<Alert["file"]> = {};
  if (name !== undefined) out.name = name;
  if (type !== undefined) out.type = type;
  if (sha256 !== undefined) out.sha256 = sha256;
  return out;
}
