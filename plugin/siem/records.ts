/**
 * MTA receipt events (SPEC §3.8, research/mimecast-siem.md §3): API 1.0 files spell them
 * `datetime`, `aCode`, `Rcpt`, `Act`, `RejType`, `RejCode`, `RejInfo`, `IP`, `Dir`…; API 2.0
 * batch files `timestamp` (epoch ms), `aggregateId`, `recipients`, `action`, `rejectionType`,
 * `rejectionCode`, `rejectionInfo`, `senderIp`, `direction`…. Numbers may come as strings and
 * most fields may be null. An event is invalid only when it cannot be timed or told apart from
 * others; every other field is read leniently.
 * @module
 */
import * as v from "valibot";
import type { Issue } from "../../host/types.ts";
import { parseMimecastDate } from "../dates.ts";
import { lenient, text } from "../records.ts";

/** The fields an alert uses, whichever API spelled them. */
export interface Receipt {
  /** Epoch ms. */
  time: number;
  key: string;
  stage?: string;
  action?: string;
  category?: string;
  code?: string;
  info?: string;
  from?: string;
  to?: string;
  ip?: string;
  direction?: string;
  messageId?: string;
  subject?: string;
}

const fields = {
  // API 1.0
  datetime: text,
  aCode: text,
  Rcpt: text,
  Sender: text,
  Act: text,
  RejType: text,
  RejCode: text,
  RejInfo: text,
  IP: text,
  Dir: text,
  MsgId: text,
  Subject: text,
  // API 2.0
  timestamp: lenient(
    v.union([v.number(), v.pipe(v.string(), v.trim(), v.decimal(), v.transform(Number))]),
  ),
  type: text,
  aggregateId: text,
  recipients: text,
  senderEnvelope: text,
  action: text,
  rejectionType: text,
  rejectionCode: text,
  rejectionInfo: text,
  senderIp: text,
  direction: text,
  messageId: text,
  subject: text,
};

/** A receipt event in either spelling; extra fields pass through. */
export const receiptEvent = v.looseObject(
  fields,
  (issue) => `Expected the event as a JSON object but received ${issue.received}`,
);

const blank = (value: string | undefined) => value === undefined || value.trim() === "";

/** Reads an event into the alert's fields, or the reasons it is invalid. */
export function readReceipt(data: unknown): Receipt | Issue[] {
  const parsed = v.safeParse(receiptEvent, data);
  if (!parsed.success) {
    return parsed.issues.map((i) => ({ path: v.getDotPath(i) ?? "", message: i.message }));
  }
  const e = parsed.output;
  const v2 = e.timestamp !== undefined || e.aggregateId !== undefined;
  const time = v2 ? e.timestamp ?? NaN : e.datetime ? parseMimecastDate(e.datetime) : NaN;
  const issues: Issue[] = [];
  if (!Number.isFinite(time)) {
    const field = v2 ? "timestamp" : "datetime";
    issues.push({
      path: field,
      message: `Cannot time the event: ${field} is missing or not a time`,
    });
  }
  const aggregate = v2 ? e.aggregateId : e.aCode;
  const recipient = v2 ? e.recipients : e.Rcpt;
  if (blank(aggregate) && blank(recipient)) {
    issues.push({
      path: "",
      message: `Cannot tell the event apart from others: ${
        v2 ? "aggregateId and recipients are" : "aCode and Rcpt are"
      } both missing`,
    });
  }
  if (issues.length > 0) return issues;
  const code = v2 ? e.rejectionCode : e.RejCode;
  const info = v2 ? e.rejectionInfo : e.RejInfo;
  // SPEC §3.8 keys: aCode|datetime|Rcpt|RejCode|RejInfo, aggregateId|timestamp|recipients|….
  const key = [aggregate, v2 ? String(e.timestamp) : e.datetime, recipient, code, info]
    .map((part) => part ?? "").join("|");
  return {
    time,
    key,
    stage: e.type,
    action: v2 ? e.action : e.Act,
    category: v2 ? e.rejectionType : e.RejType,
    code,
    info,
    from: v2 ? e.senderEnvelope : e.Sender,
    to: recipient,
    ip: v2 ? e.senderIp : e.IP,
    direction: v2 ? e.direction : e.Dir,
    messageId: v2 ? e.messageId : e.MsgId,
    subject: v2 ? e.subject : e.Subject,
  };
}
