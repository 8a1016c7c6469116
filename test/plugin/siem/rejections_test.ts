import { deepStrictEqual, equal, match, throws } from "node:assert/strict";
import * as v from "valibot";
import { configSchema } from "../../../plugin/config.ts";
import { InvalidRecordError } from "../../../plugin/errors.ts";
import { normalize } from "../../../plugin/normalize.ts";
import { foldText, RejectionRules, SEED_REJECTION_RULES } from "../../../plugin/siem/rules.ts";
import { SIM_CLIENT } from "../../../fixtures/simulator/mod.ts";

const config = (extra: Record<string, unknown> = {}) =>
  v.parse(configSchema, { ...SIM_CLIENT, logTypes: ["rejections"], ...extra });

function run(data: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const notes: Record<string, number> = {};
  const alert = normalize({ logType: "rejections", data }, {
    integrationId: "int-1",
    config: config(extra),
    count: (name) => void (notes[name] = (notes[name] ?? 0) + 1),
  });
  return { alert, notes };
}

/** API 1.0 receipt event (research/mimecast-siem.md §3.4). */
const V1 = {
  datetime: "2025-03-04T09:12:44+0100",
  aCode: "q7XbT2mLQeOa1Zr0YtU3wA",
  acc: "C12A34",
  Sender: "bulk@203-0-113-9.example.net",
  headerFrom: "news@example.net",
  Rcpt: "ceo@corp.example",
  Act: "Rej",
  RejType: "Invalid Recipient",
  RejCode: "550",
  RejInfo: "Invalid Recipient",
  IP: "203.0.113.9",
  Dir: "Inbound",
  MsgId: null,
  Subject: null,
  SpamScore: 0,
};

/** API 2.0 receipt event (research §3.4). */
const V2 = {
  _offset: 91230,
  _partition: 12,
  accountId: "C12A34",
  aggregateId: "k2VbQ9x0Qe6mN3aP1rT8Yw_1741079564",
  timestamp: 1741079564123,
  type: "receipt",
  subtype: "Rej",
  action: "Rej",
  direction: "internal",
  senderEnvelope: "spam@203-0-113-9.example.net",
  senderHeader: null,
  senderIp: "203.0.113.9",
  recipients: "ceo@corp.example",
  messageId: null,
  subject: null,
  rejectionType: "IP Found in RBL",
  rejectionCode: "451",
  rejectionInfo: "IP temporarily blacklisted - https://community.mimecast.com/docs/DOC-1369#451",
};

Deno.test("rules match the six seed reasons whatever the case, dashes, spaces and trailing links", () => {
  const rules = new RejectionRules();
  const spellings: [string, string][] = [
    [
      "IP temporarily blacklisted - https://community.mimecast.com/docs/DOC-1369#451",
      "IP Temporarily Blacklisted",
    ],
    ["submitter failed to authenticate", "Submitter failed to authenticate"],
    ["Anti-Spoofing policy – Inbound not allowed", "Anti-Spoofing policy - Inbound not allowed"],
    ["anti spoofing  policy -inbound not allowed", "Anti-Spoofing policy - Inbound not allowed"],
    ["550 Invalid Recipient", "Invalid Recipient"],
    ["EXCEEDING OUTBOUND THREAD LIMIT", "Exceeding outbound thread limit"],
    [
      "Message bounced due to Content Examination Policy (rule 7)",
      "Message bounced due to Content Examination Policy",
    ],
  ];
  for (const [info, alertType] of spellings) {
    equal(rules.alertTypeFor(info, undefined), alertType, info);
  }
  equal(SEED_REJECTION_RULES.length, 6);
  equal(foldText("  Anti-Spoofing\tpolicy – Inbound "), "anti spoofing policy inbound");
});

Deno.test("rules try the reason text first, then the category; the config's rows come before the defaults", () => {
  const rules = new RejectionRules([
    { match: "IP Found in RBL", alertType: "IP Temporarily Blacklisted" },
    { match: "invalid recipient", alertType: "Directory Harvest" },
  ]);
  equal(
    rules.alertTypeFor("Envelope blocked - User Entry", "Invalid Recipient"),
    "Directory Harvest",
  );
  equal(
    rules.alertTypeFor("sip.invaluement.mimecast.org Blocked", "IP Found in RBL"),
    "IP Temporarily Blacklisted",
  );
  // The reason text wins over the category.
  equal(
    rules.alertTypeFor("Submitter failed to authenticate", "IP Found in RBL"),
    "Submitter failed to authenticate",
  );
  equal(
    new RejectionRules().alertTypeFor("Envelope blocked - User Entry", "Manual Envelope Rejection"),
    undefined,
  );
  equal(new RejectionRules().alertTypeFor(undefined, undefined), undefined);
});

Deno.test("an API 1.0 receipt rejection becomes the alert of SPEC §4", () => {
  const { alert, notes } = run(V1);
  deepStrictEqual({ ...alert, id: undefined }, {
    id: undefined,
    alertType: "Invalid Recipient",
    threatId: "TA0005",
    threatName: "Defense Evasion",
    logType: "rejections",
    occurredAt: "2025-03-04T08:12:44Z",
    direction: "inbound",
    email: { from: "bulk@203-0-113-9.example.net", to: "ceo@corp.example" },
    verdict: "rejected",
    action: "rejected",
    sender: { ip: "203.0.113.9" },
    rejection: { type: "Invalid Recipient", code: "550", info: "Invalid Recipient" },
    integrationId: "int-1",
    raw: V1,
  });
  match(alert!.id, /^[0-9a-f]{32}$/);
  equal(run({ ...V1 }).alert!.id, alert!.id, "the same event, the same id");
  equal(run({ ...V1, Rcpt: "cfo@corp.example" }).alert!.id === alert!.id, false);
  deepStrictEqual(notes, { "rejections alerted: Invalid Recipient": 1 });
});

Deno.test("an API 2.0 receipt rejection: epoch-ms time, string code, any-case direction, reason in the text", () => {
  const { alert } = run(V2);
  equal(alert!.alertType, "IP Temporarily Blacklisted");
  equal(alert!.threatId, "TA0001");
  equal(alert!.occurredAt, "2025-03-04T09:12:44Z");
  equal(alert!.direction, "internal");
  deepStrictEqual(alert!.sender, { ip: "203.0.113.9" });
  deepStrictEqual(alert!.rejection, {
    type: "IP Found in RBL",
    code: "451",
    info: "IP temporarily blacklisted - https://community.mimecast.com/docs/DOC-1369#451",
  });
  equal(
    run({ ...V2, timestamp: "1741079564123", direction: "INBOUND" }).alert!.direction,
    "inbound",
  );
});

Deno.test("accepted mail, delivery-stage refusals and unmatched rejections are filtered; rejections are counted by reason", () => {
  equal(run({ ...V2, action: "Acc", subtype: "Acc", rejectionInfo: null }).alert, null);
  equal(run({ ...V1, Act: "Acc" }).alert, null);
  // The next mail server's refusal, with a seed text: never a Mimecast rejection alert.
  equal(run({ ...V2, type: "delivery", rejectionInfo: "Invalid Recipient" }).alert, null);
  const dropped = run({
    ...V2,
    rejectionInfo: "sip.invaluement.mimecast.org Blocked by RBL",
    rejectionType: "IP Found in RBL",
  });
  equal(dropped.alert, null);
  deepStrictEqual(dropped.notes, { "rejections not alerted: IP Found in RBL": 1 });
  const custom = run(
    { ...V2, rejectionInfo: "sip.invaluement.mimecast.org Blocked by RBL" },
    { rejectionRules: [{ match: "IP found in RBL", alertType: "RBL Listed Sender" }] },
  );
  equal(custom.alert!.alertType, "RBL Listed Sender");
  equal(
    custom.alert!.threatId,
    "TA0001",
    "an alert type outside the table takes the log type's default",
  );
});

Deno.test("the seed's ATT&CK table holds for every rejection alert type", () => {
  const expected: [string, string][] = [
    ["IP Temporarily Blacklisted", "TA0001"],
    ["Submitter failed to authenticate", "T1078"],
    ["Anti-Spoofing policy - Inbound not allowed", "T1598.003"],
    ["Invalid Recipient", "TA0005"],
    ["Exceeding outbound thread limit", "T1041"],
    ["Message bounced due to Content Examination Policy", "T1598"],
  ];
  for (const [reason, threatId] of expected) {
    const { alert } = run({ ...V1, RejType: null, RejInfo: reason });
    equal(alert!.alertType, reason);
    equal(alert!.threatId, threatId, reason);
  }
});

Deno.test("an event is invalid only when it cannot be timed or told apart", () => {
  throws(
    () => run({ ...V1, datetime: "yesterday" }),
    (e: InvalidRecordError) =>
      e instanceof InvalidRecordError && /Cannot time the event: datetime/.test(e.message),
  );
  throws(
    () => run({ ...V2, timestamp: null }),
    (e: InvalidRecordError) => /Cannot time the event: timestamp/.test(e.message),
  );
  throws(
    () => run({ ...V2, aggregateId: null, recipients: "" }),
    (e: InvalidRecordError) => /aggregateId and recipients are both missing/.test(e.message),
  );
  // Odd optional fields are read leniently or dropped.
  const { alert } = run({ ...V1, RejCode: 550, Subject: { odd: true }, IP: null });
  equal(alert!.rejection!.code, "550");
  equal(alert!.email.subject, undefined);
  equal(alert!.sender, undefined);
});
