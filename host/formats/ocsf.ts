/**
 * An alert as an OCSF Detection Finding (class_uid 2004), the mapping documented in
 * docs/ocsf.md and checked against the compiled OCSF schema in fixtures/ocsf/.
 *
 * Pure and total: any alert a plugin hands over becomes a finding that fits the schema; a value
 * OCSF has no place for, or that does not fit its type (an address that is not an email
 * address, say), goes to `unmapped` instead of being dropped or breaking the finding.
 * @module
 */
import type { Alert } from "../types.ts";

/** The OCSF version findings are written in (and validated against, fixtures/ocsf/). */
export const OCSF_VERSION = "1.8.0";

/** An OCSF Detection Finding, as much of it as this mapping sets. */
export interface DetectionFinding {
  activity_id: 1;
  activity_name: "Create";
  category_uid: 2;
  category_name: "Findings";
  class_uid: 2004;
  class_name: "Detection Finding";
  type_uid: 200401;
  type_name: "Detection Finding: Create";
  time: number;
  timezone_offset: 0;
  severity_id: number;
  severity: string;
  status_id: 1;
  status: "New";
  is_alert: true;
  message: string;
  finding_info: {
    uid: string;
    title: string;
    created_time: number;
    attacks?: Attack[];
  };
  evidences?: Evidence[];
  observables?: Observable[];
  metadata: {
    version: string;
    uid: string;
    product: { name: string; vendor_name: "Mimecast"; feature?: { name: string } };
  };
  raw_data?: string;
  unmapped: Record<string, unknown>;
}

/** A pivot value and where it sits in the finding. */
export interface Observable {
  name: string;
  type_id: number;
  type: string;
  value: string;
}

/** One ATT&CK entry: a tactic (TA…), or a technique with its sub-technique (T….…). */
export interface Attack {
  tactic?: { uid: string; name?: string };
  technique?: { uid: string; name?: string };
  sub_technique?: { uid: string; name?: string };
}

/** The artifacts the detection is about. */
export interface Evidence {
  email?: { from?: string; to?: string[]; subject?: string; message_uid?: string };
  url?: {
    url_string: string;
    scheme?: string;
    hostname?: string;
    port?: number;
    path?: string;
    query_string?: string;
  };
  file?: {
    name: string;
    ext?: string;
    type_id: 1;
    type: "Regular File";
    mime_type?: string;
    hashes?: { algorithm_id: number; algorithm: string; value: string }[];
  };
  src_endpoint?: { ip: string };
}

/** Severity by Mimecast's verdict; a verdict we cannot rank is OCSF's Unknown (0). */
const SEVERITY: Record<string, [number, string]> = {
  malicious: [4, "High"],
  suspicious: [3, "Medium"],
  rejected: [2, "Low"],
};

/** The Mimecast feature behind each log type (`metadata.product.feature.name`). */
const FEATURES: Record<string, string> = {
  url: "URL Protect",
  attachment: "Attachment Protect",
  impersonation: "Impersonation Protect",
  rejections: "MTA rejections (SIEM receipt logs)",
};

/** Parent techniques of the sub-techniques the default threat table uses. */
const TECHNIQUES: Record<string, string> = {
  T1598: "Phishing for Information",
  T1566: "Phishing",
};

/** Hash algorithms by the length of the hex digest (OCSF fingerprint `algorithm_id`). */
const HASHES: Record<number, [number, string]> = {
  32: [1, "MD5"],
  40: [2, "SHA-1"],
  64: [3, "SHA-256"],
  128: [4, "SHA-512"],
};

// OCSF's email_t, as dictionary.json writes it.
const EMAIL = /^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Maps one alert (SPEC §4) to an OCSF Detection Finding. */
export function toDetectionFinding(alert: Alert): DetectionFinding {
  const unmapped: Record<string, unknown> = {};
  for (const key of ["logType", "direction", "verdict", "action", "integrationId"] as const) {
    if (alert[key] !== undefined) unmapped[key] = alert[key];
  }
  if (alert.rejection !== undefined) unmapped.rejection = alert.rejection;
  const parsed = Date.parse(String(alert.occurredAt));
  if (Number.isNaN(parsed)) unmapped.occurredAt = alert.occurredAt;
  const time = Number.isNaN(parsed) ? 0 : parsed;
  const verdict = text(alert.verdict);
  const [severityId, severity] = SEVERITY[verdict?.toLowerCase() ?? ""] ?? [0, "Unknown"];
  const title = text(alert.alertType) ?? "Mimecast alert";
  const attacks = attacksOf(text(alert.threatId), text(alert.threatName));
  const evidence = evidenceOf(alert, unmapped);
  const observables = observablesOf(evidence);
  const feature = FEATURES[String(alert.logType)];

  if (attacks.length === 0 && (alert.threatId || alert.threatName)) {
    unmapped.threat = { id: alert.threatId, name: alert.threatName };
  }
  const rejection = alert.rejection;
  const reply = [text(rejection?.code), text(rejection?.info)].filter(Boolean).join(" ");

  return {
    activity_id: 1,
    activity_name: "Create",
    category_uid: 2,
    category_name: "Findings",
    class_uid: 2004,
    class_name: "Detection Finding",
    type_uid: 200401,
    type_name: "Detection Finding: Create",
    time,
    timezone_offset: 0,
    severity_id: severityId,
    severity,
    status_id: 1,
    status: "New",
    is_alert: true,
    message: reply ? `${title}: ${reply}` : title,
    finding_info: {
      uid: alert.id,
      title,
      created_time: time,
      ...(attacks.length > 0 ? { attacks } : {}),
    },
    ...(evidence ? { evidences: [evidence] } : {}),
    ...(observables.length > 0 ? { observables } : {}),
    metadata: {
      version: OCSF_VERSION,
      uid: alert.id,
      product: {
        name: "Mimecast Email Security",
        vendor_name: "Mimecast",
        ...(feature ? { feature: { name: feature } } : {}),
      },
    },
    ...(alert.raw === undefined ? {} : { raw_data: JSON.stringify(alert.raw) }),
    unmapped,
  };
}

/** `TA0001` is a tactic; `T1598.003` a sub-technique of `T1598`; anything else a technique. */
function attacksOf(id: string | undefined, name: string | undefined): Attack[] {
  if (!id) return []; // a name alone identifies nothing: it stays in unmapped
  const named = (uid: string, n?: string) => (n ? { uid, name: n } : { uid });
  if (/^TA\d{4}$/.test(id)) return [{ tactic: named(id, name) }];
  const parent = /^(T\d{4})\.\d{3}$/.exec(id)?.[1];
  if (parent) {
    return [{ technique: named(parent, TECHNIQUES[parent]), sub_technique: named(id, name) }];
  }
  return [{ technique: named(id, name) }];
}

/** The email, URL, file and sending server, where the alert has them in a shape OCSF takes. */
function evidenceOf(alert: Alert, unmapped: Record<string, unknown>): Evidence | undefined {
  const evidence: Evidence = {};
  const mail = alert.email ?? {};
  const from = address(text(mail.from));
  const recipients = (text(mail.to) ?? "").split(/[,;]/).filter((s) => s.trim() !== "");
  const to = recipients.map(address).filter((s): s is string => s !== undefined);
  if (from || to.length > 0) {
    evidence.email = {
      ...(from ? { from } : {}),
      ...(to.length > 0 ? { to } : {}),
      ...(text(mail.subject) ? { subject: mail.subject } : {}),
      ...(text(mail.messageId) ? { message_uid: mail.messageId } : {}),
    };
    // What did not fit email_t is kept as Mimecast wrote it.
    const rest: Alert["email"] = {};
    if (text(mail.from) && !from) rest.from = mail.from;
    if (to.length < recipients.length) rest.to = mail.to;
    if (Object.keys(rest).length > 0) unmapped.email = rest;
  } else if (Object.values(mail).some((value) => text(value) !== undefined)) {
    unmapped.email = mail; // OCSF's email needs a sender or a recipient address
  }

  const url = text(alert.url);
  if (url) evidence.url = urlOf(url);

  const file = alert.file;
  const name = text(file?.name);
  if (file && name) {
    const hash = text(file.sha256);
    const algorithm = hash && /^[0-9a-f]+$/i.test(hash) ? HASHES[hash.length] : undefined;
    const ext = /\.([^./\\]+)$/.exec(name)?.[1];
    evidence.file = {
      name,
      ...(ext ? { ext } : {}),
      type_id: 1,
      type: "Regular File",
      ...(text(file.type) ? { mime_type: file.type } : {}),
      ...(hash
        ? {
          hashes: [{
            algorithm_id: algorithm?.[0] ?? 0,
            algorithm: algorithm?.[1] ?? "Unknown",
            value: hash,
          }],
        }
        : {}),
    };
  } else if (file && Object.keys(file).length > 0) unmapped.file = file; // OCSF files need a name

  const ip = text(alert.sender?.ip);
  if (ip && isIp(ip)) evidence.src_endpoint = { ip };
  else if (alert.sender && Object.keys(alert.sender).length > 0) unmapped.sender = alert.sender;

  return Object.keys(evidence).length > 0 ? evidence : undefined;
}

function urlOf(url: string): NonNullable<Evidence["url"]> {
  try {
    const u = new URL(url);
    return {
      url_string: url,
      scheme: u.protocol.replace(/:$/, ""),
      ...(u.hostname ? { hostname: u.hostname.replace(/^\[|\]$/g, "") } : {}),
      ...(u.port ? { port: Number(u.port) } : {}),
      path: u.pathname,
      ...(u.search ? { query_string: u.search.slice(1) } : {}),
    };
  } catch {
    return { url_string: url };
  }
}

/** Pivot values a SIEM indexes: addresses, the URL, the server's IP, the file's name and hash. */
function observablesOf(evidence: Evidence | undefined): Observable[] {
  const out: Observable[] = [];
  const add = (name: string, type_id: number, type: string, value: string | undefined) => {
    if (value) out.push({ name, type_id, type, value });
  };
  add("evidences[0].email.from", 5, "Email Address", evidence?.email?.from);
  for (const to of evidence?.email?.to ?? []) add("evidences[0].email.to", 5, "Email Address", to);
  add("evidences[0].url.url_string", 6, "URL String", evidence?.url?.url_string);
  add("evidences[0].src_endpoint.ip", 2, "IP Address", evidence?.src_endpoint?.ip);
  add("evidences[0].file.name", 7, "File Name", evidence?.file?.name);
  add("evidences[0].file.hashes[0].value", 8, "Hash", evidence?.file?.hashes?.[0]?.value);
  return out;
}

/** A bare address from `a@b.c` or `Name <a@b.c>`, if it is one OCSF's email_t accepts. */
function address(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  const bare = trimmed?.match(/<([^<>]+)>$/)?.[1] ?? trimmed;
  return bare && EMAIL.test(bare) ? bare : undefined;
}

function isIp(value: string): boolean {
  if (IPV4.test(value)) return true;
  if (!value.includes(":")) return false;
  try {
    return new URL(`http://[${value}]/`).hostname !== "";
  } catch {
    return false;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}
