/**
 * Which MTA rejections become alerts (SPEC §3.8): a receipt event whose reason matches a rule.
 * The default rules are the six reasons of the seed's table; `rejectionRules` in the config come
 * first, so an operator adds rows (`IP Found in RBL` → `IP Temporarily Blacklisted`) or changes
 * the alert type of a default one. Matching ignores case, dashes and runs of spaces, and looks
 * for the rule's text anywhere in the reason, because Mimecast's reply text may be followed by a
 * link or preceded by codes ("IP temporarily blacklisted - https://…#451"). The exact case of the
 * six texts as Mimecast writes them in SIEM records is unknown (research/mimecast-siem.md §3.3):
 * this tolerates every spelling seen in bounce messages and parsers.
 * @module
 */

/** One rule: the text to look for, and the alert type it raises. */
export interface RejectionRule {
  match: string;
  alertType: string;
}

/** The six Mimecast SMTP rejection reasons of the seed's table, each its own alert type. */
export const SEED_REJECTION_RULES: readonly RejectionRule[] = [
  "IP Temporarily Blacklisted",
  "Submitter failed to authenticate",
  "Anti-Spoofing policy - Inbound not allowed",
  "Invalid Recipient",
  "Exceeding outbound thread limit",
  "Message bounced due to Content Examination Policy",
].map((reason) => ({ match: reason, alertType: reason }));

/** Lower case, every dash and run of spaces as one space: the form rules are compared in. */
export function foldText(text: string): string {
  return text.toLowerCase().replace(/[\s\-\u2010-\u2015\u2212_]+/g, " ").trim();
}

/** A compiled rule list: the config's rows first, then the defaults. */
export class RejectionRules {
  #rules: { match: string; alertType: string }[];

  constructor(custom: readonly RejectionRule[] = []) {
    this.#rules = [...custom, ...SEED_REJECTION_RULES]
      .map((r) => ({ match: foldText(r.match), alertType: r.alertType }))
      .filter((r) => r.match !== "");
  }

  /**
   * The alert type for a rejection: the first rule found in its reason text (`RejInfo`,
   * `rejectionInfo`), else the first found in its category (`RejType`, `rejectionType`).
   */
  alertTypeFor(info: string | undefined, category: string | undefined): string | undefined {
    for (const text of [info, category]) {
      if (!text) continue;
      const folded = foldText(text);
      const rule = this.#rules.find((r) => folded.includes(r.match));
      if (rule) return rule.alertType;
    }
    return undefined;
  }
}
