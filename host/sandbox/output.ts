/**
 * What a sandbox answers is untrusted input: each answer is checked for its shape here before the
 * host uses it, and copied into plain values the host's types promise.
 * @module
 */
import type { Alert, CheckResult, Issue, Page } from "../types.ts";

/** The result of validating a config with the plugin's own schema. */
export type ConfigValidation =
  | { ok: true; output: unknown }
  | { ok: false; issues: Issue[] };

/** One record's outcome: an alert, `null` when filtered, or why it does not fit. */
export type NormalizeResult = Alert | null | { invalid: Issue[] };

/** A page's outcomes, one per record in order, and what `ctx.count(name)` gathered. */
export interface NormalizedResults {
  results: NormalizeResult[];
  counts: Record<string, number>;
}

/** A page's records sorted by outcome, shaped as the run stores them (see `normalizeRecords`). */
export interface SortedPage {
  alerts: Alert[];
  filtered: unknown[];
  invalid: { record: unknown; issues: Issue[] }[];
  counts: { fetched: number; filtered: number; invalid: number; alerts: number; drift: number };
  /** What normalize counted by name, drift aside. */
  notes: Record<string, number>;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function issuesOf(value: unknown): Issue[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((i) => ({
    path: String(isObject(i) ? i.path ?? "" : ""),
    message: String(isObject(i) ? i.message ?? "" : i).slice(0, 2000),
  }));
}

const isAlert = (result: Alert | { invalid: Issue[] }): result is Alert =>
  typeof (result as { id?: unknown }).id === "string";

/** Checks a config validation answer. */
export function configValidationOf(value: unknown): ConfigValidation {
  if (isObject(value) && value.ok === true && "output" in value) {
    return { ok: true, output: value.output };
  }
  const issues = isObject(value) && value.ok === false ? issuesOf(value.issues) : undefined;
  if (!issues) throw new TypeError("must answer { ok, output } or { ok: false, issues }");
  return { ok: false, issues };
}

/** Checks a connection check's results. */
export function checkResultsOf(value: unknown): CheckResult[] {
  const wrong = () => new TypeError("must return [{ logType, ok, error?, hint? }]");
  if (!Array.isArray(value)) throw wrong();
  return value.map((r) => {
    if (!isObject(r) || typeof r.logType !== "string" || typeof r.ok !== "boolean") throw wrong();
    return {
      logType: r.logType,
      ok: r.ok,
      ...(typeof r.error === "string" ? { error: r.error } : {}),
      ...(typeof r.hint === "string" ? { hint: r.hint } : {}),
    };
  });
}

/** Checks a page: records and a checkpoint; optional progress and skipped spans kept if well-typed. */
export function pageOf(value: unknown): Page {
  if (!isObject(value) || !Array.isArray(value.records) || value.checkpoint === undefined) {
    throw new TypeError("a page must be { records: [], checkpoint }");
  }
  const page: Page = { records: value.records, checkpoint: value.checkpoint as Page["checkpoint"] };
  if (isObject(value.progress)) {
    page.progress = Object.fromEntries(
      Object.entries(value.progress).filter(([, at]) => typeof at === "string"),
    ) as Record<string, string>;
  }
  if (Array.isArray(value.skipped)) page.skipped = value.skipped as Page["skipped"];
  return page;
}

/** Checks a normalized page: one outcome per record, and counts that are whole numbers. */
export function normalizedOf(
  value: unknown,
  records: number,
  pluginId: string,
): NormalizedResults {
  if (!isObject(value) || !Array.isArray(value.results) || value.results.length !== records) {
    throw new TypeError(`must answer { results, counts } with one result per record (${records})`);
  }
  const results = value.results.map((r): NormalizeResult => {
    if (r === null) return null;
    if (isObject(r) && typeof r.id === "string" && r.id !== "") return r as unknown as Alert;
    const issues = isObject(r) ? issuesOf(r.invalid) : undefined;
    return {
      invalid: issues ?? [{
        path: "",
        message: `[plugin ${pluginId}] normalize: returned an alert without an id`,
      }],
    };
  });
  // fromEntries: a count named "__proto__" stays a count.
  const counts = Object.fromEntries(
    Object.entries(isObject(value.counts) ? value.counts : {}).filter(([, n]) =>
      Number.isSafeInteger(n) && (n as number) > 0
    ),
  ) as Record<string, number>;
  return { results, counts };
}

/**
 * Pairs a page's records with their outcomes: the alerts, the filtered and the invalid records,
 * and the counts, as the run's `normalizeRecords` returns them in-process.
 */
export function sortResults(records: unknown[], normalized: NormalizedResults): SortedPage {
  const sorted: SortedPage = {
    alerts: [],
    filtered: [],
    invalid: [],
    counts: { fetched: records.length, filtered: 0, invalid: 0, alerts: 0, drift: 0 },
    notes: {},
  };
  normalized.results.forEach((result, i) => {
    if (result === null) sorted.filtered.push(records[i]);
    else if (isAlert(result)) sorted.alerts.push(result);
    else sorted.invalid.push({ record: records[i], issues: result.invalid });
  });
  const { drift = 0, ...notes } = normalized.counts;
  sorted.counts.drift = drift;
  sorted.notes = notes;
  sorted.counts.filtered = sorted.filtered.length;
  sorted.counts.invalid = sorted.invalid.length;
  sorted.counts.alerts = sorted.alerts.length;
  return sorted;
}
