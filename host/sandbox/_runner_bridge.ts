/**
 * Inside the sandbox: the capabilities a plugin's `ctx` holds, each a message to the host. A
 * request through `ctx.fetch` is performed by the host (with its own network rules) and its
 * response body pulled chunk by chunk; `clock.sleep` waits on the host's clock; the logger's lines
 * go to the host's logger, which redacts them.
 * @module
 */
import type { Json, Logger } from "../types.ts";
import {
  fromErrorData,
  type HostMessage,
  NULL_BODY_STATUSES,
  type SandboxMessage,
} from "./_protocol.ts";

/** What waits on the host's answers to one operation. */
interface Waiter {
  response?(message: Extract<HostMessage, { type: "response" }>): void;
  chunk?(bytes: Uint8Array): void;
  end?(): void;
  woke?(): void;
  fail(error: Error): void;
}

/** Plain JSON of a log line's fields, or a note that they were not JSON. */
function jsonFields(fields: unknown): Json | undefined {
  if (fields === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(fields));
  } catch {
    return { fields: "(not JSON)" };
  }
}

/** The sandbox's end of the operations a plugin asks of the host. */
export class Bridge {
  #send: (message: SandboxMessage) => void;
  #waiters = new Map<number, Waiter>();
  #nextOp = 1;
  #now = Date.now();
  #maxRequestBytes: number;

  constructor(send: (message: SandboxMessage) => void, options: { maxRequestBytes: number }) {
    this.#send = send;
    this.#maxRequestBytes = options.maxRequestBytes;
  }

  /**
   * The host clock's time as of the host's last message: the host's clock cannot be read here
   * synchronously, and following it (rather than this process's) keeps a fake clock in tests
   * exact. It moves with every answer the host sends (a response, a chunk, a wake-up, a call).
   */
  now(): number {
    return this.#now;
  }

  /**
   * Takes an answer to an operation (a chunk with its bytes); returns false for messages that are
   * not one.
   */
  handle(message: HostMessage & { now: number }, payload?: Uint8Array): boolean {
    if (typeof message.now === "number") this.#now = message.now;
    if (!("op" in message)) return false;
    const waiter = this.#waiters.get(message.op);
    if (!waiter) return true; // cancelled meanwhile
    switch (message.type) {
      case "response":
        waiter.response?.(message);
        break;
      case "chunk":
        if (payload) waiter.chunk?.(payload);
        break;
      case "end":
        this.#waiters.delete(message.op);
        waiter.end?.();
        break;
      case "woke":
        this.#waiters.delete(message.op);
        waiter.woke?.();
        break;
      case "fail":
        this.#waiters.delete(message.op);
        waiter.fail(fromErrorData(message.error));
        break;
    }
    return true;
  }

  /** A logger whose lines the host writes (for call `id`, or the module's own when undefined). */
  loggerFor(id?: number): Logger {
    const at =
      (level: "debug" | "info" | "warn" | "error") =>
      (message: string, fields?: Record<string, unknown>) =>
        this.#send({
          type: "log",
          id,
          level,
          message: String(message),
          fields: jsonFields(fields),
        });
    return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  }

  /** A sleep on the host's clock, cut short by `signal`. */
  sleepFor(id: number): (ms: number, signal?: AbortSignal) => Promise<void> {
    return (ms, signal) => {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const op = this.#nextOp++;
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.#waiters.delete(op);
          this.#send({ type: "cancel", op });
          reject(signal!.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#waiters.set(op, {
          woke: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
          fail: (error) => {
            signal?.removeEventListener("abort", onAbort);
            reject(error);
          },
        });
        this.#send({ type: "sleep", id, op, ms: Math.max(0, Number(ms) || 0) });
      });
    };
  }

  /** A `fetch` the host performs; the response body arrives as the plugin reads it. */
  fetchFor(id: number): typeof fetch {
    return async (input, init) => {
      const request = new Request(input, init);
      const signal = request.signal;
      signal.throwIfAborted();
      let body: string | null = null;
      if (request.body) {
        const bytes = new Uint8Array(await request.arrayBuffer());
        if (bytes.byteLength > this.#maxRequestBytes) {
          throw new TypeError(
            `Cannot send a request body of ${bytes.byteLength} bytes: the sandbox allows ${this.#maxRequestBytes}`,
          );
        }
        body = bytes.toBase64();
      }
      const op = this.#nextOp++;
      return await new Promise<Response>((resolve, reject) => {
        let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
        let pulled: (() => void) | undefined;
        const settlePull = () => {
          const done = pulled;
          pulled = undefined;
          done?.();
        };
        const onAbort = () => {
          if (!this.#waiters.delete(op)) return;
          this.#send({ type: "cancel", op });
          if (stream) {
            stream.error(signal.reason);
            settlePull();
          } else reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        const finish = () => signal.removeEventListener("abort", onAbort);
        this.#waiters.set(op, {
          response: (head) => {
            try {
              if (!head.body || NULL_BODY_STATUSES.has(head.status)) {
                this.#waiters.delete(op);
                finish();
                resolve(
                  new Response(null, {
                    status: head.status,
                    statusText: head.statusText,
                    headers: head.headers,
                  }),
                );
                return;
              }
              const readable = new ReadableStream<Uint8Array>({
                start: (controller) => void (stream = controller),
                pull: () =>
                  new Promise<void>((done) => {
                    pulled = done;
                    this.#send({ type: "pull", op });
                  }),
                cancel: () => {
                  if (this.#waiters.delete(op)) this.#send({ type: "cancel", op });
                  finish();
                },
              }, { highWaterMark: 0 });
              resolve(
                new Response(readable, {
                  status: head.status,
                  statusText: head.statusText,
                  headers: head.headers,
                }),
              );
            } catch (error) {
              this.#waiters.delete(op);
              this.#send({ type: "cancel", op });
              finish();
              reject(error);
            }
          },
          chunk: (bytes) => {
            stream?.enqueue(bytes);
            settlePull();
          },
          end: () => {
            finish();
            stream?.close();
            settlePull();
          },
          fail: (error) => {
            finish();
            if (stream) {
              stream.error(error);
              settlePull();
            } else reject(error);
          },
        });
        this.#send({
          type: "fetch",
          id,
          op,
          url: request.url,
          method: request.method,
          headers: [...request.headers],
          body,
        });
      });
    };
  }
}
