/**
 * valibot schemas of the three TTP record kinds (research §5.2–§5.4), and the per-type facts the
 * rest of the plugin needs: where the records sit in a response, the time field, the record key.
 * Objects are loose: fields Mimecast adds later pass through and stay in the alert's `raw`.
 * @module
 */
import * as v from "valibot";
import type { LogType } from "./config.ts";
import { parseMimecastDate } from "./dates.ts";

const date = v.pipe(
  v.string("Expected a date string"),
  v.check(
    (text) => !Number.isNaN(parseMimecastDate(text)),
    "Expected a date like 2025-03-04T08:02:11+0000",
  ),
);
const text = v.optional(v.string());
const required = (what: string) =>
  v.pipe(v.string(`Expected ${what} as a string`), v.nonEmpty(`${what} is empty`));

/** A URL Protect click log (`clickLogs[]`). */
export const clickLog = v.looseObject({
  date,
  userEmailAddress: required("userEmailAddress"),
  url: required("url"),
  scanResult: required("scanResult"),
  fromUserEmailAddress: text,
  ttpDefinition: text,
  reason: text,
  creationMethod: text,
  subject: text,
  action: text,
  actions: text,
  route: text,
  category: text,
  sendingIp: text, // not always an IP: "Internal IP" is common
  messageId: text,
  emailPartsDescription: v.optional(v.array(v.string())),
  tagMap: v.optional(v.record(v.string(), v.unknown())),
});

/** An Attachment Protect log (`attachmentLogs[]`). */
export const attachmentLog = v.looseObject({
  date,
  result: required("result"),
  recipientAddress: required("recipientAddress"),
  senderAddress: text, // "<>" for null senders
  fileName: text,
  fileType: text,
  fileHash: text,
  actionTriggered: text,
  details: text,
  route: text,
  definition: text,
  subject: text,
  messageId: text,
});

/** An Impersonation Protect log (`impersonationLogs[]`). */
export const impersonationLog = v.looseObject({
  id: text,
  eventTime: date,
  senderAddress: text,
  recipientAddress: text,
  senderIpAddress: text,
  subject: text,
  definition: text,
  hits: v.optional(v.number()),
  identifiers: v.optional(v.array(v.string())),
  action: text,
  taggedExternal: v.optional(v.boolean()),
  taggedMalicious: v.optional(v.boolean()),
  impersonationResults: v.optional(v.array(v.looseObject({
    impersonationDomainSource: text,
    similarDomain: text,
    stringSimilarToDomain: text,
    checkerResult: text,
  }))),
  messageId: text,
});

/** A click log after validation. */
export type ClickLog = v.InferOutput<typeof clickLog>;
/** An attachment log after validation. */
export type AttachmentLog = v.InferOutput<typeof attachmentLog>;
/** An impersonation log after validation. */
export type ImpersonationLog = v.InferOutput<typeof impersonationLog>;

/** A record as the plugin's `fetch` yields it: its log type and Mimecast's object untouched. */
export interface MimecastRecord {
  logType: LogType;
  data: Record<string, unknown>;
}

/** Per log type: endpoint path, the array in `data[0]`, the schema and the record's time field. */
export const LOG_KINDS = {
  url: { path: "/api/ttp/url/get-logs", array: "clickLogs", schema: clickLog, timeField: "date" },
  attachment: {
    path: "/api/ttp/attachment/get-logs",
    array: "attachmentLogs",
    schema: attachmentLog,
    timeField: "date",
  },
  impersonation: {
    path: "/api/ttp/impersonation/get-logs",
    array: "impersonationLogs",
    schema: impersonationLog,
    timeField: "eventTime",
  },
} as const;

/** The record's time in epoch ms, or NaN when it has none that parses. */
export function recordTime(logType: LogType, data: Record<string, unknown>): number {
  const value = data[LOG_KINDS[logType].timeField];
  return typeof value === "string" ? parseMimecastDate(value) : NaN;
}

const str = (value: unknown) => (typeof value === "string" ? value : "");

/**
 * The record's identity (SPEC §3.6): url `date|userEmailAddress|url|messageId`, attachment
 * `date|recipientAddress|fileHash|messageId`, impersonation `id` (else `eventTime|recipient|messageId`).
 * The date is normalised to epoch seconds so `+0000` and `Z` spellings give the same key; pass
 * the record's time when it is already known.
 */
export function recordKey(
  logType: LogType,
  data: Record<string, unknown>,
  time: number = recordTime(logType, data),
): string {
  if (logType === "impersonation" && typeof data.id === "string" && data.id !== "") return data.id;
  const when = Number.isNaN(time)
    ? str(data[LOG_KINDS[logType].timeField])
    : String(Math.floor(time / 1000));
  switch (logType) {
    case "url":
      return [when, str(data.userEmailAddress), str(data.url), str(data.messageId)].join("|");
    case "attachment":
      return [when, str(data.recipientAddress), str(data.fileHash), str(data.messageId)].join("|");
    case "impersonation":
      return [when, str(data.recipientAddress), str(data.messageId)].join("|");
  }
}
