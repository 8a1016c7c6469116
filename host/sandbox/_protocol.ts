/**
 * The wire between the host and a sandbox process: one JSON object per line, both ways (stdin to
 * the sandbox, stdout back). Shared by the host side (`sandbox.ts`) and the runner inside the
 * sandbox (`_runner.ts`), so this file uses no `Deno.*` API that needs a permission.
 *
 * Calls carry an `id`; what the plugin asks of the host during a call (a request through
 * `ctx.fetch`, a sleep) is an operation with an `op` number the sandbox picks. Response bodies
 * travel as chunks the sandbox pulls one at a time, so neither side buffers a whole download.
 * A chunk is the one binary frame: its line (`{"type":"chunk","op":1,"bytes":N}`) is followed by
 * its N bytes as they are, so a body is neither base64-encoded nor parsed as JSON on its way.
 * @module
 */
import { join } from "../bytes.ts";
import type { Json } from "../types.ts";

/** The hooks a sandbox runs; `import` is the module's evaluation. */
export type Hook = "import" | "validateConfig" | "check" | "fetch" | "normalize";

/** An error as it crosses the wire; `output` marks malformed plugin output. */
export interface ErrorData {
  name: string;
  message: string;
  code?: string;
  hint?: string;
  issues?: { path: string; message: string }[];
  output?: boolean;
}

/** What `check` and `fetch` see of their context, besides the capabilities. */
export interface ContextData {
  integrationId: string;
  config: Json;
  checkpoint: Json;
  preview?: boolean;
  /** A backfill's span (the contract's `FetchWindow`). */
  window?: { from: string; to: string; logTypes: string[] };
}

/** Host → sandbox. Every message also carries the host clock's `now`. */
export type HostMessage =
  | { type: "call"; id: number; hook: "import"; pluginId: string; source: string }
  | { type: "call"; id: number; hook: "validateConfig"; config: Json }
  | { type: "call"; id: number; hook: "check"; ctx: ContextData }
  /**
   * With `normalize`, each page comes with its records normalized: one message per page; with
   * `slim` too, only the records that did not fit come back (the others as null). The sandbox
   * sends the first page and `ahead` more unasked, then one more per `next`.
   */
  | {
    type: "call";
    id: number;
    hook: "fetch";
    ctx: ContextData;
    normalize?: boolean;
    slim?: boolean;
    ahead?: number;
  }
  | {
    type: "call";
    id: number;
    hook: "normalize";
    records: Json[];
    ctx: { integrationId: string; config: Json };
  }
  | { type: "next" | "return"; id: number }
  | { type: "abort"; id: number; reason: ErrorData }
  | {
    type: "response";
    op: number;
    status: number;
    statusText: string;
    headers: [string, string][];
    body: boolean;
  }
  /** Followed on the wire by `bytes` raw bytes of the body. */
  | { type: "chunk"; op: number; bytes: number }
  | { type: "end" | "woke"; op: number }
  | { type: "fail"; op: number; error: ErrorData };

/** Sandbox → host. */
export type SandboxMessage =
  | { type: "result"; id: number; value: Json }
  | { type: "page"; id: number; page: Json; normalized?: Json }
  | { type: "done"; id: number }
  | { type: "error"; id: number; error: ErrorData }
  | {
    type: "fetch";
    id: number;
    op: number;
    url: string;
    method: string;
    headers: [string, string][];
    body: string | null;
  }
  | { type: "sleep"; id: number; op: number; ms: number }
  | { type: "pull" | "cancel"; op: number }
  | { type: "log"; id?: number; level: LogLevel; message: string; fields?: Json }
  | { type: "beat" };

/** The logger's levels. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Statuses whose responses never have a body. */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/** The largest piece of a response body sent in one message. */
export const CHUNK_BYTES = 256 * 1024;

const encoder = new TextEncoder();

/** One message as a line of bytes. */
export function encodeLine(message: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(message)}\n`);
}

/** Thrown by `readLines` and `FrameReader` when a line grows past its limit before its newline. */
export class LineTooLongError extends Error {
  override name = "LineTooLongError";
}

/**
 * Splits a byte stream into lines (without the newline), never holding more than `maxBytes` of
 * an unfinished line.
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    let from = 0;
    for (;;) {
      const at = chunk.indexOf(10, from);
      if (at < 0) break;
      const tail = chunk.subarray(from, at);
      if (size + tail.byteLength > maxBytes) throw new LineTooLongError(`over ${maxBytes} bytes`);
      yield parts.length === 0 ? tail : join([...parts, tail], size + tail.byteLength);
      parts = [];
      size = 0;
      from = at + 1;
    }
    if (from < chunk.byteLength) {
      // Copied: the stream may reuse its buffer for the next chunk.
      parts.push(chunk.slice(from));
      size += chunk.byteLength - from;
      if (size > maxBytes) throw new LineTooLongError(`over ${maxBytes} bytes`);
    }
  }
}

/**
 * Reads lines and binary payloads from a byte source through one buffer it reuses (the sandbox
 * reads its stdin so, without a stream's per-chunk promises and copies). `read` fills the array
 * it is given and says how many bytes it wrote, or null at the end (`Deno.stdin.read`'s shape).
 */
export class FrameReader {
  #read: (into: Uint8Array) => Promise<number | null>;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  #done = false;

  constructor(read: (into: Uint8Array) => Promise<number | null>, size = 64 * 1024) {
    this.#read = read;
    this.#buffer = new Uint8Array(size);
  }

  /**
   * The next line without its newline, or null at the end of the source (an unfinished last line
   * is dropped). The bytes are a view valid until the next call; a line longer than `maxBytes`
   * throws LineTooLongError.
   */
  async line(maxBytes: number): Promise<Uint8Array | null> {
    let from = this.#start;
    for (;;) {
      const at = this.#buffer.subarray(from, this.#end).indexOf(10);
      if (at >= 0) {
        const line = this.#buffer.subarray(this.#start, from + at);
        this.#start = from + at + 1;
        return line;
      }
      if (this.#end - this.#start > maxBytes) throw new LineTooLongError(`over ${maxBytes} bytes`);
      from = this.#end;
      const before = this.#start;
      if (!(await this.#fill())) return null;
      from -= before - this.#start; // the buffer may have moved its contents to the front
    }
  }

  /** Exactly the next `n` bytes, in an array of their own; null when the source ends first. */
  async bytes(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let have = Math.min(n, this.#end - this.#start);
    out.set(this.#buffer.subarray(this.#start, this.#start + have));
    this.#start += have;
    while (have < n) {
      // The rest straight into its own array, not through the buffer.
      const read = this.#done ? null : await this.#read(out.subarray(have));
      if (read === null) return null;
      have += read;
    }
    return out;
  }

  /** Reads more into the buffer, making room first; false at the end of the source. */
  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buffer.byteLength) {
      const larger = new Uint8Array(this.#buffer.byteLength * 2);
      larger.set(this.#buffer);
      this.#buffer = larger;
    }
    const read = await this.#read(this.#buffer.subarray(this.#end));
    if (read === null) {
      this.#done = true;
      return false;
    }
    this.#end += read;
    return true;
  }
}

/** Reads whatever was thrown into its wire form, without trusting its getters. */
export function toErrorData(error: unknown): ErrorData {
  try {
    if (typeof error !== "object" || error === null) {
      return { name: "Error", message: String(error) };
    }
    const e = error as Record<string, unknown>;
    const data: ErrorData = {
      name: typeof e.name === "string" ? e.name : "Error",
      message: typeof e.message === "string" ? e.message : String(error),
    };
    if (typeof e.code === "string") data.code = e.code;
    if (typeof e.hint === "string") data.hint = e.hint;
    if (Array.isArray(e.issues)) {
      data.issues = e.issues.map((i: { path?: unknown; message?: unknown }) => ({
        path: String(i?.path ?? ""),
        message: String(i?.message ?? ""),
      }));
    }
    return data;
  } catch {
    return { name: "Error", message: "an error that could not be read" };
  }
}

/** The wire form back into an Error with the same name, message, `code` and `hint`. */
export function fromErrorData(data: ErrorData): Error {
  if (data.name === "AbortError" || data.name === "TimeoutError") {
    return new DOMException(data.message, data.name);
  }
  const error = new Error(data.message) as Error & Record<string, unknown>;
  error.name = data.name;
  if (data.code !== undefined) error.code = data.code;
  if (data.hint !== undefined) error.hint = data.hint;
  if (data.issues !== undefined) error.issues = data.issues;
  return error;
}
