/**
 * Authentication for both API versions: API 1.0 HMAC-SHA1 request signing (research §2) and the
 * API 2.0 OAuth2 client-credentials token, cached until 60 s before it expires.
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import type { Clock } from "../host/types.ts";
import type { Api1Config, Api2Config } from "./config.ts";
import { formatMcDate } from "./dates.ts";
import { MimecastError } from "./errors.ts";
import { failureText, MAX_TOKEN_RESPONSE_BYTES, readLimitedText } from "./http.ts";

/** What an HMAC signature covers. */
export interface SignInput {
  accessKey: string;
  secretKey: string;
  applicationId: string;
  applicationKey: string;
  /** The request path only, e.g. `/api/ttp/url/get-logs`. */
  uri: string;
  /** The exact `x-mc-date` text. */
  date: string;
  /** The exact `x-mc-req-id` text. */
  requestId: string;
}

/** The HMAC-SHA1 signature of `date:requestId:uri:applicationKey`, keyed by the decoded secret key. */
export function signature(input: SignInput): string {
  const key = Buffer.from(input.secretKey, "base64");
  return createHmac("sha1", key)
    .update(`${input.date}:${input.requestId}:${input.uri}:${input.applicationKey}`, "utf8")
    .digest("base64");
}

/** The headers of one signed API 1.0 request. */
export function hmacHeaders(input: SignInput): Record<string, string> {
  return {
    "Authorization": `MC ${input.accessKey}:${signature(input)}`,
    "x-mc-app-id": input.applicationId,
    "x-mc-date": input.date,
    "x-mc-req-id": input.requestId,
  };
}

/** Produces the auth headers for a request path; `invalidate` drops a cached token after a 401. */
export interface Authenticator {
  headers(uri: string): Promise<Record<string, string>>;
  /** Forgets the cached credential; true when a retry with a fresh one can help. */
  invalidate(): boolean;
}

/** API 1.0: every request signed afresh with its own date and request id. */
export function hmacAuthenticator(config: Api1Config, clock: Clock): Authenticator {
  return {
    headers: (uri) =>
      Promise.resolve(hmacHeaders({
        accessKey: config.accessKey,
        secretKey: config.secretKey,
        applicationId: config.applicationId,
        applicationKey: config.applicationKey,
        uri,
        date: formatMcDate(clock.now()),
        requestId: crypto.randomUUID(),
      })),
    invalidate: () => false,
  };
}

/** What the token request needs; `timeoutMs` bounds one token request (default 30 s). */
export interface TokenDeps {
  fetch: typeof fetch;
  clock: Clock;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** API 2.0: one token per authenticator, refreshed 60 s before `expires_in` or after a 401. */
export function tokenAuthenticator(config: Api2Config, deps: TokenDeps): Authenticator {
  let token: { value: string; expiresAt: number } | undefined;
  // One request at a time: the log types' streams ask together at the start of a run, and
  // share the one token it brings.
  let requesting: Promise<{ value: string; expiresAt: number }> | undefined;
  return {
    async headers() {
      if (!token || deps.clock.now() >= token.expiresAt) {
        requesting ??= requestToken(config, deps).finally(() => (requesting = undefined));
        token = await requesting;
      }
      return { "Authorization": `Bearer ${token.value}` };
    },
    invalidate() {
      const had = token !== undefined;
      token = undefined;
      return had;
    },
  };
}

async function requestToken(
  config: Api2Config,
  deps: TokenDeps,
): Promise<{ value: string; expiresAt: number }> {
  const path = "/oauth/token";
  const url = `${config.baseUrl}${path}`;
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  let response: Response | undefined;
  let text: string;
  try {
    response = await deps.fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
      },
      body: new URLSearchParams({
        client_id: config.clientId,
        client_secret: config.clientSecret,
        grant_type: "client_credentials",
      }),
      signal: deps.signal ? AbortSignal.any([deps.signal, timeout]) : timeout,
    });
    text = await readLimitedText(response, { limit: MAX_TOKEN_RESPONSE_BYTES, path });
  } catch (cause) {
    if (cause instanceof MimecastError || deps.signal?.aborted) throw cause;
    const why = timeout.aborted
      ? `timed out after ${timeoutMs} ms ${response ? "reading" : "waiting for"} the answer`
      : failureText(cause);
    throw new MimecastError("UNAVAILABLE", `Cannot get an OAuth token from ${url}: ${why}`, {
      retryable: true,
      cause,
    });
  }
  if (response.status === 404) {
    throw new MimecastError("NOT_FOUND", `Cannot get an OAuth token: ${url} answered 404`, {
      status: 404,
    });
  }
  if (response.status === 429 || response.status >= 500) {
    throw new MimecastError(
      response.status === 429 ? "RATE_LIMITED" : "UNAVAILABLE",
      `Cannot get an OAuth token: Mimecast answered ${response.status}`,
      { status: response.status, retryable: true },
    );
  }
  if (!response.ok) {
    throw new MimecastError(
      "TOKEN_FAILED",
      `Cannot get an OAuth token: Mimecast answered ${response.status}${describeBody(text)}`,
      { status: response.status },
    );
  }
  let body: { access_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new MimecastError("BAD_RESPONSE", "Cannot get an OAuth token: the answer is not JSON", {
      status: response.status,
      retryable: true,
      cause,
    });
  }
  if (typeof body.access_token !== "string" || body.access_token === "") {
    throw new MimecastError(
      "TOKEN_FAILED",
      "Cannot get an OAuth token: the answer has no access_token",
      {
        status: response.status,
      },
    );
  }
  const lifetime = typeof body.expires_in === "number" ? body.expires_in : 1799;
  return {
    value: body.access_token,
    expiresAt: deps.clock.now() + Math.max(0, lifetime - 60) * 1000,
  };
}

/** A short, secret-free description of an error body for messages. */
export function describeBody(text: string): string {
  try {
    const body = JSON.parse(text);
    const fail = body?.fail?.[0];
    const error = fail?.errors?.[0] ?? fail;
    if (error?.code || error?.message) {
      return ` (${[error.code, error.message].filter(Boolean).join(": ")})`;
    }
    if (typeof body?.error === "string") return ` (${body.error})`;
  } catch {
    // not JSON: say nothing more
  }
  return "";
}
