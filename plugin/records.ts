/**
 * valibot schemas of the three TTP record kinds (research §5.2–§5.4), and the per-type facts the
 * rest of the plugin needs: where the records sit in a response, the time field, the record key.
 *
 * The schemas follow what Mimecast really sends (SPEC §3.3). It marks no response field as
 * guaranteed, and the same field is a number in one API and a string in another (`"hits":"1"`,
 * `"taggedMalicious":"true"`). So a record is refused only when it cannot be timed or cannot be
 * told apart from others (its §3.6 key would hold the time alone); every other field is coerced
 * when it can be and dropped when it cannot, and the alert simply lacks it. Objects are loose:
 * fields Mimecast adds later pass through, and the alert's `raw` is the record exactly as sent.
 * @module
 */
import * as v from "valibot";
import type { LogType, TtpLogType } from "./config.ts";
import { parseMimecastDate } from "./dates.ts";

/** Accepts what `schema` accepts and drops anything else: the field is then simply missing. */
export function lenient<T extends v.GenericSchema>(schema: T) {
  return v.fallback(v.optional(schema), undefined as v.InferOutput<v.OptionalSchema<T, undefined>>);
}

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const present = <T>(items: (T | undefined)[]): T[] =>
  items.filter((item): item is T => item !== undefined);

/** Text; a number (an id or code in another API's spelling) becomes its decimal text. */
export const textValue = v.union([v.string(), v.pipe(v.number(), v.transform(String))]);
export const text = lenient(textValue);

const FLAG_WORDS = new Map([["true", true], ["false", false], ["1", true], ["0", false]]);
/** A flag: `true`, `"true"` in any case, `1` or `"1"`, and the same spellings of false. */
const flag = lenient(v.union([
  v.boolean(),
  v.pipe(
    v.union([v.string(), v.number()]),
    v.transform((word) => FLAG_WORDS.get(String(word).trim().toLowerCase())),
    v.boolean(),
  ),
]));

/** A count: a number, or a number written as text (`"hits":"1"`). */
const count = lenient(v.union([
  v.number(),
  v.pipe(v.string(), v.trim(), v.decimal(), v.transform(Number)),
]));

/** A list of text: an array (entries that are not text are dropped), or one value as a list of one. */
const texts = lenient(v.union([
  v.pipe(v.array(lenient(textValue)), v.transform(present)),
  v.pipe(textValue, v.transform((one) => [one])),
]));

/**
 * `impersonationResults`: objects in every recorded sample (`impersonationDomainSource`,
 * `similarDomain`, `stringSimilarToDomain`, `checkerResult`, any of them missing, research §5.4),
 * strings in BlinkOps' copy of the API 2.0 schema. Entries are kept as sent; others are dropped.
 */
const impersonationResults = lenient(v.pipe(
  v.array(lenient(v.union([v.custom<Record<string, unknown>>(isObject), v.string()]))),
  v.transform(present),
));

/** The time field, kept as sent: the record's own check below reads and reports it. */
const timeValue = v.optional(v.unknown());

/** The parts of a record's key besides its time (SPEC §3.6). */
const KEY_PARTS = {
  url: ["userEmailAddress", "url", "messageId"],
  attachment: ["recipientAddress", "fileHash", "messageId"],
  impersonation: ["recipientAddress", "messageId"], // the key when the record has no `id`
} as const satisfies Record<TtpLogType, readonly string[]>;

/** The text of one key part: strings as they are, numbers as text, anything else empty. */
function keyText(value: unknown): string {
  if (typeof value === "string") return value;
  return typeof value === "number" ? String(value) : "";
}

const TIME_EXAMPLE = "2025-03-04T08:02:11+0000";

/** What is wrong with a time field's value, for the issue message. */
function describe(value: unknown): string {
  if (value === undefined || value === null || value === "") return "is missing";
  if (typeof value === "string") {
    const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    return `${shown} is not a time like ${TIME_EXAMPLE}`;
  }
  const kind = typeof value === "object"
    ? (Array.isArray(value) ? "an array" : "an object")
    : `a ${typeof value}`;
  return `is ${kind}, not a time like ${TIME_EXAMPLE}`;
}

/**
 * A record schema: loose `entries`, then the two reasons a record is invalid (SPEC §3.3), both
 * listed when both hold: no parseable time, and a key that would be the time alone.
 */
function recordSchema<const E extends v.ObjectEntries>(
  entries: E,
  identity: { time: "date" | "eventTime"; parts: readonly string[] },
) {
  const { time: timeField, parts } = identity;
  const fields = `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
  const object = v.looseObject(
    entries,
    (issue) => `Expected the record as a JSON object but received ${issue.received}`,
  );
  return v.pipe(
    object,
    v.rawCheck<v.InferOutput<typeof object>>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const record: Record<string, unknown> = dataset.value;
      const time = record[timeField];
      if (typeof time !== "string" || Number.isNaN(parseMimecastDate(time))) {
        addIssue({
          message: `Cannot time the record: ${timeField} ${describe(time)}`,
          path: [{ type: "object", origin: "value", input: record, key: timeField, value: time }],
        });
      }
      if (parts.every((field) => keyText(record[field]) === "")) {
        addIssue({
          message:
            `Cannot tell the record apart from others: ${fields} are all missing or empty, so its key would be the time alone`,
        });
      }
    }),
  );
}

/** A URL Protect click log (`clickLogs[]`). */
export const clickLog = recordSchema(
  {
    date: timeValue,
    userEmailAddress: text,
    url: text,
    scanResult: text,
    fromUserEmailAddress: text,
    ttpDefinition: text,
    reason: text, // not in TTP click logs; SPEC §3.4 prefers it should a record carry one
    creationMethod: text,
    subject: text,
    action: text,
    actions: text,
    route: text,
    category: text,
    sendingIp: text, // not always an IP: "Internal IP" is common
    messageId: text,
    emailPartsDescription: texts,
    tagMap: lenient(v.custom<Record<string, unknown>>(isObject)), // API 2.0 only
  },
  { time: "date", parts: KEY_PARTS.url },
);

/** An Attachment Protect log (`attachmentLogs[]`). */
export const attachmentLog = recordSchema(
  {
    date: timeValue,
    result: text,
    recipientAddress: text,
    senderAddress: text, // "<>" for null senders
    fileName: text,
    fileType: text,
    fileHash: text,
    actionTriggered: text,
    details: text,
    route: text,
    definition: text,
    subject: text,
    messageId: text,
  },
  { time: "date", parts: KEY_PARTS.attachment },
);

/** An Impersonation Protect log (`impersonationLogs[]`). */
export const impersonationLog = recordSchema(
  {
    id: text,
    eventTime: timeValue,
    senderAddress: text,
    recipientAddress: text,
    senderIpAddress: text,
    subject: text,
    definition: text,
    hits: count,
    identifiers: texts,
    action: text,
    taggedExternal: flag,
    taggedMalicious: flag,
    impersonationResults,
    messageId: text,
  },
  { time: "eventTime", parts: ["id", ...KEY_PARTS.impersonation] },
);

/** A click log after validation. */
export type ClickLog = v.InferOutput<typeof clickLog>;
/** An attachment log after validation. */
export type AttachmentLog = v.InferOutput<typeof attachmentLog>;
/** An impersonation log after validation. */
export type ImpersonationLog = v.InferOutput<typeof impersonationLog>;

/** A record as the plugin's `fetch` yields it: its log type and Mimecast's object untouched. */
export interface MimecastRecord {
  logType: LogType;
  data: Record<string, unknown>;
}

/** Per log type: endpoint path, the array in `data[0]`, the schema and the record's time field. */
export const LOG_KINDS = {
  url: { path: "/api/ttp/url/get-logs", array: "clickLogs", schema: clickLog, timeField: "date" },
  attachment: {
    path: "/api/ttp/attachment/get-logs",
    array: "attachmentLogs",
    schema: attachmentLog,
    timeField: "date",
  },
  impersonation: {
    path: "/api/ttp/impersonation/get-logs",
    array: "impersonationLogs",
    schema: impersonationLog,
    timeField: "eventTime",
  },
} as const;

/** How a field already holds what its schema would output, unchanged (see `parseRecord`). */
type Plain = "text" | "flag" | "count" | "texts" | "results" | "object" | "any";

const isPlain: Record<Plain, (value: unknown) => boolean> = {
  text: (value) => typeof value === "string",
  flag: (value) => typeof value === "boolean",
  count: (value) => typeof value === "number" && !Number.isNaN(value),
  texts: (value) => Array.isArray(value) && value.every((item) => typeof item === "string"),
  results: (value) =>
    Array.isArray(value) && value.every((item) => typeof item === "string" || isObject(item)),
  object: isObject,
  any: () => true,
};

/** `keys`, each as a field of kind `how`. */
const each = (how: Plain, keys: string[]): [string, Plain][] => keys.map((key) => [key, how]);

/**
 * Per log type, each schema field with the kind of value its schema passes through as it is. A
 * record whose fields all hold such values (or are absent) validates to itself.
 */
const PLAIN_FIELDS: Record<TtpLogType, [string, Plain][]> = {
  url: [
    ["date", "any"],
    ...each("text", [
      "userEmailAddress",
      "url",
      "scanResult",
      "fromUserEmailAddress",
      "ttpDefinition",
      "reason",
      "creationMethod",
      "subject",
      "action",
      "actions",
      "route",
      "category",
      "sendingIp",
      "messageId",
    ]),
    ["emailPartsDescription", "texts"],
    ["tagMap", "object"],
  ],
  attachment: [
    ["date", "any"],
    ...each("text", [
      "result",
      "recipientAddress",
      "senderAddress",
      "fileName",
      "fileType",
      "fileHash",
      "actionTriggered",
      "details",
      "route",
      "definition",
      "subject",
      "messageId",
    ]),
  ],
  impersonation: [
    ["eventTime", "any"],
    ...each("text", [
      "id",
      "senderAddress",
      "recipientAddress",
      "senderIpAddress",
      "subject",
      "definition",
      "action",
      "messageId",
    ]),
    ["hits", "count"],
    ["identifiers", "texts"],
    ["taggedExternal", "flag"],
    ["taggedMalicious", "flag"],
    ["impersonationResults", "results"],
  ],
};

/**
 * Validates a record with its log type's schema, as `v.safeParse` does. A record in the common
 * shape (every field absent or already of its type, a time that parses, a key with more than the
 * time) is its own output and skips valibot, which was most of a page's normalization; anything
 * else, and every record with an issue, goes through the schema.
 */
export function parseRecord(
  logType: TtpLogType,
  data: unknown,
): v.SafeParseResult<typeof LOG_KINDS[TtpLogType]["schema"]> {
  if (isObject(data)) {
    const record = data as Record<string, unknown>;
    const plain = PLAIN_FIELDS[logType].every(([key, how]) => {
      const value = record[key];
      return value === undefined || isPlain[how](value);
    });
    const parts = logType === "impersonation" ? ["id", ...KEY_PARTS[logType]] : KEY_PARTS[logType];
    if (
      plain && !Number.isNaN(recordTime(logType, record)) &&
      parts.some((field) => keyText(record[field]) !== "")
    ) {
      return { typed: true, success: true, output: record as never, issues: undefined };
    }
  }
  return v.safeParse(LOG_KINDS[logType].schema, data);
}

/** The record's time in epoch ms, or NaN when it has none that parses. */
export function recordTime(logType: TtpLogType, data: Record<string, unknown>): number {
  const value = data[LOG_KINDS[logType].timeField];
  return typeof value === "string" ? parseMimecastDate(value) : NaN;
}

/**
 * The record's identity (SPEC §3.6): url `date|userEmailAddress|url|messageId`, attachment
 * `date|recipientAddress|fileHash|messageId`, impersonation `id` (else `eventTime|recipient|messageId`).
 * Missing parts are empty; numbers count as their text, like the schemas read them. The date is
 * normalised to epoch seconds so `+0000` and `Z` spellings give the same key; pass the record's
 * time when it is already known.
 */
export function recordKey(
  logType: TtpLogType,
  data: Record<string, unknown>,
  time: number = recordTime(logType, data),
): string {
  if (logType === "impersonation") {
    const id = keyText(data.id);
    if (id !== "") return id;
  }
  let key = Number.isNaN(time)
    ? keyText(data[LOG_KINDS[logType].timeField])
    : String(Math.floor(time / 1000));
  for (const part of KEY_PARTS[logType]) key += `|${keyText(data[part])}`;
  return key;
}
