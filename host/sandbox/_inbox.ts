/**
 * The host reading what a sandbox sends: every message is untrusted, so each kind is checked for
 * its shape before use; a message that fits no shape is a broken protocol (the caller then stops
 * the sandbox).
 * @module
 */
import type { Json } from "../types.ts";
import {
  type ErrorData,
  fromErrorData,
  type Hook,
  type LogLevel,
  type SandboxMessage,
} from "./_protocol.ts";
import { SandboxError } from "./errors.ts";

/** A request the plugin asked the host to make. */
export type RequestMessage = Omit<Extract<SandboxMessage, { type: "fetch" }>, "type">;

const LEVELS = new Set<string>(["debug", "info", "warn", "error"]);

/** A non-negative whole number: a call id or an operation number. */
export const isIndex = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** A plain object (not null, not an array). */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** What the plugin threw, as a SandboxError keeping its message, `code` and `hint`. */
export function thrownError(pluginId: string, hook: Hook, error: unknown): SandboxError {
  const data: ErrorData = isObject(error)
    ? {
      name: String(error.name ?? "Error"),
      message: String(error.message ?? "").slice(0, 8192),
      ...(typeof error.code === "string" ? { code: error.code } : {}),
      ...(typeof error.hint === "string" ? { hint: error.hint } : {}),
    }
    : { name: "Error", message: String(error) };
  if (isObject(error) && error.output === true) {
    return new SandboxError(pluginId, hook, "output", data.message);
  }
  return new SandboxError(pluginId, hook, "threw", data.message, {
    hint: data.hint,
    cause: fromErrorData(data),
  });
}

/** A `fetch` message's request, or undefined when it is malformed. */
export function requestOf(message: Record<string, unknown>): RequestMessage | undefined {
  const { id, op, url, method, headers, body } = message;
  const pairs = Array.isArray(headers) &&
    headers.every((h) =>
      Array.isArray(h) && h.length === 2 && typeof h[0] === "string" && typeof h[1] === "string"
    );
  if (
    !isIndex(id) || !isIndex(op) || typeof url !== "string" || typeof method !== "string" ||
    !pairs || (body !== null && typeof body !== "string")
  ) {
    return undefined;
  }
  return { id, op, url, method, headers: headers as [string, string][], body };
}

/** A `log` message's line, or undefined when it is malformed. */
export function logLineOf(
  message: Record<string, unknown>,
): { id?: number; level: LogLevel; message: string; fields?: Record<string, Json> } | undefined {
  if (!LEVELS.has(String(message.level)) || typeof message.message !== "string") return undefined;
  return {
    id: isIndex(message.id) ? message.id : undefined,
    level: message.level as LogLevel,
    message: message.message.slice(0, 8192),
    fields: isObject(message.fields) ? message.fields as Record<string, Json> : undefined,
  };
}
