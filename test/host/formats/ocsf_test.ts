import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  envelopeOf,
  formatAlert,
  isDestinationFormat,
  OCSF_VERSION,
  storedFormat,
  toDetectionFinding,
} from "../../../host/formats/mod.ts";
import { HostError } from "../../../host/errors.ts";
import type { Alert } from "../../../host/types.ts";
import { schemaProblems } from "./_schema.ts";

const GOLDEN = new URL("../../../fixtures/mimecast/", import.meta.url);

/** One alert of each log type, as SPEC §4 describes them. */
const ALERTS: Record<string, Alert> = {
  url: {
    id: "a65e7f6fcbfb43b4740638d22cecf26c",
    alertType: "Default Inbound URL Protect Definition",
    threatId: "T1598.003",
    threatName: "Spearphishing Link",
    logType: "url",
    occurredAt: "2025-03-04T09:41:07Z",
    direction: "inbound",
    email: {
      from: "billing@invoices-portal.example",
      to: "r.ortega@acme-corp.example",
      subject: "Overdue invoice #44871",
      messageId: "<7f3c2a10.4b2e@mail.invoices-portal.example>",
    },
    url: "https://login-verify.example:8443/session?id=88a1",
    verdict: "malicious",
    action: "warn",
    integrationId: "int-1",
    raw: { url: "https://login-verify.example:8443/session?id=88a1", scanResult: "malicious" },
  },
  attachment: {
    id: "470f9a3cbdeafceaa24e8b0c004bf582",
    alertType: "Unsafe Email Attachment",
    threatId: "T1598.002",
    threatName: "Spearphishing Attachment",
    logType: "attachment",
    occurredAt: "2025-03-04T08:02:11Z",
    direction: "inbound",
    email: {
      from: "accounts@supplier.example",
      to: "finance@acme-corp.example",
      subject: "Remittance advice",
      messageId: "<a81f22c0.77@supplier.example>",
    },
    file: {
      name: "Remittance_0304.xlsm",
      type: "application/vnd.ms-excel.sheet.macroEnabled.12",
      sha256: "9b4e3c0f1d2a5b6c7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f",
    },
    verdict: "malicious",
    action: "none",
    integrationId: "int-1",
    raw: { fileName: "Remittance_0304.xlsm", result: "malicious" },
  },
  impersonation: {
    id: "614cb0472fcdbc6ae22d68f8a51a3145",
    alertType: "Impersonation Attempt",
    threatId: "T1598.003",
    threatName: "Spearphishing Link",
    logType: "impersonation",
    occurredAt: "2025-03-04T10:05:19Z",
    direction: "inbound",
    email: {
      from: "ceo.acme-corp@freemail.example",
      to: "ap@acme-corp.example",
      subject: "Urgent wire today",
      messageId: "<CAB9x7Yp3@mail.freemail.example>",
    },
    verdict: "suspicious",
    action: "hold",
    integrationId: "int-1",
    raw: { id: "MTOKEN:eNq", taggedMalicious: false },
  },
  rejections: {
    id: "d319be30cb4f3e53ee752662a94d7430",
    alertType: "IP Temporarily Blacklisted",
    threatId: "TA0001",
    threatName: "Initial Access",
    logType: "rejections",
    occurredAt: "2025-03-04T09:12:44Z",
    direction: "inbound",
    email: { from: "spam@203-0-113-9.example.net", to: "ceo@corp.example" },
    verdict: "rejected",
    action: "rejected",
    sender: { ip: "203.0.113.9" },
    rejection: { type: "IP Found in RBL", code: "451", info: "IP temporarily blacklisted" },
    integrationId: "int-1",
    raw: { datetime: "2025-03-04T09:12:44+0000", Act: "Rej", IP: "203.0.113.9" },
  },
};

function assertValid(finding: unknown, label: string) {
  deepStrictEqual(schemaProblems(finding), [], `${label} does not fit OCSF ${OCSF_VERSION}`);
}

Deno.test("toDetectionFinding() gives a finding of every log type that fits the OCSF schema", () => {
  for (const [logType, alert] of Object.entries(ALERTS)) {
    const finding = toDetectionFinding(alert);
    assertValid(finding, logType);
    equal(finding.class_uid, 2004);
    equal(finding.category_uid, 2);
    equal(finding.type_uid, 200401);
    equal(finding.finding_info.uid, alert.id);
    equal(finding.finding_info.title, alert.alertType);
    equal(finding.time, Date.parse(alert.occurredAt));
    equal(finding.metadata.version, OCSF_VERSION);
    equal(finding.metadata.product.vendor_name, "Mimecast");
    equal(finding.unmapped.logType, logType);
    equal(finding.unmapped.direction, alert.direction);
    equal(finding.unmapped.verdict, alert.verdict);
    equal(finding.unmapped.integrationId, "int-1");
    deepStrictEqual(JSON.parse(finding.raw_data!), alert.raw);
    equal(finding.evidences?.[0].email?.from, alert.email.from);
    deepStrictEqual(finding.evidences?.[0].email?.to, [alert.email.to]);
  }
});

Deno.test("a URL click maps the link, its parts and the sub-technique under its technique", () => {
  const finding = toDetectionFinding(ALERTS.url);
  deepStrictEqual(finding.finding_info.attacks, [{
    technique: { uid: "T1598", name: "Phishing for Information" },
    sub_technique: { uid: "T1598.003", name: "Spearphishing Link" },
  }]);
  deepStrictEqual(finding.evidences, [{
    email: {
      from: "billing@invoices-portal.example",
      to: ["r.ortega@acme-corp.example"],
      subject: "Overdue invoice #44871",
      message_uid: "<7f3c2a10.4b2e@mail.invoices-portal.example>",
    },
    url: {
      url_string: "https://login-verify.example:8443/session?id=88a1",
      scheme: "https",
      hostname: "login-verify.example",
      port: 8443,
      path: "/session",
      query_string: "id=88a1",
    },
  }]);
  equal(finding.severity_id, 4);
  equal(finding.severity, "High");
  equal(finding.status_id, 1);
  equal(finding.unmapped.action, "warn");
  equal(finding.metadata.product.feature?.name, "URL Protect");
  deepStrictEqual(
    finding.observables?.map((o) => [o.type_id, o.value]),
    [
      [5, "billing@invoices-portal.example"],
      [5, "r.ortega@acme-corp.example"],
      [6, "https://login-verify.example:8443/session?id=88a1"],
    ],
  );
  equal(finding.finding_info.created_time, Date.UTC(2025, 2, 4, 9, 41, 7));
});

Deno.test("an attachment maps the file with its SHA-256 and MIME type", () => {
  const finding = toDetectionFinding(ALERTS.attachment);
  deepStrictEqual(finding.evidences?.[0].file, {
    name: "Remittance_0304.xlsm",
    ext: "xlsm",
    type_id: 1,
    type: "Regular File",
    mime_type: "application/vnd.ms-excel.sheet.macroEnabled.12",
    hashes: [{
      algorithm_id: 3,
      algorithm: "SHA-256",
      value: "9b4e3c0f1d2a5b6c7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f",
    }],
  });
  equal(finding.finding_info.attacks?.[0].sub_technique?.uid, "T1598.002");
  equal(
    finding.observables?.find((o) => o.type_id === 8)?.value,
    ALERTS.attachment.file!.sha256,
  );
});

Deno.test("an impersonation ranks by its verdict and keeps Mimecast's action unmapped", () => {
  const finding = toDetectionFinding(ALERTS.impersonation);
  equal(finding.severity_id, 3);
  equal(finding.severity, "Medium");
  equal(finding.unmapped.action, "hold");
  equal(finding.evidences?.[0].email?.subject, "Urgent wire today");
  equal(finding.metadata.product.feature?.name, "Impersonation Protect");
});

Deno.test("a rejection maps a tactic, the sending server, and keeps the SMTP reply unmapped", () => {
  const finding = toDetectionFinding(ALERTS.rejections);
  deepStrictEqual(finding.finding_info.attacks, [{
    tactic: { uid: "TA0001", name: "Initial Access" },
  }]);
  deepStrictEqual(finding.evidences?.[0].src_endpoint, { ip: "203.0.113.9" });
  deepStrictEqual(finding.unmapped.rejection, ALERTS.rejections.rejection);
  equal(finding.unmapped.verdict, "rejected");
  equal(finding.severity_id, 2);
  equal(finding.message, "IP Temporarily Blacklisted: 451 IP temporarily blacklisted");
  equal(finding.observables?.find((o) => o.type_id === 2)?.value, "203.0.113.9");
});

Deno.test("values that do not fit an OCSF type go to unmapped, and the finding still fits", () => {
  const odd: Alert = {
    ...ALERTS.rejections,
    threatId: "T1078",
    threatName: "Valid Accounts",
    verdict: "timeout",
    email: { from: "<>", to: "Dana <dana@corp.example>; not-an-address", subject: "Hi" },
    url: "",
    file: { sha256: "abc" },
    sender: { ip: "Internal IP" },
  };
  const finding = toDetectionFinding(odd);
  assertValid(finding, "odd alert");
  deepStrictEqual(finding.finding_info.attacks, [{
    technique: { uid: "T1078", name: "Valid Accounts" },
  }]);
  deepStrictEqual(finding.evidences, [{ email: { to: ["dana@corp.example"], subject: "Hi" } }]);
  deepStrictEqual(finding.unmapped.email, {
    from: "<>",
    to: "Dana <dana@corp.example>; not-an-address",
  });
  deepStrictEqual(finding.unmapped.file, { sha256: "abc" });
  deepStrictEqual(finding.unmapped.sender, { ip: "Internal IP" });
  equal(finding.severity_id, 0);

  const bare = toDetectionFinding({
    ...ALERTS.url,
    threatId: "",
    threatName: "Custom",
    occurredAt: "not a time",
    email: { to: "42" },
    url: "not a url",
    sender: { ip: "2001:db8::1" },
  });
  assertValid(bare, "bare alert");
  equal(bare.finding_info.attacks, undefined);
  deepStrictEqual(bare.unmapped.threat, { id: "", name: "Custom" });
  deepStrictEqual(bare.unmapped.email, { to: "42" });
  equal(bare.unmapped.occurredAt, "not a time");
  equal(bare.time, 0);
  deepStrictEqual(bare.evidences, [{
    url: { url_string: "not a url" },
    src_endpoint: { ip: "2001:db8::1" },
  }]);

  const nothing = toDetectionFinding({ id: "x" } as Alert);
  assertValid(nothing, "an alert with only an id");
  equal(nothing.finding_info.uid, "x");
});

Deno.test("the schema check can fail: a misspelt attribute, a wrong enum, a missing uid", () => {
  const good = toDetectionFinding(ALERTS.url);
  ok(schemaProblems({ ...good, finding_info: { ...good.finding_info, uid: undefined } }).length);
  ok(schemaProblems({ ...good, class_uid: 2005 }).length);
  ok(schemaProblems({ ...good, severity_id: 7 }).length);
  ok(schemaProblems({ ...good, findings_info: good.finding_info }).length);
  ok(schemaProblems({ ...good, evidences: [{ email: { from: "not an address" } }] }).length);
  ok(schemaProblems({ ...good, finding_info: { ...good.finding_info, attacks: [{}] } }).length);
});

Deno.test("every golden alert of the plugin maps to a finding that fits the schema", async () => {
  let seen = 0;
  for await (const entry of Deno.readDir(GOLDEN)) {
    if (!entry.name.endsWith(".expected.json")) continue;
    const { alerts } = JSON.parse(await Deno.readTextFile(new URL(entry.name, GOLDEN)));
    for (const alert of alerts as Alert[]) {
      const finding = toDetectionFinding(alert);
      assertValid(finding, `${entry.name} ${alert.id}`);
      equal(finding.finding_info.uid, alert.id);
      seen++;
    }
  }
  ok(seen >= 20, `only ${seen} golden alerts`);
});

Deno.test("formats: the default envelope and alerts are byte for byte the old ones", () => {
  const alert = ALERTS.url;
  const old = JSON.stringify({ type: "mimecast.alerts", integrationId: "i-1" });
  const { prefix, suffix } = envelopeOf("mimecast.alerts", "i-1", "alerts");
  equal(prefix, `${old.slice(0, -1)},"alerts":[`);
  equal(suffix, "]}");
  equal(JSON.stringify(formatAlert(alert, "alerts")), JSON.stringify(alert));

  const ocsf = envelopeOf("mimecast.alerts", "i-1", "ocsf");
  const body = JSON.parse(ocsf.prefix + JSON.stringify(formatAlert(alert, "ocsf")) + ocsf.suffix);
  deepStrictEqual(Object.keys(body), ["type", "integrationId", "format", "alerts"]);
  equal(body.format, "ocsf");
  equal(body.alerts[0].finding_info.uid, alert.id);

  equal(isDestinationFormat("ocsf"), true);
  equal(isDestinationFormat("toString"), false);
  equal(storedFormat("alerts"), "alerts");
  try {
    storedFormat("cef");
    throw new Error("storedFormat accepted cef");
  } catch (error) {
    equal((error as HostError).code, "CONFIG_INVALID");
  }
});
