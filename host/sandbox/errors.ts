/**
 * How a sandboxed plugin fails: a HostError naming the plugin and the hook, with why the sandbox
 * stopped when it did (a time limit, the memory cap, a crash, a broken wire).
 * @module
 */
import { HostError, type HostErrorCode } from "../errors.ts";
import type { Ending } from "./_process.ts";
import type { Hook } from "./_protocol.ts";

export type { Hook } from "./_protocol.ts";

/** Why a sandbox stopped, or `threw` when the plugin's own code threw. */
export type SandboxFailure = Ending["kind"] | "threw" | "output";

/** The host's code for a failure in each hook. */
export function codeOf(hook: Hook): HostErrorCode {
  switch (hook) {
    case "import":
    case "validateConfig":
      return "PLUGIN_LOAD_FAILED";
    case "check":
      return "PLUGIN_CHECK_FAILED";
    default:
      return "PLUGIN_FETCH_FAILED";
  }
}

/** A plugin failure seen through its sandbox: `[plugin mimecast] fetch: ...`. */
export class SandboxError extends HostError {
  override name = "SandboxError";
  readonly pluginId: string;
  readonly hook: Hook;
  readonly failure: SandboxFailure;

  constructor(
    pluginId: string,
    hook: Hook,
    failure: SandboxFailure,
    detail: string,
    options: { hint?: string; cause?: unknown; issues?: { path: string; message: string }[] } = {},
  ) {
    super(
      failure === "output" ? "PLUGIN_OUTPUT_INVALID" : codeOf(hook),
      `[plugin ${pluginId}] ${hook}: ${detail}`,
      options,
    );
    this.pluginId = pluginId;
    this.hook = hook;
    this.failure = failure;
  }
}

/** The error each waiting call gets when its sandbox stops. */
export function stoppedError(pluginId: string, hook: Hook, ending: Ending): SandboxError {
  const detail = ending.kind === "closed"
    ? "the sandbox was closed"
    : ending.hook === undefined || ending.hook === hook
    ? ending.detail
    : `the sandbox was stopped because ${ending.hook} ${ending.detail}`;
  return new SandboxError(pluginId, hook, ending.kind, detail);
}
