/**
 * Mimecast date text in and out. Requests carry `2015-11-16T14:49:18+0000`; responses have been
 * seen with `+0000`, `Z`, colon offsets and fractions, so parsing accepts all of them.
 * @module
 */

const MIMECAST_DATE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

/** Formats epoch ms as Mimecast's request form, in UTC, to the second. */
export function formatMimecastDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "+0000");
}

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** Formats epoch ms as RFC 3339 UTC to the second, the alert's `occurredAt` (on the hot path). */
export function formatIsoSecond(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (year < 1000 || year > 9999) return d.toISOString().replace(/\.\d{3}Z$/, "Z");
  return `${year}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}T${two(d.getUTCHours())}:${
    two(d.getUTCMinutes())
  }:${two(d.getUTCSeconds())}Z`;
}

// A page's dates are parsed by fetch (for the cursor), then by validation and normalization:
// remember the last several hundred so each is parsed once. Two generations, so a full cache
// forgets only its older half: pages of several streams come interleaved.
const CACHE_GENERATION = 1024;
let recent = new Map<string, number>();
let older = new Map<string, number>();

/** Parses a Mimecast date into epoch ms; NaN when the text is not a date of a known form. */
export function parseMimecastDate(text: string): number {
  let ms = recent.get(text);
  if (ms !== undefined) return ms;
  ms = older.get(text) ?? parse(text);
  if (recent.size >= CACHE_GENERATION) {
    older = recent;
    recent = new Map();
  }
  recent.set(text, ms);
  return ms;
}

function parse(text: string): number {
  const m = MIMECAST_DATE.exec(text);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, "0")) : 0;
  const utc = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, ms);
  if (zone === "Z") return checkFields(utc, m);
  const sign = zone[0] === "-" ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  return checkFields(utc, m) - sign * offsetMin * 60_000;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Rejects dates like Feb 30 that Date.UTC would silently roll over. */
function checkFields(utc: number, m: RegExpExecArray): number {
  const year = +m[1];
  const month = +m[2];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS[month - 1];
  const ok = month >= 1 && month <= 12 && +m[3] >= 1 && +m[3] <= days && +m[4] < 24 && +m[5] < 60 &&
    +m[6] < 60;
  return ok ? utc : NaN;
}

/** Formats an HTTP `x-mc-date` header: RFC 1123 with the literal `UTC` Mimecast's peers send. */
export function formatMcDate(ms: number): string {
  return new Date(ms).toUTCString().replace("GMT", "UTC");
}
