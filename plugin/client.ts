/**
 * One call to one Mimecast endpoint, done right: the JSON envelope, auth headers, the answer read
 * within 16 MiB, a 200 with a non-empty `fail[]` treated as the error it is, 429 waits for
 * `X-RateLimit-Reset`, 5xx and timeouts retried with backoff inside a budget, and every failure
 * mapped to a MimecastError that names its cause.
 * @module
 */
import type { Clock, Logger } from "../host/types.ts";
import { type Authenticator, describeBody } from "./auth.ts";
import { quotaHeader, RateBudget, type Release } from "./budget.ts";
import { MimecastError, type MimecastErrorCode } from "./errors.ts";
import { failureText, MAX_RESPONSE_BYTES, readLimitedText } from "./http.ts";

/** Mimecast's response envelope (research §5.1). */
export interface Envelope {
  meta?: {
    status?: number;
    pagination?: { next?: string; pageSize?: number; totalCount?: number };
  };
  data?: Record<string, unknown>[];
  fail?: { key?: unknown; errors?: { code?: string; message?: string; retryable?: boolean }[] }[];
}

/** How hard the client tries before a call fails. */
export interface RetryPolicy {
  /** Attempts for 5xx, timeouts and retryable `fail[]` errors, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** How many 429 answers one call waits out before it fails. */
  rateLimitWaits: number;
  /** Longest single wait for a rate limit reset. */
  maxRateLimitWaitMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
}

/** The default policy: five attempts from 1 s doubling to 30 s; ten 429 waits of up to 5 min. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  rateLimitWaits: 10,
  maxRateLimitWaitMs: 300_000,
  timeoutMs: 60_000,
};

/** Counters a run reports: Mimecast calls (tokens apart), retries and rate-limit waits. */
export interface ClientStats {
  calls: number;
  retries: number;
  rateLimited: number;
}

/** What the client needs: the base URL, the credentials' authenticator and the run's capabilities. */
export interface ClientDeps {
  baseUrl: string;
  apiVersion: "1.0" | "2.0";
  auth: Authenticator;
  fetch: typeof fetch;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  retry?: Partial<RetryPolicy>;
  /** The most calls in flight at once, over every stream of the run (default 8). */
  maxInFlight?: number;
}

/** Calls in flight at once when the config does not say. */
export const DEFAULT_MAX_IN_FLIGHT = 8;

/** A client for the TTP endpoints, shared by every log type of a run (one rate-limit budget). */
export class MimecastClient {
  readonly stats: ClientStats = { calls: 0, retries: 0, rateLimited: 0 };
  #deps: ClientDeps;
  #policy: RetryPolicy;
  #budget: RateBudget;

  constructor(deps: ClientDeps) {
    this.#deps = deps;
    this.#policy = { ...DEFAULT_RETRY, ...deps.retry };
    this.#budget = new RateBudget(deps.clock, {
      maxInFlight: deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      maxWaitMs: this.#policy.maxRateLimitWaitMs,
      logger: deps.logger,
    });
  }

  /**
   * POSTs a JSON body to an endpoint path and returns the envelope of a successful call; `signal`
   * stops this call (and its retries) besides the run's own.
   */
  post(path: string, body: unknown, options: { signal?: AbortSignal } = {}): Promise<Envelope> {
    const signal = options.signal
      ? AbortSignal.any([this.#deps.signal, options.signal])
      : this.#deps.signal;
    return this.#retrying(path, signal, (release) => this.#once(path, body, release, signal));
  }

  /**
   * Makes a call whose successful answer the caller reads itself, as a stream (SIEM files and
   * listings, SPEC §3.8): the same authentication, 429 waits and retries as `post`, with the
   * time limit covering the wait for the answer's headers only. An error status is read (bounded)
   * and mapped as `post` maps it.
   */
  open(
    path: string,
    request: { method: "GET" | "POST"; query?: string; body?: unknown; accept?: string },
  ): Promise<Response> {
    return this.#retrying(
      path,
      this.#deps.signal,
      (release) => this.#openOnce(path, request, release),
    );
  }

  /**
   * Reads a JSON answer that `open` returned, bounded like `post`'s: its object, or the error its
   * non-empty `fail[]` stands for.
   */
  async json(path: string, response: Response): Promise<Record<string, unknown>> {
    const text = await readLimitedText(response, { limit: MAX_RESPONSE_BYTES, path });
    const body = this.#objectOf(path, text, response.status);
    const fail = (body as Envelope).fail;
    if (Array.isArray(fail) && fail.length > 0) throw this.#failError(path, body as Envelope);
    return body as Record<string, unknown>;
  }

  async #openOnce(
    path: string,
    request: { method: "GET" | "POST"; query?: string; body?: unknown; accept?: string },
    release: Release,
  ): Promise<Response> {
    const { baseUrl, auth, signal } = this.#deps;
    const headers: Record<string, string> = {
      ...await auth.headers(path),
      "Accept": request.accept ?? "application/json",
    };
    if (request.body !== undefined) headers["Content-Type"] = "application/json";
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(), this.#policy.timeoutMs);
    let response: Response;
    this.stats.calls++;
    try {
      response = await this.#deps.fetch(
        `${baseUrl}${path}${request.query ? `?${request.query}` : ""}`,
        {
          method: request.method,
          headers,
          body: request.body === undefined ? undefined : JSON.stringify(request.body),
          signal: AbortSignal.any([signal, timer.signal]),
        },
      );
    } catch (cause) {
      release();
      if (signal.aborted) throw cause;
      throw this.#unreachable(path, cause, undefined, timer.signal.aborted);
    } finally {
      clearTimeout(timeout);
    }
    // The caller streams the answer's body; the call is done with once its headers are in.
    const limited = this.#done(path, release, response);
    if (response.ok) return response;
    const text = await readLimitedText(response, { limit: MAX_RESPONSE_BYTES, path }).catch(() =>
      ""
    );
    if (limited) throw limited;
    throw this.#statusError(path, response.status, text);
  }

  async #retrying<T>(
    path: string,
    signal: AbortSignal,
    once: (release: Release) => Promise<T>,
  ): Promise<T> {
    const { clock, logger } = this.#deps;
    let failures = 0;
    let waits = 0;
    let reauthenticated = false;
    for (;;) {
      // Every stream of the run waits here: a 429 anywhere, the quota, the calls in flight.
      const release = await this.#budget.acquire(signal);
      try {
        return await once(release);
      } catch (error) {
        release(); // a retry's wait holds no place among the calls in flight
        if (!(error instanceof MimecastError)) throw error;
        if (error.status === 401 && !reauthenticated && this.#deps.auth.invalidate()) {
          reauthenticated = true;
          logger.info("Mimecast answered 401; authenticating again", { path });
          continue;
        }
        if (error.code === "RATE_LIMITED" && error.retryable) {
          waits++;
          this.stats.rateLimited++;
          if (waits > this.#policy.rateLimitWaits) throw error;
          const waitMs = Math.min(
            (error as RateLimitError).waitMs ?? 1000,
            this.#policy.maxRateLimitWaitMs,
          );
          // The call paused every stream already (#done).
          logger.warn("Mimecast rate limit reached; every stream waits", { path, waitMs });
          continue;
        }
        if (!error.retryable) throw error;
        failures++;
        if (failures >= this.#policy.attempts) throw error;
        this.stats.retries++;
        const ceiling = Math.min(
          this.#policy.maxDelayMs,
          this.#policy.baseDelayMs * 2 ** (failures - 1),
        );
        const delay = ceiling / 2 + Math.random() * ceiling / 2;
        logger.warn("Mimecast call failed; retrying", {
          path,
          attempt: failures,
          delayMs: Math.round(delay),
          error: error.message,
        });
        await clock.sleep(delay, signal);
      }
    }
  }

  /**
   * Gives a call's place in the budget back, with its answer's quota headers. A 429 first pauses
   * every stream, so no other call slips out in between whatever headers it carried, and comes
   * back as the error to throw.
   */
  #done(path: string, release: Release, response?: Response): RateLimitError | undefined {
    const limited = response?.status === 429 ? rateLimitError(path, response) : undefined;
    if (limited) this.#budget.pause(limited.waitMs!);
    release(response?.headers);
    return limited;
  }

  async #once(
    path: string,
    body: unknown,
    release: Release,
    signal: AbortSignal,
  ): Promise<Envelope> {
    const { baseUrl, auth } = this.#deps;
    const headers = {
      ...await auth.headers(path),
      "Content-Type": "application/json",
      "Accept": "application/json",
    };
    const timeout = AbortSignal.timeout(this.#policy.timeoutMs);
    let response: Response | undefined;
    let text: string;
    let limited: RateLimitError | undefined;
    this.stats.calls++;
    try {
      response = await this.#deps.fetch(`${baseUrl}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.any([signal, timeout]),
      });
      text = await readLimitedText(response, { limit: MAX_RESPONSE_BYTES, path });
    } catch (cause) {
      if (cause instanceof MimecastError || signal.aborted) throw cause;
      throw this.#unreachable(path, cause, response, timeout.aborted);
    } finally {
      limited = this.#done(path, release, response);
    }
    if (limited) throw limited;
    if (!response.ok) throw this.#statusError(path, response.status, text);
    const envelope: Envelope = this.#objectOf(path, text, response.status);
    if (Array.isArray(envelope.fail) && envelope.fail.length > 0) {
      throw this.#failError(path, envelope);
    }
    if (envelope.data !== undefined && !Array.isArray(envelope.data)) {
      throw new MimecastError(
        "BAD_RESPONSE",
        `Cannot read Mimecast's answer from ${path}: data is not an array`,
        {
          status: response.status,
          retryable: true,
        },
      );
    }
    return envelope;
  }

  /** The answer's JSON object, or BAD_RESPONSE (retryable) when it is not one. */
  #objectOf(path: string, text: string, status: number): Record<string, unknown> {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (cause) {
      throw new MimecastError(
        "BAD_RESPONSE",
        `Cannot read Mimecast's answer from ${path}: it is not JSON`,
        { status, retryable: true, cause },
      );
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new MimecastError(
        "BAD_RESPONSE",
        `Cannot read Mimecast's answer from ${path}: not an object`,
        { status, retryable: true },
      );
    }
    return body as Record<string, unknown>;
  }

  /** A call that did not get through: the host's refusal (final), or the network's cause (retried). */
  #unreachable(
    path: string,
    cause: unknown,
    response: Response | undefined,
    timedOut: boolean,
  ): MimecastError {
    // The host refused the address (its network rules): asking again cannot help.
    if ((cause as { code?: unknown })?.code === "NET_DENIED") {
      return new MimecastError("NET_DENIED", `Cannot fetch ${path}: ${(cause as Error).message}`, {
        cause,
      });
    }
    const why = this.#why(cause, response, timedOut);
    return new MimecastError("UNAVAILABLE", `Cannot fetch ${path}: ${why}`, {
      retryable: true,
      cause,
    });
  }

  /** The cause of a failed call in words: a timeout, a broken answer, or what the network said. */
  #why(cause: unknown, response: Response | undefined, timedOut: boolean): string {
    const host = new URL(this.#deps.baseUrl).host;
    const reading = response ? ` reading the answer from ${host}` : ` waiting for ${host}`;
    if (timedOut) return `timed out after ${this.#policy.timeoutMs} ms${reading}`;
    if (response) return `the connection broke while${reading} (${failureText(cause)})`;
    return failureText(cause);
  }

  #statusError(path: string, status: number, text: string): MimecastError {
    const detail = describeBody(text);
    const message = `Cannot fetch ${path}: Mimecast answered ${status}${detail}`;
    const code: MimecastErrorCode | undefined = status === 401
      ? (this.#deps.apiVersion === "1.0" ? "AUTH_FAILED" : "TOKEN_FAILED")
      : status === 403
      ? "FORBIDDEN"
      : status === 404
      ? "NOT_FOUND"
      : status === 418
      ? "BINDING_EXPIRED"
      : undefined;
    if (code) {
      return new MimecastError(code, message, { status, apiVersion: this.#deps.apiVersion });
    }
    if (status >= 500 || status === 408) {
      return new MimecastError("UNAVAILABLE", message, { status, retryable: true });
    }
    return new MimecastError("REQUEST_REJECTED", message, { status });
  }

  #failError(path: string, envelope: Envelope): MimecastError {
    const errors = envelope.fail!.flatMap((f) => f.errors ?? []);
    const first = errors[0] ?? (envelope.fail![0] as { code?: string; message?: string });
    const mimecastCode = first?.code;
    const message = `Cannot fetch ${path}: Mimecast reported ${
      [mimecastCode, first?.message].filter(Boolean).join(": ") || "a failure"
    }`;
    const status = envelope.meta?.status;
    const code: MimecastErrorCode = /binding_expired/.test(mimecastCode ?? "") || status === 418
      ? "BINDING_EXPIRED"
      : /invalid_signature|unauthori[sz]ed/.test(mimecastCode ?? "") || status === 401
      ? (this.#deps.apiVersion === "1.0" ? "AUTH_FAILED" : "TOKEN_FAILED")
      : /forbidden/.test(mimecastCode ?? "") || status === 403
      ? "FORBIDDEN"
      : errors.some((e) => e.retryable === true)
      ? "UNAVAILABLE"
      : "REQUEST_REJECTED";
    return new MimecastError(code, message, {
      status,
      mimecastCode,
      retryable: code === "UNAVAILABLE",
      apiVersion: this.#deps.apiVersion,
    });
  }
}

interface RateLimitError extends MimecastError {
  waitMs?: number;
}

function rateLimitError(path: string, response: Response): RateLimitError {
  const error: RateLimitError = new MimecastError(
    "RATE_LIMITED",
    `Cannot fetch ${path}: Mimecast answered 429 (rate limited)`,
    { status: 429, retryable: true },
  );
  const reset = quotaHeader(response.headers, "Reset");
  const retryAfter = Number(response.headers.get("Retry-After"));
  error.waitMs = Number.isFinite(reset) && reset > 0
    ? reset
    : Number.isFinite(retryAfter) && retryAfter > 0
    ? retryAfter * 1000
    : 1000;
  return error;
}
