/**
 * The Mimecast plugin's configuration schema (SPEC §3.1). The host renders its form from the JSON
 * Schema that `build.ts` generates from this, so titles, descriptions and `writeOnly` live here.
 * @module
 */
import * as v from "valibot";

/** The three TTP log types, in the order a run fetches them. */
export const TTP_LOG_TYPES = ["url", "attachment", "impersonation"] as const;
/** One of the TTP log types. */
export type TtpLogType = typeof TTP_LOG_TYPES[number];
/** Every log type: the TTP logs, and the MTA rejections of the SIEM stream (SPEC §3.8). */
export const LOG_TYPES = [...TTP_LOG_TYPES, "rejections"] as const;
/** One of the log types. */
export type LogType = typeof LOG_TYPES[number];

/** API 2.0 gateways (global with failover, or pinned to a region). */
export const API2_BASE_URLS = [
  "https://api.services.mimecast.com",
  "https://uk-api.services.mimecast.com",
  "https://us-api.services.mimecast.com",
] as const;

/** API 1.0 regional hosts. */
export const API1_BASE_URLS = [
  "https://eu-api.mimecast.com",
  "https://de-api.mimecast.com",
  "https://us-api.mimecast.com",
  "https://usb-api.mimecast.com",
  "https://ca-api.mimecast.com",
  "https://za-api.mimecast.com",
  "https://au-api.mimecast.com",
  "https://je-api.mimecast.com",
  "https://uspcom-api.mimecast-pscom-us.com",
] as const;

/** How long Mimecast keeps TTP logs: a first run reaches back at most this far. */
export const RETENTION_MS = 30 * 86_400_000;
/**
 * A read that reaches past Mimecast's retention starts this far inside it, so the records at the
 * edge do not expire while the run reads them.
 */
export const RETENTION_MARGIN_MS = 15 * 60_000;
const DURATION = /^(\d{1,7})([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `90m`, `24h` or `7d` into milliseconds; NaN when the text is not such a duration. */
export function durationMs(text: string): number {
  const match = DURATION.exec(text);
  if (!match) return NaN;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

function isHttpsOrLoopback(text: string): boolean {
  try {
    const url = new URL(text);
    if (url.pathname !== "/" || url.search || url.hash || url.username) return false;
    if (url.protocol === "https:") return true;
    return url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  } catch {
    return false;
  }
}

function isCidr(text: string): boolean {
  const [addr, bits, extra] = text.split("/");
  if (extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const parts = addr.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255) &&
    Number(bits) <= 32;
}

/** An optional whole number between `min` and `max`, with messages that say the bounds. */
const whole = (
  bounds: { min: number; max: number; unit: string; fallback: number },
  title: string,
  description: string,
) =>
  v.optional(
    v.pipe(
      v.number(`${title}: enter a number`),
      v.integer(`${title}: enter a whole number of ${bounds.unit}`),
      v.minValue(bounds.min, `${title}: ${bounds.min} ${bounds.unit} at least`),
      v.maxValue(bounds.max, `${title}: ${bounds.max} ${bounds.unit} at most`),
      v.title(title),
      v.description(description),
    ),
    bounds.fallback,
  );

const secret = (title: string, description: string) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.nonEmpty(`${title} is required`),
    v.title(title),
    v.description(description),
    v.metadata({ writeOnly: true }),
  );

const baseUrl = (defaults: readonly string[], description: string) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.check(
      isHttpsOrLoopback,
      "Base URL must be an https:// origin such as https://api.services.mimecast.com",
    ),
    v.transform((text) => text.replace(/\/$/, "")),
    v.title("Base URL"),
    v.description(description),
    v.metadata({ examples: [...defaults] }),
  );

const common = {
  logTypes: v.optional(
    v.pipe(
      v.array(v.picklist(LOG_TYPES)),
      v.nonEmpty("Choose at least one log type"),
      v.checkItems((item, i, all) => all.indexOf(item) === i, "Each log type may appear once"),
      v.title("Log types"),
      v.description(
        "Which logs to pull, each with its own cursor: the TTP URL, attachment and impersonation logs, and rejections (MTA rejections from the SIEM stream; needs Enhanced Logging and the SIEM permission).",
      ),
    ),
    [...TTP_LOG_TYPES],
  ),
  startFrom: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.regex(
        DURATION,
        "Enter a number followed by m, h or d (minutes, hours, days), such as 90m, 24h or 7d",
      ),
      // Only a duration can be too long: text that is none has the message above, not this one.
      v.check(
        (t) => !(durationMs(t) > RETENTION_MS),
        "Mimecast keeps TTP logs 30 days: enter 30d or less, e.g. 24h or 7d",
      ),
      v.title("First run reaches back"),
      v.description(
        "How far back the first run starts, e.g. 24h or 7d (30d at most: Mimecast keeps TTP logs 30 days). Later runs go on from where the last one stopped, so changing this afterwards changes nothing: to read a past span again, use Backfill.",
      ),
    ),
    "24h",
  ),
  lagSeconds: whole(
    { min: 0, max: 3600, unit: "seconds", fallback: 60 },
    "Lag (seconds)",
    "Each run's live window ends this long before now; records written later than that are caught by the late-arrival re-read.",
  ),
  lateArrivalMinutes: whole(
    { min: 0, max: 1440, unit: "minutes", fallback: 30 },
    "Late arrivals (minutes)",
    "A record Mimecast writes up to this long after its own date is still delivered, once. Each window is read a second time when it becomes this old.",
  ),
  maxPagesPerRun: whole(
    { min: 1, max: 100_000, unit: "pages", fallback: 5000 },
    "Pages per run, per log type",
    "A run reads at most this many pages of each log type; the next run continues from there.",
  ),
  concurrentCalls: whole(
    { min: 1, max: 16, unit: "calls", fallback: 8 },
    "Mimecast calls at once",
    "The most calls a run has waiting on Mimecast at the same time. Log types are read side by side, and a backlog (a first run, a catch-up after an outage) is split into up to 4 spans per log type read side by side; all share Mimecast's rate limit, which every run honours before it runs out. 1 reads one page at a time.",
  ),
  rejectionRules: v.optional(
    v.pipe(
      v.array(
        v.object({
          match: v.pipe(
            v.string(),
            v.trim(),
            v.nonEmpty("Enter the rejection text to match, such as IP Found in RBL"),
          ),
          alertType: v.pipe(
            v.string(),
            v.trim(),
            v.nonEmpty("Enter the alert type to raise, such as IP Temporarily Blacklisted"),
          ),
        }),
      ),
      v.title("Rejection rules"),
      v.description(
        "Which MTA rejections become alerts, checked before the six default reasons: a rejection whose reason text (or else its category) contains `match` (any case, dashes and spaces ignored) raises `alertType`.",
      ),
    ),
    [],
  ),
  internalDomains: v.optional(
    v.pipe(
      v.array(
        v.pipe(
          v.string(),
          v.trim(),
          v.toLowerCase(),
          v.regex(/^(?=.{1,253}$)([a-z0-9-]+\.)+[a-z]{2,}$/, "Enter a domain such as example.com"),
        ),
      ),
      v.title("Internal domains"),
      v.description("Your mail domains; tell direction when Mimecast gives none."),
    ),
    [],
  ),
  internalNetworks: v.optional(
    v.pipe(
      v.array(
        v.pipe(v.string(), v.trim(), v.check(isCidr, "Enter an IPv4 CIDR such as 10.0.0.0/8")),
      ),
      v.title("Internal networks"),
      v.description(
        "Your sending networks as IPv4 CIDRs; tell direction when Mimecast gives none.",
      ),
    ),
    [],
  ),
  mapping: v.optional(
    v.pipe(
      v.array(
        v.object({
          alertType: v.pipe(v.string(), v.trim(), v.nonEmpty("alertType is required")),
          threatId: v.pipe(
            v.string(),
            v.trim(),
            v.regex(
              /^(T\d{4}(\.\d{3})?|TA\d{4})$/,
              "Use a MITRE ATT&CK id such as T1598.003 or TA0001",
            ),
          ),
          threatName: v.pipe(v.string(), v.trim(), v.nonEmpty("threatName is required")),
        }),
      ),
      v.title("Threat mapping overrides"),
      v.description("Alert type → MITRE ATT&CK technique, replacing the default table's row."),
    ),
    [],
  ),
};

const api2 = v.object({
  apiVersion: v.optional(
    v.pipe(v.literal("2.0"), v.title("API version"), v.description("2.0 (OAuth2, recommended)")),
    "2.0",
  ),
  baseUrl: v.optional(
    baseUrl(API2_BASE_URLS, "API 2.0 gateway: global, or pinned to the UK or US."),
    API2_BASE_URLS[0],
  ),
  clientId: v.pipe(
    v.string(),
    v.trim(),
    v.nonEmpty("Client ID is required"),
    v.title("Client ID"),
    v.description("From Mimecast: Services > API and Platform Integrations > your API 2.0 app."),
  ),
  clientSecret: secret("Client secret", "The API 2.0 app's client secret."),
  ...common,
});

const api1 = v.object({
  apiVersion: v.pipe(
    v.literal("1.0"),
    v.title("API version"),
    v.description("1.0 (legacy HMAC keys)"),
  ),
  baseUrl: baseUrl(API1_BASE_URLS, "Your account's regional API 1.0 host."),
  applicationId: v.pipe(
    v.string(),
    v.trim(),
    v.uuid("Application ID is a GUID such as ca16c415-658f-4c87-8fb6-e3e6957771dc"),
    v.title("Application ID"),
    v.description("The API application's ID (a GUID)."),
  ),
  applicationKey: secret("Application key", "The API application's key (a GUID)."),
  accessKey: secret("Access key", "The service user's access key (a long random string)."),
  secretKey: v.pipe(
    secret("Secret key", "The service user's secret key (base64)."),
    v.regex(/^[A-Za-z0-9+/]+={0,2}$/, "Secret key must be the base64 text Mimecast gave you"),
  ),
  ...common,
});

/** The config schema: fields required for the chosen `apiVersion`; the others are ignored. */
export const configSchema = v.variant("apiVersion", [api2, api1]);

/** A validated configuration. */
export type Config = v.InferOutput<typeof configSchema>;
/** A validated API 2.0 configuration. */
export type Api2Config = v.InferOutput<typeof api2>;
/** A validated API 1.0 configuration. */
export type Api1Config = v.InferOutput<typeof api1>;
