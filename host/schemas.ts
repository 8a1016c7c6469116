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

/** An ISO 8601 time with its zone, down to the second at most (`2025-03-01T00:00:00Z`). */
function isoTime(name: string) {
  const message = `${name} must be an ISO time with its zone, e.g. 2025-03-01T00:00:00Z`;
  return v.pipe(
    v.string(message),
    v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/, message),
    v.check((t) => !Number.isNaN(Date.parse(t)), message),
    v.description("ISO 8601 time with its zone, e.g. 2025-03-01T00:00:00Z (included)"),
  );
}

/** The body of `POST /api/integrations/:id/backfill` (SPEC §5.3). */
export const backfillBody = strictObject({
  logTypes: v.optional(
    v.pipe(
      v.array(v.string("Each log type must be text"), "logTypes must be a list of log types"),
      v.minLength(
        1,
        "logTypes must name at least one log type (leave it out for every one that can be replayed)",
      ),
      v.description("Default: every log type of the integration that can be replayed"),
    ),
  ),
  from: isoTime("from"),
  to: isoTime("to"),
  redeliver: v.optional(
    v.pipe(
      v.boolean("redeliver must be true or false"),
      v.description(
        "Send again the alerts already delivered, under new webhook ids, with replay: true",
      ),
    ),
    false,
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
