/**
 * The host's one error type: a closed set of codes per boundary, a message in Deno's style, the
 * operator hint when there is one, and the cause. Tests assert the code, not the text.
 * @module
 */
import type { Issue } from "./types.ts";

/** Every way the host can fail, by boundary. */
export type HostErrorCode =
  | "MANIFEST_INVALID"
  | "PLUGIN_LOAD_FAILED"
  | "PLUGIN_NOT_FOUND"
  | "CONFIG_INVALID"
  | "REQUEST_MALFORMED"
  | "MEDIA_TYPE_UNSUPPORTED"
  | "NOT_FOUND"
  | "UNAUTHORIZED"
  | "METHOD_NOT_ALLOWED"
  | "BODY_TOO_LARGE"
  | "CONFLICT"
  | "RUN_IN_PROGRESS"
  | "PLUGIN_CHECK_FAILED"
  | "PLUGIN_FETCH_FAILED"
  | "PLUGIN_OUTPUT_INVALID"
  | "NET_DENIED"
  | "NET_FAILED"
  | "DELIVERY_FAILED"
  | "SECRETS_UNAVAILABLE"
  | "STORAGE_FAILED"
  | "INTERRUPTED"
  | "CANCELLED"
  | "INTERNAL";

/** A host failure with its code, the issues behind it and an operator hint. */
export class HostError extends Error {
  override name = "HostError";
  readonly code: HostErrorCode;
  readonly issues: Issue[];
  readonly hint?: string;

  constructor(
    code: HostErrorCode,
    message: string,
    options: { issues?: Issue[]; hint?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
    this.hint = options.hint;
  }
}

/**
 * Wraps what a plugin threw, naming the plugin and the hook (as esbuild does), and keeping the
 * plugin's own operator hint when it gave one.
 */
export function wrapPluginError(
  code: "PLUGIN_CHECK_FAILED" | "PLUGIN_FETCH_FAILED" | "PLUGIN_OUTPUT_INVALID",
  pluginId: string,
  hook: string,
  error: unknown,
): HostError {
  if (error instanceof HostError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const hint = typeof (error as { hint?: unknown })?.hint === "string"
    ? (error as { hint: string }).hint
    : undefined;
  return new HostError(code, `[plugin ${pluginId}] ${hook}: ${message}`, { hint, cause: error });
}
