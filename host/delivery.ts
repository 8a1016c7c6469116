/**
 * Delivery of the outbox (SPEC §5.3): each batch POSTed as JSON, signed per Standard Webhooks
 * (`webhook-id` stable across retries, `webhook-timestamp`, `webhook-signature: v1,<base64>`);
 * only 2xx is success; 429, 5xx and timeouts retried with exponential backoff and jitter,
 * honouring `Retry-After`; a batch that exhausts its retries becomes a dead letter.
 * Batches of one integration go out one at a time, in order. When a batch spends its retries the
 * destination is taken as down: that batch becomes a dead letter, the rest stay in the outbox for
 * the next run, and the drain fails with DELIVERY_FAILED so the run stops fetching. A destination
 * the host may not reach (SPEC §5.6, checked on the addresses it resolves to at each attempt) is
 * not retried and dead-letters nothing: the drain fails with NET_DENIED and the outbox waits.
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import { HostError } from "./errors.ts";
import { type NetworkOptions, webhookFetch } from "./net.ts";
import { NetworkError, networkFailure } from "./net_errors.ts";
import type { Clock, Logger } from "./types.ts";
import type { BatchRow, HostStore } from "./store/mod.ts";

/** How hard delivery tries before a batch becomes a dead letter. */
export interface DeliveryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}

/** Eight attempts, 1 s doubling to 5 min (about 8.5 min in all), 15 s per request. */
export const DEFAULT_DELIVERY: DeliveryPolicy = {
  attempts: 8,
  baseDelayMs: 1000,
  maxDelayMs: 300_000,
  timeoutMs: 15_000,
};

/** The Standard Webhooks signature of one request. */
export function signWebhook(
  secret: string,
  webhookId: string,
  timestamp: number,
  body: string,
): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  // The signed content is `id.timestamp.body`; hashed in two parts, so a batch's body (tens of
  // kilobytes) is not copied into a second string first.
  return `v1,${
    createHmac("sha256", key).update(`${webhookId}.${timestamp}.`).update(body).digest("base64")
  }`;
}

/** A fresh `whsec_` secret (24 random bytes). */
export function generateWebhookSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
}

/** True when a text is a usable `whsec_` secret. */
export function isWebhookSecret(text: string): boolean {
  const raw = text.replace(/^whsec_/, "");
  if (!text.startsWith("whsec_") || !/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) return false;
  return Buffer.from(raw, "base64").length >= 16;
}

/** Where an integration's batches go. */
export interface Destination {
  url: string;
  secret: string;
}

/** Counters delivery reports to /metrics. */
export interface DeliveryStats {
  requests: number;
  retries: number;
  delivered: number;
  deadLettered: number;
}

/** Delivers outbox batches; one worker per integration at a time. */
export class Delivery {
  readonly stats: DeliveryStats = { requests: 0, retries: 0, delivered: 0, deadLettered: 0 };
  #store: HostStore;
  #fetch: typeof fetch;
  #clock: Clock;
  #logger: Logger;
  #policy: DeliveryPolicy;
  #workers = new Map<string, Promise<void>>();

  constructor(
    deps: {
      store: HostStore;
      /** The network (tests pass a fake); the §5.6 address rules apply to it. */
      fetch?: typeof fetch;
      /** HOST_ALLOW_LOOPBACK: may webhooks go to loopback addresses? */
      allowLoopback?: boolean;
      /** A stub resolver and extra CA certificates, for tests. */
      network?: NetworkOptions;
      clock: Clock;
      logger: Logger;
      policy?: Partial<DeliveryPolicy>;
    },
  ) {
    this.#store = deps.store;
    this.#fetch = webhookFetch(deps.allowLoopback ?? false, deps.fetch ?? fetch, deps.network);
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#policy = { ...DEFAULT_DELIVERY, ...deps.policy };
  }

  /**
   * Delivers every pending batch of an integration, oldest first. Concurrent calls for the same
   * integration share one worker; the promise settles when the outbox is drained (or aborted).
   */
  drain(
    integrationId: string,
    destination: () => Promise<Destination>,
    signal?: AbortSignal,
  ): Promise<void> {
    const running = this.#workers.get(integrationId);
    if (running) return running.then(() => this.drain(integrationId, destination, signal));
    const worker = this.#work(integrationId, destination, signal).finally(() =>
      this.#workers.delete(integrationId)
    );
    this.#workers.set(integrationId, worker);
    return worker;
  }

  /** Resolves when every running drain has ended. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#workers.values()]);
  }

  async #work(
    integrationId: string,
    destination: () => Promise<Destination>,
    signal?: AbortSignal,
  ): Promise<void> {
    let dest: Destination | undefined;
    let after = 0;
    for (;;) {
      signal?.throwIfAborted();
      const batch = await this.#store.nextPending(integrationId, after);
      if (!batch) return;
      dest ??= await destination();
      const outcome = await this.#deliver(batch, dest, signal);
      if ("denied" in outcome) throw outcome.denied;
      if (outcome.delivered) {
        await this.#store.markDelivered(batch);
        this.stats.delivered += batch.alertCount;
      } else {
        this.stats.deadLettered++;
        if (outcome.exhausted) {
          throw new HostError(
            "DELIVERY_FAILED",
            `${outcome.error} (after ${this.#policy.attempts} attempts)`,
            {
              hint:
                "Check that the webhook receiver is up and answers 2xx; then redrive the dead letters. Later batches wait in the outbox.",
            },
          );
        }
      }
      after = batch.seq;
    }
  }

  /**
   * Sends one signed test event (`type: "<plugin>.test"`, no alerts) to a destination, once, and
   * reports what the receiver answered: its status, the time it took and the start of its body.
   */
  async probe(
    dest: Destination,
    event: { type: string; integrationId: string },
  ): Promise<WebhookProbe> {
    const webhookId = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
    const timestamp = Math.floor(this.#clock.now() / 1000);
    const body = JSON.stringify({ ...event, test: true, alerts: [] });
    const started = performance.now();
    const timeout = AbortSignal.timeout(this.#policy.timeoutMs);
    try {
      const response = await this.#fetch(dest.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "mimecast-alerts-host/1",
          "webhook-id": webhookId,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signWebhook(dest.secret, webhookId, timestamp, body),
        },
        body,
        redirect: "manual",
        signal: timeout,
      });
      const excerpt = await drain(response.body);
      return {
        ok: response.status >= 200 && response.status < 300,
        status: response.status,
        ms: Math.round(performance.now() - started),
        excerpt,
        webhookId,
      };
    } catch (cause) {
      const what = timeout.aborted
        ? `timed out after ${this.#policy.timeoutMs} ms`
        : cause instanceof HostError
        ? cause.message
        : cause instanceof NetworkError
        ? cause.detail
        : networkFailure(cause)?.detail ?? (cause instanceof Error ? cause.message : String(cause));
      return { ok: false, ms: Math.round(performance.now() - started), error: what, webhookId };
    }
  }

  /** Tries one batch until success, a final refusal, or its retries are spent. */
  async #deliver(
    batch: BatchRow,
    dest: Destination,
    signal?: AbortSignal,
  ): Promise<
    | { delivered: true }
    | { delivered: false; exhausted: boolean; error: string }
    | { denied: HostError }
  > {
    for (let attempt = 1;; attempt++) {
      const outcome = await this.#attempt(batch, dest, signal);
      if (outcome.ok) return { delivered: true };
      await this.#store.noteAttempt(batch.seq, outcome.error);
      if (outcome.denied) {
        this.#logger.error("Webhook destination refused; the batch waits in the outbox", {
          webhookId: batch.webhookId,
          error: outcome.error,
        });
        return { denied: outcome.denied };
      }
      if (!outcome.retryable || attempt >= this.#policy.attempts) {
        await this.#store.markDead(batch, outcome.error);
        this.#logger.error("Batch moved to dead letters", {
          webhookId: batch.webhookId,
          error: outcome.error,
          attempts: attempt,
        });
        return { delivered: false, exhausted: outcome.retryable, error: outcome.error };
      }
      const ceiling = Math.min(
        this.#policy.maxDelayMs,
        this.#policy.baseDelayMs * 2 ** (attempt - 1),
      );
      const backoff = ceiling / 2 + Math.random() * ceiling / 2;
      const delay = Math.min(Math.max(backoff, outcome.retryAfterMs ?? 0), this.#policy.maxDelayMs);
      this.stats.retries++;
      this.#logger.warn("Webhook delivery failed; retrying", {
        webhookId: batch.webhookId,
        attempt,
        delayMs: Math.round(delay),
        error: outcome.error,
      });
      await this.#clock.sleep(delay, signal);
    }
  }

  async #attempt(
    batch: BatchRow,
    dest: Destination,
    signal?: AbortSignal,
  ): Promise<
    | { ok: true }
    | {
      ok: false;
      retryable: boolean;
      error: string;
      retryAfterMs?: number;
      denied?: HostError;
    }
  > {
    const timestamp = Math.floor(this.#clock.now() / 1000);
    const timeout = AbortSignal.timeout(this.#policy.timeoutMs);
    const host = new URL(dest.url).host;
    this.stats.requests++;
    let response: Response;
    let answer: string;
    try {
      response = await this.#fetch(dest.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "mimecast-alerts-host/1",
          "webhook-id": batch.webhookId,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signWebhook(dest.secret, batch.webhookId, timestamp, batch.body),
        },
        body: batch.body,
        redirect: "manual",
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      answer = await drain(response.body);
    } catch (cause) {
      signal?.throwIfAborted();
      if (cause instanceof HostError && cause.code === "NET_DENIED") {
        const error = `Cannot deliver batch to webhook: ${cause.message}`;
        const hint =
          "Point the integration's webhook at an address the host may reach (or fix its DNS); the batches wait in the outbox for the next run.";
        return {
          ok: false,
          retryable: false,
          error,
          denied: new HostError("NET_DENIED", error, { hint, cause }),
        };
      }
      const what = timeout.aborted
        ? `timed out after ${this.#policy.timeoutMs} ms`
        : cause instanceof NetworkError
        ? cause.detail
        : networkFailure(cause)?.detail ??
          (cause instanceof Error ? cause.message : String(cause));
      return {
        ok: false,
        retryable: true,
        error: `Cannot deliver batch to webhook at ${host}: ${what}`,
      };
    }
    if (response.status >= 200 && response.status < 300) return { ok: true };
    // The receiver's own words (the start of its answer) say why, in the dead letter too.
    const said = answer.replace(/\s+/g, " ").trim().slice(0, 300);
    const error = `Cannot deliver batch to webhook at ${host}: received status ${response.status}${
      said ? ` (it answered: ${said})` : ""
    }`;
    const retryable = response.status === 429 || response.status === 408 || response.status >= 500;
    return {
      ok: false,
      retryable,
      error,
      retryAfterMs: retryAfterMs(response.headers.get("retry-after"), this.#clock.now()),
    };
  }
}

/**
 * Reads a receiver's answer to its end (64 KiB at most, then it is cut off): an answer read
 * whole leaves its connection free for the next batch, while one cancelled unread closes it,
 * and a new connection per batch left thousands in TIME-WAIT during a backlog.
 */
async function drain(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let excerpt = "";
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return excerpt;
    if (excerpt.length < EXCERPT_CHARS) {
      excerpt = (excerpt + decoder.decode(value, { stream: true })).slice(0, EXCERPT_CHARS);
    }
    read += value.byteLength;
    if (read > 64 * 1024) {
      await reader.cancel();
      return excerpt;
    }
  }
}

/** How much of a receiver's answer is kept to show. */
const EXCERPT_CHARS = 500;

/** What a receiver answered to a test event. */
export interface WebhookProbe {
  ok: boolean;
  status?: number;
  ms: number;
  excerpt?: string;
  error?: string;
  webhookId: string;
}

/** `Retry-After` as seconds or an HTTP date, in ms from now. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
