/**
 * The alert-type → MITRE ATT&CK table (SPEC §3.5, from the seed), with per-integration overrides.
 * @module
 */
import type { LogType } from "./config.ts";

/** A MITRE ATT&CK technique or tactic. */
export interface Threat {
  threatId: string;
  threatName: string;
}

const LINK: Threat = { threatId: "T1598.003", threatName: "Spearphishing Link" };
const ATTACHMENT: Threat = { threatId: "T1598.002", threatName: "Spearphishing Attachment" };

/** The default table, keyed by alert type. */
export const DEFAULT_THREATS: ReadonlyMap<string, Threat> = new Map([
  ["Impersonation Attempt", LINK],
  ["Unsafe Email Attachment", ATTACHMENT],
  ["URL Protection", LINK],
  ["Default URL Protection", LINK],
  ["IP Temporarily Blacklisted", { threatId: "TA0001", threatName: "Initial Access" }],
  ["Submitter failed to authenticate", { threatId: "T1078", threatName: "Valid Accounts" }],
  ["Anti-Spoofing policy - Inbound not allowed", LINK],
  ["Invalid Recipient", { threatId: "TA0005", threatName: "Defense Evasion" }],
  ["Exceeding outbound thread limit", {
    threatId: "T1041",
    threatName: "Exfiltration Over C2 Channel",
  }],
  ["Message bounced due to Content Examination Policy", {
    threatId: "T1598",
    threatName: "Phishing for Information",
  }],
  ["Default Inbound URL Protect Definition", LINK],
]);

/** What an alert type absent from the table takes, per log type. */
export const LOG_TYPE_THREATS: Readonly<Record<LogType, Threat>> = {
  url: LINK,
  attachment: ATTACHMENT,
  impersonation: LINK,
  rejections: { threatId: "TA0001", threatName: "Initial Access" },
};

/** An override row as the config holds it. */
export interface ThreatOverride extends Threat {
  alertType: string;
}

const tables = new WeakMap<readonly ThreatOverride[], Map<string, Threat>>();

/** Looks up an alert type: the overrides first, then the default table, then the log type's default. */
export function threatFor(
  alertType: string,
  logType: LogType,
  overrides: readonly ThreatOverride[] = [],
): Threat {
  if (overrides.length > 0) {
    let table = tables.get(overrides);
    if (!table) {
      table = new Map(overrides.map((o) => [o.alertType.toLowerCase(), o]));
      tables.set(overrides, table);
    }
    const row = table.get(alertType.toLowerCase());
    if (row) return { threatId: row.threatId, threatName: row.threatName };
  }
  return DEFAULT_THREATS.get(alertType) ?? LOG_TYPE_THREATS[logType];
}
