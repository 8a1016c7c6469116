import { deepStrictEqual, equal, ok } from "node:assert/strict";
import * as v from "valibot";
import type { TtpLogType as LogType } from "../../plugin/config.ts";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { LOG_KINDS, parseRecord, recordKey } from "../../plugin/records.ts";

/** The smallest valid record of each log type: a time and one key part. */
const BASE: Record<LogType, Record<string, unknown>> = {
  url: { date: "2025-03-04T09:41:07+0000", url: "https://login-verify.example/" },
  attachment: { date: "2025-03-04T08:02:11+0000", recipientAddress: "finance@acme-corp.example" },
  impersonation: { eventTime: "2025-03-04T10:05:19+0000", id: "MTOKEN:1" },
};

const DROPPED = Symbol("dropped");

/** [log type, field, value as sent, value as read (or DROPPED)]. */
const CASES: [LogType, string, unknown, unknown][] = [
  // Text: strings as they are, numbers as their text, anything else dropped.
  ["url", "subject", "Overdue invoice", "Overdue invoice"],
  ["url", "messageId", 4487, "4487"],
  ["url", "sendingIp", "Internal IP", "Internal IP"],
  ["attachment", "senderAddress", "<>", "<>"],
  ["attachment", "details", "Safe      \r\nTime taken: 0 hrs", "Safe      \r\nTime taken: 0 hrs"],
  ["attachment", "fileName", true, DROPPED],
  ["attachment", "subject", null, DROPPED],
  ["impersonation", "senderIpAddress", { v4: "192.0.2.1" }, DROPPED],
  // Flags: booleans, their text in any case, 1 and 0.
  ["impersonation", "taggedMalicious", true, true],
  ["impersonation", "taggedMalicious", "true", true],
  ["impersonation", "taggedMalicious", "True", true],
  ["impersonation", "taggedMalicious", " TRUE ", true],
  ["impersonation", "taggedMalicious", 1, true],
  ["impersonation", "taggedMalicious", "1", true],
  ["impersonation", "taggedMalicious", false, false],
  ["impersonation", "taggedMalicious", "False", false],
  ["impersonation", "taggedExternal", 0, false],
  ["impersonation", "taggedExternal", "0", false],
  ["impersonation", "taggedMalicious", "yes", DROPPED],
  ["impersonation", "taggedMalicious", 2, DROPPED],
  ["impersonation", "taggedMalicious", null, DROPPED],
  // Counts: numbers, or numbers written as text.
  ["impersonation", "hits", 2, 2],
  ["impersonation", "hits", "1", 1],
  ["impersonation", "hits", " 3 ", 3],
  ["impersonation", "hits", "", DROPPED],
  ["impersonation", "hits", "two", DROPPED],
  ["impersonation", "hits", true, DROPPED],
  // Lists of text: arrays (entries that are not text dropped), or one value as a list of one.
  ["impersonation", "identifiers", ["internal_user_name"], ["internal_user_name"]],
  ["impersonation", "identifiers", "newly_observed_domain", ["newly_observed_domain"]],
  ["impersonation", "identifiers", ["a", 3, null, {}], ["a", "3"]],
  ["impersonation", "identifiers", { a: 1 }, DROPPED],
  ["url", "emailPartsDescription", ["Body", "Attachment"], ["Body", "Attachment"]],
  ["url", "emailPartsDescription", "Body", ["Body"]],
  // impersonationResults: objects (kept as sent, fields may be missing) or strings; others dropped.
  ["impersonation", "impersonationResults", [
    { impersonationDomainSource: "targeted_threat_dictionary", stringSimilarToDomain: "bank" },
  ], [{ impersonationDomainSource: "targeted_threat_dictionary", stringSimilarToDomain: "bank" }]],
  ["impersonation", "impersonationResults", ["internal_user_name"], ["internal_user_name"]],
  ["impersonation", "impersonationResults", [{ checkerResult: "hit" }, null, 7, ["x"]], [{
    checkerResult: "hit",
  }]],
  ["impersonation", "impersonationResults", "hit", DROPPED],
  // tagMap: any object.
  ["url", "tagMap", { UrlReputationScan: { Status: ["Malicious"] } }, {
    UrlReputationScan: { Status: ["Malicious"] },
  }],
  ["url", "tagMap", ["UrlReputationScan"], DROPPED],
  ["url", "tagMap", "UrlReputationScan", DROPPED],
];

Deno.test("the record schemas read every optional field leniently and drop what they cannot read", async (t) => {
  for (const [logType, field, sent, read] of CASES) {
    await t.step(`${logType} ${field}: ${JSON.stringify(sent)}`, () => {
      const parsed = v.safeParse(LOG_KINDS[logType].schema, { ...BASE[logType], [field]: sent });
      equal(parsed.success, true, JSON.stringify(parsed.issues));
      const output = parsed.output as Record<string, unknown>;
      if (read === DROPPED) equal(output[field], undefined);
      else deepStrictEqual(output[field], read);
    });
  }
});

Deno.test("the record schemas keep fields Mimecast adds later", () => {
  const parsed = v.parse(LOG_KINDS.url.schema, {
    ...BASE.url,
    adminOverride: "N/A",
    userAwarenessAction: "NA",
    newField: { nested: [1] },
  });
  deepStrictEqual(
    [parsed.adminOverride, parsed.userAwarenessAction, parsed.newField],
    ["N/A", "NA", { nested: [1] }],
  );
});

Deno.test("recordKey() reads a number in a key part as its text, as the schemas do", () => {
  const text = recordKey("attachment", { ...BASE.attachment, messageId: "4487" });
  equal(recordKey("attachment", { ...BASE.attachment, messageId: 4487 }), text);
  equal(text, "1741075331|finance@acme-corp.example||4487");
  equal(recordKey("impersonation", { ...BASE.impersonation, id: 77 }), "77");
  equal(
    recordKey("impersonation", { eventTime: BASE.impersonation.eventTime, messageId: "<m>" }),
    "1741082719||<m>",
  );
});

/** What a parse gives, as plain JSON (undefined fields gone, key order aside). */
function asJson(result: { success: boolean; output: unknown; issues?: { message: string }[] }) {
  return {
    success: result.success,
    output: JSON.parse(JSON.stringify(result.output ?? null)),
    issues: result.issues?.map((issue) => issue.message),
  };
}

Deno.test("parseRecord() gives what the schema gives, skipping valibot only for records already in shape", () => {
  const records: [LogType, unknown][] = [
    ...CASES.map(([logType, field, sent]): [LogType, unknown] => [
      logType,
      { ...BASE[logType], [field]: sent },
    ]),
    ...(["url", "attachment", "impersonation"] as const).flatMap((logType) =>
      generateRecords(logType, 50, { start: Date.parse("2026-03-01T00:00:00Z") })
        .map((record): [LogType, unknown] => [logType, record])
    ),
    ["url", { url: "https://a.example/" }], // no time
    ["url", { date: "yesterday", url: "https://a.example/" }],
    ["attachment", { date: BASE.attachment.date }], // a key of the time alone
    ["impersonation", { eventTime: BASE.impersonation.eventTime, id: "" }],
    ["url", [BASE.url]],
    ["url", null],
    ["url", "a record"],
  ];
  let skipped = 0;
  for (const [logType, record] of records) {
    const fast = parseRecord(logType, record);
    deepStrictEqual(
      asJson(fast),
      asJson(v.safeParse(LOG_KINDS[logType].schema, record)),
      JSON.stringify(record),
    );
    if (fast.success && fast.output === record) skipped++;
  }
  // Every generated record is in the common shape, so each of those skipped valibot.
  ok(skipped >= 150, `${skipped} records skipped valibot`);
});
