/**
 * The shape every JSON body the API takes is checked against: an object that refuses unknown
 * fields, naming each and the fields it does take (a misspelled field would otherwise be ignored
 * and the request answered as if it had worked).
 * @module
 */
import * as v from "valibot";

/**
 * A valibot strict object whose messages are plain words: an unknown field is named with the
 * fields allowed, a missing one is "required", and a value that is no object says what it must be.
 */
export function strictObject<const E extends v.ObjectEntries>(
  entries: E,
  what = "The request body",
): v.StrictObjectSchema<E, (issue: v.StrictObjectIssue) => string> {
  const fields = Object.keys(entries).join(", ");
  return v.strictObject(entries, (issue: v.StrictObjectIssue) => {
    const path = v.getDotPath(issue) ?? "";
    if (issue.expected === "never") return `Unknown field "${path}": remove it (fields: ${fields})`;
    if (issue.input === undefined && path !== "") return `${path} is required`;
    return `${what} must be a JSON object (fields: ${fields})`;
  });
}

/** The opaque cursor after a run in its integration's history (`next`, `before`). */
export function runCursor(position: { startedAt: string; seq: number }): string {
  return btoa(`${position.startedAt}~${position.seq}`).replace(/=+$/, "");
}

/** A run cursor read back, or undefined when the text is not one. */
export function runCursorFrom(text: string): { startedAt: string; seq: number } | undefined {
  let plain: string;
  try {
    plain = atob(text);
  } catch {
    return undefined;
  }
  const match = /^(\d{4}-\d{2}-\d{2}T[\d:.]{8,12}Z)~(\d{1,16})$/.exec(plain);
  return match ? { startedAt: match[1], seq: Number(match[2]) } : undefined;
}

/** The query of `GET /api/integrations/:id/runs`. */
export const runsQuery = strictObject({
  before: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (text) => runCursorFrom(text) !== undefined,
        "before must be the next cursor of an earlier page of this integration's runs",
      ),
      v.description("The `next` of the previous page"),
    ),
  ),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[0-9]+$/, "limit must be a whole number from 1 to 100"),
      v.transform(Number),
      v.minValue(1, "limit must be a whole number from 1 to 100"),
      v.maxValue(100, "limit must be a whole number from 1 to 100"),
    ),
  ),
}, "The query");

/** The query of `GET /api/integrations/:id/stats`. */
export const statsQuery = strictObject({
  hours: v.optional(
    v.pipe(
      v.string(),
      v.description("Hours back, ending with the current hour: 1 to 720, default 168 (a week)"),
      v.regex(/^[0-9]+$/, "hours must be a whole number from 1 to 720"),
      v.transform(Number),
      v.minValue(1, "hours must be a whole number from 1 to 720"),
      v.maxValue(720, "hours must be a whole number from 1 to 720"),
    ),
  ),
}, "The query");

/** The optional body of `POST /api/integrations/:id/dead-letters/redrive`. */
export const redriveBody = strictObject({
  webhookIds: v.optional(
    v.array(v.string("Each webhook id must be text"), "webhookIds must be a list of webhook ids"),
  ),
});

/**
 * The query of `GET /api/alerts`, as the OpenAPI document describes it (`api_alerts.ts` checks
 * the values and names what is wrong).
 */
export const alertsQuery = strictObject({
  integrationId: v.optional(v.string()),
  logType: v.optional(v.string()),
  alertType: v.optional(v.string()),
  threatId: v.optional(v.string()),
  from: v.optional(v.pipe(v.string(), v.description("ISO time, included"))),
  to: v.optional(v.pipe(v.string(), v.description("ISO time, excluded"))),
  q: v.optional(v.pipe(v.string(), v.description("Sender, recipient, subject, URL, file, hash"))),
  before: v.optional(v.pipe(v.string(), v.description("The `next` of the previous page"))),
  limit: v.optional(v.pipe(v.string(), v.description("1 to 500, default 50"))),
  format: v.optional(v.picklist(["json", "ndjson", "csv"])),
}, "The query");
