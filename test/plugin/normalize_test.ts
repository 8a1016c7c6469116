import { deepStrictEqual, equal, fail, throws } from "node:assert/strict";
import * as v from "valibot";
import { configSchema } from "../../plugin/config.ts";
import { normalize, urlAlertType } from "../../plugin/normalize.ts";
import { InvalidRecordError } from "../../plugin/errors.ts";
import { directionFromRoute } from "../../plugin/direction.ts";
import { threatFor } from "../../plugin/threats.ts";
import type { MimecastRecord } from "../../plugin/records.ts";
import { SIM_CLIENT } from "../../fixtures/simulator/mod.ts";

const DIR = new URL("../../fixtures/mimecast/", import.meta.url);

interface Case {
  logType?: MimecastRecord["logType"];
  config: Record<string, unknown>;
  records: unknown[];
}

/** Normalizes a fixture case into what the golden file holds. */
function runCase(fixture: Case) {
  const config = v.parse(configSchema, { ...SIM_CLIENT, ...fixture.config });
  const counts: Record<string, number> = {};
  const ctx = {
    integrationId: "int-golden",
    config,
    count: (n: string) => void (counts[n] = (counts[n] ?? 0) + 1),
  };
  const alerts: unknown[] = [];
  const filtered: number[] = [];
  const invalid: { index: number; issues: unknown }[] = [];
  fixture.records.forEach((item, index) => {
    const record =
      (fixture.logType ? { logType: fixture.logType, data: item } : item) as MimecastRecord;
    try {
      const alert = normalize(record, ctx);
      if (alert === null) filtered.push(index);
      else alerts.push(alert);
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      invalid.push({ index, issues: error.issues });
    }
  });
  return JSON.parse(JSON.stringify({ alerts, filtered, invalid, counts }));
}

for await (const entry of Deno.readDir(DIR)) {
  if (!entry.name.endsWith(".json") || entry.name.endsWith(".expected.json")) continue;
  const name = entry.name.replace(/\.json$/, "");
  Deno.test(`normalize() matches the golden alerts of ${name}`, async () => {
    const fixture: Case = JSON.parse(await Deno.readTextFile(new URL(entry.name, DIR)));
    const actual = runCase(fixture);
    const goldenUrl = new URL(`${name}.expected.json`, DIR);
    if (Deno.env.get("UPDATE_GOLDEN") === "1") {
      await Deno.writeTextFile(goldenUrl, JSON.stringify(actual, null, 2) + "\n");
    }
    deepStrictEqual(actual, JSON.parse(await Deno.readTextFile(goldenUrl)));
  });
}

const ctx = (extra: Record<string, unknown> = {}) => ({
  integrationId: "i1",
  config: v.parse(configSchema, { ...SIM_CLIENT, ...extra }),
  count: () => {},
});

Deno.test("urlAlertType() follows the seed's rule", async (t) => {
  await t.step("empty ttpDefinition takes creationMethod", () => {
    equal(
      urlAlertType({ ttpDefinition: "", creationMethod: "User Click", reason: "x" }),
      "User Click",
    );
  });
  await t.step("a reason wins over ttpDefinition", () => {
    equal(
      urlAlertType({ ttpDefinition: "Def", reason: "IP Temporarily Blacklisted" }),
      "IP Temporarily Blacklisted",
    );
  });
  await t.step("without a reason, ttpDefinition is the type", () => {
    equal(
      urlAlertType({ ttpDefinition: "Default Inbound URL Protect Definition" }),
      "Default Inbound URL Protect Definition",
    );
  });
  await t.step("all empty gives URL Protection", () => {
    equal(urlAlertType({ ttpDefinition: " ", creationMethod: "" }), "URL Protection");
  });
});

Deno.test("threatFor() covers every row of the seed's table and the log type defaults", () => {
  const table: [string, string, string][] = [
    ["Impersonation Attempt", "T1598.003", "Spearphishing Link"],
    ["Unsafe Email Attachment", "T1598.002", "Spearphishing Attachment"],
    ["URL Protection", "T1598.003", "Spearphishing Link"],
    ["Default URL Protection", "T1598.003", "Spearphishing Link"],
    ["IP Temporarily Blacklisted", "TA0001", "Initial Access"],
    ["Submitter failed to authenticate", "T1078", "Valid Accounts"],
    ["Anti-Spoofing policy - Inbound not allowed", "T1598.003", "Spearphishing Link"],
    ["Invalid Recipient", "TA0005", "Defense Evasion"],
    ["Exceeding outbound thread limit", "T1041", "Exfiltration Over C2 Channel"],
    ["Message bounced due to Content Examination Policy", "T1598", "Phishing for Information"],
    ["Default Inbound URL Protect Definition", "T1598.003", "Spearphishing Link"],
  ];
  for (const [alertType, threatId, threatName] of table) {
    deepStrictEqual(threatFor(alertType, "url"), { threatId, threatName }, alertType);
  }
  deepStrictEqual(threatFor("Something new", "attachment"), {
    threatId: "T1598.002",
    threatName: "Spearphishing Attachment",
  });
  deepStrictEqual(threatFor("Something new", "impersonation"), {
    threatId: "T1598.003",
    threatName: "Spearphishing Link",
  });
  deepStrictEqual(
    threatFor("user click", "url", [{
      alertType: "User Click",
      threatId: "T1204.001",
      threatName: "Malicious Link",
    }]),
    { threatId: "T1204.001", threatName: "Malicious Link" },
  );
});

Deno.test("normalize() gives the same id for the same record, whatever its date spelling", () => {
  const data = {
    date: "2025-03-04T10:00:00+0000",
    userEmailAddress: "a@x.example",
    url: "https://u.example/",
    scanResult: "malicious",
    messageId: "<m>",
  };
  const a = normalize({ logType: "url", data }, ctx())!;
  const b = normalize(
    { logType: "url", data: { ...data, date: "2025-03-04T10:00:00Z", extra: 1 } },
    ctx(),
  )!;
  equal(a.id, b.id);
  const c = normalize(
    { logType: "url", data: { ...data, userEmailAddress: "b@x.example" } },
    ctx(),
  )!;
  equal(a.id === c.id, false);
});

/** A context that counts what normalize() counts. */
function countingCtx() {
  const counts: Record<string, number> = {};
  return {
    counts,
    ctx: { ...ctx(), count: (n: string) => void (counts[n] = (counts[n] ?? 0) + 1) },
  };
}

const URL_CLICK = {
  date: "2025-03-04T09:41:07+0000",
  userEmailAddress: "r.ortega@acme-corp.example",
  url: "https://login-verify.example/session?id=88a1",
  messageId: "<7f3c2a10.4b2e@mail.invoices-portal.example>",
};
const ATTACHMENT = {
  date: "2025-03-04T08:02:11+0000",
  recipientAddress: "finance@acme-corp.example",
  fileHash: "9b4e3c0f1d2a5b6c7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f",
};
const IMPERSONATION = { id: "MTOKEN:1", eventTime: "2025-03-04T10:05:19+0000" };

Deno.test("normalize() filters only clean verdicts and delivers a missing or unfamiliar one as drift", async (t) => {
  // [log type, record, verdict delivered (null: filtered), drift counted]
  const cases: [MimecastRecord["logType"], Record<string, unknown>, string | null, number][] = [
    ["url", { ...URL_CLICK, scanResult: "malicious" }, "malicious", 0],
    ["url", { ...URL_CLICK, scanResult: "clean" }, null, 0],
    ["url", { ...URL_CLICK, scanResult: "Clean" }, null, 0],
    ["url", URL_CLICK, "unknown", 1],
    ["url", { ...URL_CLICK, scanResult: "" }, "unknown", 1],
    ["url", { ...URL_CLICK, scanResult: null }, "unknown", 1],
    ["url", { ...URL_CLICK, scanResult: "suspicious" }, "suspicious", 1],
    ["attachment", { ...ATTACHMENT, result: "malicious" }, "malicious", 0],
    ["attachment", { ...ATTACHMENT, result: "safe" }, null, 0],
    ["attachment", { ...ATTACHMENT, result: "SAFE" }, null, 0],
    ["attachment", { ...ATTACHMENT, result: "clean" }, null, 0],
    ["attachment", { ...ATTACHMENT, result: "timeout" }, "timeout", 0],
    ["attachment", { ...ATTACHMENT, result: "unknown" }, "unknown", 0],
    ["attachment", ATTACHMENT, "unknown", 1],
    ["attachment", { ...ATTACHMENT, result: "sandbox-skipped" }, "sandbox-skipped", 1],
    ["impersonation", { ...IMPERSONATION, taggedMalicious: true }, "malicious", 0],
    ["impersonation", { ...IMPERSONATION, taggedMalicious: "true" }, "malicious", 0],
    ["impersonation", { ...IMPERSONATION, taggedMalicious: 1 }, "malicious", 0],
    ["impersonation", { ...IMPERSONATION, taggedMalicious: "False" }, "suspicious", 0],
    ["impersonation", { ...IMPERSONATION, taggedMalicious: "yes" }, "suspicious", 0],
    ["impersonation", IMPERSONATION, "suspicious", 0],
  ];
  for (const [logType, data, verdict, drift] of cases) {
    await t.step(
      `${logType} ${JSON.stringify(data.scanResult ?? data.result ?? data.taggedMalicious)}`,
      () => {
        const { counts, ctx } = countingCtx();
        const alert = normalize({ logType, data }, ctx);
        equal(alert?.verdict ?? null, verdict);
        equal(counts.drift ?? 0, drift);
        if (alert) equal(alert.raw, data, "raw is the record as sent");
      },
    );
  }
});

/** The issues normalize() reports for a record it refuses. */
function issuesOf(record: MimecastRecord) {
  try {
    normalize(record, ctx());
  } catch (error) {
    if (error instanceof InvalidRecordError) return error.issues;
    throw error;
  }
  return fail("normalize() accepted the record");
}

const { date: _date, ...URL_CLICK_UNTIMED } = URL_CLICK;

Deno.test("normalize() refuses a record only when it cannot be timed or told apart", async (t) => {
  const apart = (fields: string) =>
    `Cannot tell the record apart from others: ${fields} are all missing or empty, so its key would be the time alone`;
  const cases: [string, MimecastRecord, { path: string; message: string }[]][] = [
    ["url without date", {
      logType: "url",
      data: URL_CLICK_UNTIMED,
    }, [{ path: "date", message: "Cannot time the record: date is missing" }]],
    ["url with a date that does not parse", {
      logType: "url",
      data: { ...URL_CLICK, date: "04/03/2025 09:41" },
    }, [{
      path: "date",
      message:
        'Cannot time the record: date "04/03/2025 09:41" is not a time like 2025-03-04T08:02:11+0000',
    }]],
    ["attachment with an epoch date", {
      logType: "attachment",
      data: { ...ATTACHMENT, date: 1741075331000 },
    }, [{
      path: "date",
      message: "Cannot time the record: date is a number, not a time like 2025-03-04T08:02:11+0000",
    }]],
    ["impersonation without eventTime", {
      logType: "impersonation",
      data: { id: "MTOKEN:1", date: IMPERSONATION.eventTime },
    }, [{ path: "eventTime", message: "Cannot time the record: eventTime is missing" }]],
    ["url with nothing but its date", {
      logType: "url",
      data: { date: URL_CLICK.date, userEmailAddress: "", scanResult: "malicious" },
    }, [{ path: "", message: apart("userEmailAddress, url and messageId") }]],
    ["attachment with nothing but its date", {
      logType: "attachment",
      data: { date: ATTACHMENT.date, senderAddress: "<>", result: "malicious", fileHash: true },
    }, [{ path: "", message: apart("recipientAddress, fileHash and messageId") }]],
    ["impersonation without id, recipient or messageId", {
      logType: "impersonation",
      data: { eventTime: IMPERSONATION.eventTime, id: "", senderAddress: "a@b.example" },
    }, [{ path: "", message: apart("id, recipientAddress and messageId") }]],
    ["null in place of a record", { logType: "url", data: null as never }, [
      { path: "", message: "Expected the record as a JSON object but received null" },
    ]],
    ["a value fetch wrapped as { value }", { logType: "url", data: { value: 42 } }, [
      { path: "date", message: "Cannot time the record: date is missing" },
      { path: "", message: apart("userEmailAddress, url and messageId") },
    ]],
  ];
  for (const [name, record, issues] of cases) {
    await t.step(name, () => {
      deepStrictEqual(issuesOf(record), issues);
    });
  }
  await t.step("one key part is enough, whatever it is", () => {
    for (const field of ["userEmailAddress", "url", "messageId"]) {
      const data = { date: URL_CLICK.date, [field]: "x" };
      equal(normalize({ logType: "url", data }, ctx())?.verdict, "unknown", field);
    }
    const byNumber = { date: URL_CLICK.date, messageId: 4487 };
    equal(normalize({ logType: "url", data: byNumber }, ctx())?.email.messageId, "4487");
  });
});

Deno.test("directionFromRoute() knows Mimecast's four routes, external included", () => {
  const cases: [unknown, string | undefined][] = [
    ["inbound", "inbound"],
    ["outbound", "outbound"],
    ["internal", "internal"],
    ["external", "external"],
    ["External", "external"],
    [" Inbound ", "inbound"],
    ["all", undefined],
    ["", undefined],
    [undefined, undefined],
    [3, undefined],
  ];
  for (const [route, direction] of cases) equal(directionFromRoute(route), direction, `${route}`);
  const alert = normalize({
    logType: "attachment",
    data: { ...ATTACHMENT, result: "malicious", route: "external", senderAddress: "a@x.example" },
  }, ctx({ internalDomains: ["acme-corp.example"] }));
  equal(alert?.direction, "external");
});

Deno.test("normalize() tells direction from internal networks when there is no route", () => {
  const alert = normalize({
    logType: "impersonation",
    data: {
      id: "x",
      eventTime: "2025-03-04T10:00:00+0000",
      senderAddress: "a@other.example",
      recipientAddress: "b@else.example",
      senderIpAddress: "10.2.3.4",
    },
  }, ctx({ internalNetworks: ["10.0.0.0/8"] }))!;
  equal(alert.direction, "outbound");
});

Deno.test("normalize() rejects a record of an unknown log type with an InvalidRecordError", () => {
  throws(() => normalize({ logType: "dlp" as never, data: {} }, ctx()), InvalidRecordError);
});
