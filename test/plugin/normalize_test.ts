import { deepStrictEqual, equal, throws } from "node:assert/strict";
import * as v from "valibot";
import { configSchema } from "../../plugin/config.ts";
import { normalize, urlAlertType } from "../../plugin/normalize.ts";
import { InvalidRecordError } from "../../plugin/errors.ts";
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

Deno.test("normalize() counts an unknown verdict as drift and still delivers it", () => {
  let drift = 0;
  const alert = normalize({
    logType: "attachment",
    data: {
      date: "2025-03-04T10:00:00+0000",
      result: "sandbox-skipped",
      recipientAddress: "a@x.example",
    },
  }, { ...ctx(), count: (n) => void (n === "drift" && drift++) });
  equal(alert?.verdict, "sandbox-skipped");
  equal(drift, 1);
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
