/**
 * The plugin's errors. A `MimecastError` carries what went wrong (`code`, HTTP status, Mimecast's
 * own error code) and a `hint` an operator can act on (SPEC §3.7); the host shows both.
 * @module
 */
import type { Issue } from "../host/types.ts";

/** What kind of Mimecast failure this is. */
export type MimecastErrorCode =
  | "AUTH_FAILED"
  | "TOKEN_FAILED"
  | "FORBIDDEN"
  | "BINDING_EXPIRED"
  | "NOT_FOUND"
  | "RATE_LIMITED"
  | "UNAVAILABLE"
  | "REQUEST_REJECTED"
  | "BAD_RESPONSE"
  | "TOO_LARGE"
  | "NET_DENIED";

const HINTS: Record<MimecastErrorCode, string> = {
  AUTH_FAILED:
    "Mimecast rejected the request signature: check the access key, secret key, application ID and application key.",
  TOKEN_FAILED:
    "Mimecast refused the OAuth token: check the client ID and client secret of the API 2.0 application.",
  FORBIDDEN:
    "On API 1.0 the service user's role lacks a permission: give that role Monitoring > URL Protection / Attachment / Impersonation Protection Logs > Read.",
  BINDING_EXPIRED:
    "The API 1.0 keys expired: set the service user's Authentication Profile > Authentication Cache TTL to Never Expire, then create new keys.",
  NOT_FOUND:
    "Mimecast answered 404: check the base URL and region (API 2.0 uses *.services.mimecast.com, API 1.0 a regional host).",
  RATE_LIMITED:
    "Mimecast is rate limiting this application; runs wait and resume. Use separate credentials per integration if it persists.",
  UNAVAILABLE:
    "Mimecast is unavailable, unreachable or timing out; the error names the cause (DNS lookup, refused or reset connection, TLS, timeout, 5xx). Check the base URL and this machine's network; the next run resumes from the saved cursor.",
  REQUEST_REJECTED: "Mimecast rejected the request; see the error for the field it names.",
  BAD_RESPONSE:
    "Mimecast answered with something that is not its JSON envelope; the next run retries.",
  NET_DENIED:
    "The host refused to connect there: the base URL must be an https Mimecast host that the plugin's manifest allows (permissions.net).",
  TOO_LARGE:
    "A Mimecast answer passed the size limit and was refused unread. A page of 100 records is far smaller: check that the base URL reaches Mimecast itself, not a proxy or portal page. The next run asks again from the stored checkpoint; if it persists, tell Mimecast support which endpoint.",
};

/** Where API 2.0 needs other words: there the role belongs to the API application (SPEC §3.7). */
const API2_HINTS: Partial<Record<MimecastErrorCode, string>> = {
  FORBIDDEN:
    "On API 2.0 the role belongs to the API application, not a user: give the role chosen for the API application Monitoring > URL Protection / Attachment / Impersonation Protection Logs > Read.",
};

/** A failed call to Mimecast, with the operator hint for its kind. */
export class MimecastError extends Error {
  override name = "MimecastError";
  readonly code: MimecastErrorCode;
  readonly status?: number;
  readonly mimecastCode?: string;
  readonly retryable: boolean;
  readonly hint: string;

  constructor(
    code: MimecastErrorCode,
    message: string,
    options: {
      status?: number;
      mimecastCode?: string;
      retryable?: boolean;
      cause?: unknown;
      /** The API version of the call, when the hint differs between them. */
      apiVersion?: "1.0" | "2.0";
      /** A hint of the caller's, in place of the one for the code. */
      hint?: string;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.mimecastCode = options.mimecastCode;
    this.retryable = options.retryable ?? false;
    this.hint = options.hint ??
      (options.apiVersion === "2.0" ? API2_HINTS[code] : undefined) ?? HINTS[code];
  }
}

/** A record that does not fit its log type's schema; the host counts and keeps it. */
export class InvalidRecordError extends Error {
  override name = "InvalidRecordError" as const;
  readonly issues: Issue[];

  constructor(logType: string, issues: Issue[]) {
    super(
      `Invalid ${logType} record: ${
        issues.map((i) => `${i.path || "(record)"}: ${i.message}`).join("; ")
      }`,
    );
    this.issues = issues;
  }
}
