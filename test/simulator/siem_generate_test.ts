/** The SIEM event generator and the API 1.0 shape (research §3.1-§3.5, §9 item 11). */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import {
  generateSiemEvents,
  SEED_REJECTIONS,
  type SiemEvent,
  toV1Event,
} from "../../fixtures/simulator/mod.ts";

const START = Date.UTC(2025, 2, 4, 6, 0, 0);

/**
 * SPEC §3.8's default rules, written independently of the plugin: case-insensitive, dashes and
 * spaces normalised, the reason at the start of `rejectionInfo` (a link or codes may follow),
 * else of `rejectionType`.
 */
function normalise(text: string): string {
  return text.toLowerCase().replace(/[\u2013\u2014\u2212]/g, "-").replace(/\s*-\s*/g, "-")
    .replace(/\s+/g, " ").trim();
}
function seedReasonOf(text: unknown): string | null {
  if (typeof text !== "string") return null;
  const normal = normalise(text);
  return SEED_REJECTIONS.find((reason) => normal.startsWith(normalise(reason))) ?? null;
}
function expectedAlert(event: SiemEvent): string | null {
  if (event.type !== "receipt" || event.action !== "Rej") return null;
  return seedReasonOf(event.rejectionInfo) ?? seedReasonOf(event.rejectionType);
}

Deno.test("generateSiemEvents(): alertTypes are exactly what the default rules make of the receipt events", () => {
  const { events, alertTypes } = generateSiemEvents(800, { start: START });
  equal(events.length, 800);
  equal(alertTypes.length, 800);
  events.forEach((event, i) => {
    equal(alertTypes[i], expectedAlert(event), `event ${i}: ${JSON.stringify(event)}`);
    if (alertTypes[i] !== null) {
      ok(SEED_REJECTIONS.includes(alertTypes[i]!));
      equal(event.type, "receipt");
      equal(event.action, "Rej");
      equal(event.subtype, "Rej");
      equal(typeof event.rejectionCode, "string");
    }
  });
  const alerts = alertTypes.filter((a) => a !== null);
  deepStrictEqual(new Set(alerts), new Set(SEED_REJECTIONS), "all six reasons occur");
  const accepted = events.filter((e) => e.action === "Acc").length;
  ok(accepted / events.length >= 0.7, `accepted mail in bulk (${accepted} of 800)`);
  ok(alerts.length > 0 && alerts.length < 0.25 * events.length);
});

Deno.test("generateSiemEvents(): the reasons come in varied spellings, some only in rejectionType, beside other rejections", () => {
  const { events, alertTypes } = generateSiemEvents(800, { start: START });
  const infos = events.map((e) => e.rejectionInfo).filter((i): i is string =>
    typeof i === "string"
  );
  const has = (pattern: RegExp) => infos.some((info) => pattern.test(info));
  ok(has(/^IP Temporarily Blacklisted$/), "the seed's spelling");
  ok(has(/^IP temporarily blacklisted - https:\/\/community\.mimecast\.com\/docs\/DOC-1369#451$/));
  ok(has(/^ip temporarily blacklisted$/), "lower case");
  ok(has(/^INVALID RECIPIENT$/), "upper case");
  ok(has(/ – https:/), "an en dash before the link");
  ok(has(/^Anti–Spoofing policy – Inbound not allowed$/), "en dashes");
  ok(has(/^Anti-Spoofing policy-Inbound not allowed$/), "no spaces around the dash");
  ok(has(/^ Invalid {2}Recipient $/), "extra spaces");
  ok(has(/^Invalid recipient \(550\)$/), "a trailing code");
  const onlyType = events.filter((e, i) =>
    alertTypes[i] !== null && seedReasonOf(e.rejectionInfo) === null
  );
  ok(onlyType.length > 0, "some carry the reason only in rejectionType");
  ok(onlyType.some((e) => e.rejectionInfo === null) && onlyType.some((e) => e.rejectionInfo));
  // Other rejections are no seed alert.
  for (const type of ["IP Found in RBL", "Manual Envelope Rejection", "Header Rejected"]) {
    const found = events.filter((e) => e.rejectionType === type);
    ok(found.length > 0, type);
    ok(found.every((e) => e.action === "Rej" && alertTypes[events.indexOf(e)] === null), type);
  }
  match(
    String(events.find((e) => e.rejectionType === "IP Found in RBL")!.rejectionInfo),
    /^sip\.invaluement\.mimecast\.org Blocked by /,
  );
  equal(
    events.find((e) => e.rejectionType === "Manual Envelope Rejection")!.rejectionInfo,
    "Envelope blocked - User Entry",
  );
});

Deno.test("generateSiemEvents(): recorded quirks: strings for numbers, nulls, mixed-case direction, repeated _offset", () => {
  const { events } = generateSiemEvents(400, { start: START, stepMs: 250 });
  events.forEach((event, i) => {
    equal(event.timestamp, START + i * 250);
    equal(typeof event.numberAttachments, "string");
    ok(event.spamScore === null || typeof event.spamScore === "string");
    ok(
      event.spamProcessingDetail === null ||
        typeof JSON.parse(String(event.spamProcessingDetail)) === "object",
    );
    match(String(event.aggregateId), /^[A-Za-z0-9_-]{22}_\d{10}$/);
  });
  const directions = new Set(events.map((e) => e.direction));
  for (const d of ["Inbound", "inbound", "Outbound", "outbound", "Internal"]) {
    ok(directions.has(d), d);
  }
  const offsets = events.map((e) => e._offset);
  ok(new Set(offsets).size < offsets.length, "_offset repeats");
  ok(
    events.some((e) => e.action === "Rej" && !("receiptErrors" in e)),
    "some rejections lack the key",
  );
  ok(events.filter((e) => e.messageId === null).length > 10);
});

Deno.test("generateSiemEvents(): the same index is the same event in any batch; other stages never alert", () => {
  const whole = generateSiemEvents(120, { start: START });
  const part = generateSiemEvents(50, { start: START, offset: 30 });
  deepStrictEqual(part, {
    events: whole.events.slice(30, 80),
    alertTypes: whole.alertTypes.slice(30, 80),
  });

  const receiptIds = new Set(
    whole.events.filter((e) => e.action === "Acc").map((e) => e.aggregateId),
  );
  for (const stage of ["process", "delivery", "journal"] as const) {
    const { events, alertTypes } = generateSiemEvents(120, { start: START, stage });
    ok(alertTypes.every((a) => a === null), stage);
    ok(events.every((e) => e.type === stage), stage);
    // They belong to accepted messages of the receipt stream.
    ok(events.every((e) => receiptIds.has(e.aggregateId)), `${stage} shares aggregateId`);
    if (stage === "process") {
      ok(events.every((e) => !("rejectionInfo" in e)));
      deepStrictEqual(new Set(events.map((e) => e.action)), new Set(["Acc", "Hld", "Sdbx"]));
    }
  }
  // Delivery decoys: the next hop's refusals read like seed reasons.
  const delivery = generateSiemEvents(120, { start: START, stage: "delivery" }).events;
  const decoys = delivery.filter((e) => seedReasonOf(e.rejectionInfo) !== null);
  ok(decoys.length >= 6, `${decoys.length} decoys`);
  ok(decoys.every((e) => e.delivered === "false" && e.subtype === "false"));
});

Deno.test("toV1Event(): API 1.0's keys, datetime and value types", () => {
  const { events } = generateSiemEvents(40, { start: START + 999 });
  const rejected = events[3];
  const v1 = toV1Event(rejected);
  equal(v1.datetime, "2025-03-04T06:00:03+0000");
  equal(v1.aCode, rejected.aggregateId);
  equal(v1.acc, "C12A34");
  equal(v1.Act, "Rej");
  equal(v1.RejType, rejected.rejectionType);
  equal(v1.RejCode, "550");
  equal(v1.RejInfo, rejected.rejectionInfo);
  equal(v1.IP, rejected.senderIp);
  equal(v1.Dir, rejected.direction);
  equal(v1.Rcpt, rejected.recipients);
  equal(v1.Sender, rejected.senderEnvelope);
  equal(v1.MsgId, null);
  ok(!("timestamp" in v1) && !("rejectionInfo" in v1), "no API 2.0 keys");

  const acceptedEvent = events.find((e) => e.action === "Acc" && e.spamScore !== null)!;
  const acceptedV1 = toV1Event(acceptedEvent);
  equal(acceptedV1.SpamScore, Number(acceptedEvent.spamScore));
  if (acceptedEvent.spamProcessingDetail) {
    deepStrictEqual(
      acceptedV1.SpamProcessingDetail,
      JSON.parse(String(acceptedEvent.spamProcessingDetail)),
    );
  }
  const journal = toV1Event(generateSiemEvents(1, { start: START, stage: "journal" }).events[0]);
  equal(journal.RcptActType, "Jnl");
  const delivery = toV1Event(generateSiemEvents(1, { start: START, stage: "delivery" }).events[0]);
  equal(typeof delivery.Delivered, "boolean");
  equal(typeof delivery.Latency, "number");
});
