/**
 * The wire between the host and a sandbox process: one JSON object per line, both ways (stdin to
 * the sandbox, stdout back). Shared by the host side (`sandbox.ts`) and the runner inside the
 * sandbox (`_runner.ts`), so this file uses no `Deno.*` API that needs a permission.
 *
 * Calls carry an `id`; what the plugin asks of the host during a call (a request through
 * `ctx.fetch`, a sleep) is an operation with an `op` number the sandbox picks. Response bodies
 * travel as chunks the sandbox pulls one at a time, so neither side buffers a whole download.
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
  | { type: "chunk"; op: number; data: string }
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

/** Thrown by `readLines` when a line grows past its limit before its newline. */
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
