/**
 * Plugins in their own process, with no ambient authority (SPEC §5.2). A sandbox is a `deno run`
 * of a small runner with no `--allow-*` flag, no remote or npm imports and a V8 heap cap; the
 * plugin's integrity-checked bytes are imported there from a `data:` URL. The host talks to it in
 * JSON lines: whole calls (`validateConfig`, `check`, `normalizePage`) and whole pages (`fetch`,
 * or `normalizedPages` with each page's records normalized on the way). Everything the plugin
 * may use arrives in `ctx` and is performed by the host: `ctx.fetch` with the fetch the sandbox
 * was given (the host's `limitedFetch`), its response bodies streamed in chunks as the plugin
 * reads them; `ctx.clock.sleep` on the host's clock; `ctx.logger` into the host's logger.
 *
 * ```ts
 * await using sandbox = await startSandbox({ pluginId, source: bytes, fetch, clock, logger });
 * const valid = await sandbox.validateConfig(stored, { integrationId });
 * if (!valid.ok) throw ...;
 * const ctx = { integrationId, config: valid.output, checkpoint, signal };
 * for await (const { page, normalized } of sandbox.normalizedPages(ctx)) {
 *   const sorted = sortResults(page.records, normalized); // alerts, filtered, invalid, counts
 * }
 * ```
 * @module
 */
export {
  type NormalizeContext,
  type NormalizedPage,
  probePlugin,
  Sandbox,
  type SandboxContext,
  type SandboxOptions,
  startSandbox,
} from "./sandbox.ts";
export { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from "./limits.ts";
export { type Hook, SandboxError, type SandboxFailure } from "./errors.ts";
export {
  type ConfigValidation,
  type NormalizedResults,
  type NormalizeResult,
  type SortedPage,
  sortResults,
} from "./output.ts";
export { type Ending, sandboxArgs } from "./_process.ts";
