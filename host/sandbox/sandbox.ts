/**
 * A plugin in its own process with no ambient authority (SPEC §5.2), driven as an RPC of whole
 * calls and whole pages. One sandbox serves one integration: it is started for a run, a check, a
 * preview or a config validation and closed after, so no module global can carry one
 * integration's secrets into another's.
 *
 * Limits: the plugin's own time per call or page (`callTimeoutMs`; time the host spends on its
 * requests and sleeps does not count), a heartbeat (`unresponsiveMs`: an event loop blocked by an
 * endless synchronous loop), a wall-clock ceiling per call or page (`wallTimeoutMs`), the V8 heap
 * (`heapMiB`) and the process's resident memory (`memoryMiB`, Linux). A breach kills the process;
 * the calls waiting on it fail with a SandboxError naming the plugin and the hook.
 * @module
 */
import { systemClock } from "../clock.ts";
import { HostError } from "../errors.ts";
import type { CheckResult, Clock, FetchWindow, Json, Logger, Page } from "../types.ts";
import { HostOps, type OpOwner } from "./_host_ops.ts";
import { isIndex, isObject, logLineOf, requestOf, thrownError } from "./_inbox.ts";
import { type Ending, SandboxProcess } from "./_process.ts";
import type { ContextData, ErrorData, Hook } from "./_protocol.ts";
import { Watchdog } from "./_watchdog.ts";
import { SandboxError, stoppedError } from "./errors.ts";
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from "./limits.ts";
import {
  checkResultsOf,
  type ConfigValidation,
  configValidationOf,
  normalizedOf,
  type NormalizedResults,
  pageOf,
} from "./output.ts";

/** What starting a sandbox needs. */
export interface SandboxOptions {
  pluginId: string;
  /** The entry's bytes, already checked against the manifest's integrity. */
  source: Uint8Array;
  /** Performs the plugin's `ctx.fetch` requests: the host's `limitedFetch` for this plugin. */
  fetch?: typeof fetch;
  /** The clock behind `ctx.clock` (sleeps wait on it; `now()` follows it). */
  clock?: Clock;
  /** Where the module's own lines go (console output, import time); calls may pass their own. */
  logger?: Logger;
  limits?: Partial<SandboxLimits>;
}

/** The context of `check` and `fetch`; `fetch`, `clock` and `logger` come from the sandbox. */
export interface SandboxContext {
  integrationId: string;
  /** The validated config, secrets included: plain JSON. */
  config: unknown;
  checkpoint?: unknown;
  preview?: boolean;
  /** A backfill's span: `fetch` reads it instead of going on from the checkpoint. */
  window?: FetchWindow;
  /** Aborting it stops the call at once; the plugin's `ctx.signal` is aborted too. */
  signal?: AbortSignal;
  /** The call's logger (e.g. a child logger with the run's id); the sandbox's by default. */
  logger?: Logger;
}

/** The context of `normalizePage`. */
export interface NormalizeContext {
  integrationId: string;
  config: unknown;
  signal?: AbortSignal;
}

type Reply =
  | { type: "result"; value: unknown }
  | { type: "page"; page: unknown; normalized?: unknown }
  | { type: "done" };

/** A page and its records' outcomes, from `normalizedPages`. */
export interface NormalizedPage {
  page: Page;
  normalized: NormalizedResults;
}

interface Waiter {
  resolve(reply: Reply): void;
  reject(error: unknown): void;
  activeMs: number;
  startedAt: number;
  limitMs: number;
}

interface Call extends OpOwner {
  id: number;
  hook: Hook;
  logger: Logger;
  waiter?: Waiter;
  /** Pages (or the fetch's end or error) that arrived ahead of the caller asking. */
  queued?: Record<string, unknown>[];
  /** How many pages the sandbox may send unasked. */
  ahead?: number;
  signal?: AbortSignal;
  onAbort?: () => void;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function noNetwork(pluginId: string): typeof fetch {
  return (input) =>
    Promise.reject(
      new HostError(
        "NET_DENIED",
        `[plugin ${pluginId}] Cannot reach ${
          new URL(input instanceof Request ? input.url : String(input)).origin
        }: this sandbox was given no network`,
      ),
    );
}

/** A running sandbox with one plugin loaded. Start one with `startSandbox`. */
export class Sandbox {
  readonly pluginId: string;
  /** Resolves once the process has exited. */
  readonly closed: Promise<void>;
  #hooks = { check: false };
  #limits: SandboxLimits;
  #clock: Clock;
  #logger: Logger;
  #process: SandboxProcess;
  #ops: HostOps;
  #calls = new Map<number, Call>();
  #nextId = 1;
  #ending?: Ending;
  #watchdog: Watchdog;
  #ticker: ReturnType<typeof setInterval>;
  #integration?: string;

  private constructor(options: SandboxOptions) {
    this.pluginId = options.pluginId;
    this.#limits = { ...DEFAULT_SANDBOX_LIMITS, ...options.limits };
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silent;
    const limits = this.#limits;
    this.#process = new SandboxProcess({
      heapMiB: limits.heapMiB,
      memoryMiB: limits.memoryMiB,
      beatMs: Math.max(50, Math.min(1000, limits.unresponsiveMs / 4)),
      maxMessageBytes: limits.maxMessageBytes,
      maxRequestBytes: limits.maxRequestBytes,
    }, (message) => this.#onMessage(message));
    this.#ops = new HostOps({
      send: (message, payload) => this.#send(message as Record<string, unknown>, payload),
      fetch: options.fetch ?? noNetwork(options.pluginId),
      clock: this.#clock,
      maxOpen: limits.maxOpen,
    });
    this.#watchdog = new Watchdog(limits);
    this.#ticker = setInterval(() => {
      const breach = this.#watchdog.tick(this.#calls.values());
      if (breach) this.#process.kill(breach);
    }, this.#watchdog.everyMs);
    this.closed = this.#process.ended.then((ending) => this.#end(ending));
  }

  /**
   * Starts a process, imports the plugin's bytes in it and checks its export against the
   * contract. Fails with PLUGIN_LOAD_FAILED naming the plugin and `import`.
   */
  static async start(options: SandboxOptions): Promise<Sandbox> {
    const sandbox = new Sandbox(options);
    try {
      const call = sandbox.#open("import", {});
      const reply = await sandbox.#request(call, {
        type: "call",
        hook: "import",
        pluginId: options.pluginId,
        source: options.source.toBase64(),
      }, sandbox.#limits.loadTimeoutMs);
      sandbox.#finish(call);
      const hooks = reply.type === "result" && isObject(reply.value) ? reply.value : {};
      sandbox.#hooks = { check: hooks.check === true };
    } catch (error) {
      await sandbox.close();
      throw error;
    }
    return sandbox;
  }

  /** Which optional hooks the plugin has. */
  get hooks(): { check: boolean } {
    return { ...this.#hooks };
  }

  /** Why the sandbox stopped, once it has: e.g. `{ kind: "memory", detail, hook }`. */
  get stopped(): Ending | undefined {
    return this.#ending;
  }

  /**
   * Validates a config with the plugin's own schema. Issue paths are valibot's dot paths within
   * the config (`baseUrl`, `logTypes.1`; `""` for the config as a whole).
   */
  async validateConfig(
    config: unknown,
    options: { integrationId?: string; signal?: AbortSignal } = {},
  ): Promise<ConfigValidation> {
    this.#bind(options.integrationId, "validateConfig");
    const value = await this.#once("validateConfig", { config }, options);
    return this.#checked("validateConfig", () => configValidationOf(value));
  }

  /** Runs the plugin's connection check; its absence is an error (see `hooks.check`). */
  async check(ctx: SandboxContext): Promise<CheckResult[]> {
    this.#bind(ctx.integrationId, "check");
    if (!this.#hooks.check) {
      throw new SandboxError(this.pluginId, "check", "threw", "this plugin has no check");
    }
    const value = await this.#once("check", { ctx: contextData(ctx) }, ctx);
    return this.#checked("check", () => checkResultsOf(value));
  }

  /**
   * The plugin's pages, one per `next()`: the sandbox computes a page only when it is asked for
   * (the caller decides whether to read one ahead). Breaking out of the loop ends the plugin's
   * `fetch` (its `return()` runs).
   */
  async *fetch(ctx: SandboxContext): AsyncGenerator<Page> {
    for await (const { page } of this.#pages(ctx, false)) yield page;
  }

  /**
   * The plugin's pages with their records already normalized in the sandbox (as `normalizePage`
   * would), each in one message. With `slim`, what a run wants: only the records that did not
   * fit come back whole, the others as `null` in their places (an alert carries its record, a
   * filtered one is only counted).
   */
  normalizedPages(
    ctx: SandboxContext,
    options: { slim?: boolean; ahead?: number } = {},
  ): AsyncGenerator<NormalizedPage> {
    return this.#pages(ctx, true, options) as AsyncGenerator<NormalizedPage>;
  }

  /**
   * A fetch call's pages. With `ahead`, the sandbox computes that many pages beyond the one
   * asked for without waiting to be asked (they queue here; the plugin's own time on them is not
   * watched until the caller waits), so its round trips overlap the caller's work.
   */
  async *#pages(
    ctx: SandboxContext,
    normalize: boolean,
    options: { slim?: boolean; ahead?: number } = {},
  ): AsyncGenerator<{ page: Page; normalized?: NormalizedResults }> {
    this.#bind(ctx.integrationId, "fetch");
    const call = this.#open("fetch", ctx);
    const ahead = Math.max(0, Math.min(16, Math.floor(options.ahead ?? 0)));
    call.queued = [];
    call.ahead = ahead;
    try {
      let message: Record<string, unknown> = {
        type: "call",
        hook: "fetch",
        ctx: contextData(ctx),
        ...(normalize ? { normalize: true } : {}),
        ...(options.slim ? { slim: true } : {}),
        ...(ahead > 0 ? { ahead } : {}),
      };
      for (;;) {
        const reply = await this.#request(call, message, this.#limits.callTimeoutMs);
        if (reply.type === "done") return;
        const { page: raw, normalized } = reply as { page: unknown; normalized?: unknown };
        const page = this.#checked("fetch", () => pageOf(raw));
        yield normalize
          ? {
            page,
            normalized: this.#checked(
              "normalize",
              () => normalizedOf(normalized, page.records.length, this.pluginId),
            ),
          }
          : { page };
        message = { type: "next" };
      }
    } finally {
      if (this.#calls.has(call.id)) this.#send({ type: "return", id: call.id });
      this.#finish(call);
    }
  }

  /** Normalizes a whole page in one call: one result per record, in order, and the counts. */
  async normalizePage(records: unknown[], ctx: NormalizeContext): Promise<NormalizedResults> {
    this.#bind(ctx.integrationId, "normalize");
    const value = await this.#once("normalize", {
      records,
      ctx: { integrationId: ctx.integrationId, config: ctx.config },
    }, ctx);
    return this.#checked("normalize", () => normalizedOf(value, records.length, this.pluginId));
  }

  /** Kills the process (if it still runs) and waits for it; calls still waiting fail. */
  async close(): Promise<void> {
    this.#process.kill({ kind: "closed", detail: "was closed" });
    await this.closed;
  }

  /** `await using sandbox = await startSandbox(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** One request-answer call. */
  async #once(
    hook: Hook,
    body: Record<string, unknown>,
    options: { signal?: AbortSignal; logger?: Logger },
  ): Promise<unknown> {
    const call = this.#open(hook, options);
    try {
      const reply = await this.#request(
        call,
        { type: "call", hook, ...body },
        this.#limits.callTimeoutMs,
      );
      return (reply as { value: unknown }).value;
    } finally {
      this.#finish(call);
    }
  }

  #bind(integrationId: string | undefined, hook: Hook): void {
    const key = integrationId ?? "";
    this.#integration ??= key;
    if (this.#integration === key) return;
    throw new HostError(
      "INTERNAL",
      `[plugin ${this.pluginId}] ${hook}: this sandbox serves integration "${
        this.#integration || "(unsaved)"
      }", not "${key || "(unsaved)"}"; start a sandbox per integration`,
    );
  }

  #open(hook: Hook, options: { signal?: AbortSignal; logger?: Logger }): Call {
    if (this.#ending) throw stoppedError(this.pluginId, hook, this.#ending);
    options.signal?.throwIfAborted();
    const call: Call = {
      id: this.#nextId++,
      hook,
      busy: 0,
      logger: options.logger ?? this.#logger,
      signal: options.signal,
    };
    if (options.signal) {
      const signal = options.signal;
      call.onAbort = () => {
        if (!this.#calls.has(call.id)) return;
        this.#send({ type: "abort", id: call.id, reason: abortReason(signal.reason) });
        call.waiter?.reject(signal.reason);
        call.waiter = undefined;
        this.#finish(call);
      };
      signal.addEventListener("abort", call.onAbort, { once: true });
    }
    this.#calls.set(call.id, call);
    return call;
  }

  #request(call: Call, message: Record<string, unknown>, limitMs: number): Promise<Reply> {
    if (this.#ending) return Promise.reject(stoppedError(this.pluginId, call.hook, this.#ending));
    call.signal?.throwIfAborted();
    if (!this.#calls.has(call.id)) {
      return Promise.reject(
        new SandboxError(this.pluginId, call.hook, "threw", "the call has already ended"),
      );
    }
    const queued = call.queued?.shift();
    if (queued) {
      // A page that came ahead: take it, and let the sandbox compute one more.
      if (queued.type === "page") this.#send({ ...message, id: call.id });
      return new Promise<Reply>((resolve, reject) => {
        call.waiter = { resolve, reject, activeMs: 0, startedAt: performance.now(), limitMs };
        this.#reply(queued);
      });
    }
    return new Promise<Reply>((resolve, reject) => {
      call.waiter = { resolve, reject, activeMs: 0, startedAt: performance.now(), limitMs };
      this.#send({ ...message, id: call.id });
    });
  }

  #finish(call: Call): void {
    if (call.onAbort) call.signal?.removeEventListener("abort", call.onAbort);
    this.#calls.delete(call.id);
    this.#ops.cancelAll(call);
  }

  #checked<T>(hook: Hook, read: () => T): T {
    try {
      return read();
    } catch (error) {
      throw new SandboxError(this.pluginId, hook, "output", (error as Error).message);
    }
  }

  #send(message: Record<string, unknown>, payload?: Uint8Array): void {
    this.#process.send({ ...message, now: this.#clock.now() }, payload);
  }

  #broken(detail: string, hook?: Hook): void {
    this.#process.kill({
      kind: "protocol",
      detail: `broke the sandbox protocol (${detail})`,
      hook,
    });
  }

  #onMessage(raw: unknown): void {
    this.#watchdog.heard();
    if (!isObject(raw) || typeof raw.type !== "string") {
      return this.#broken("a message without a type");
    }
    switch (raw.type) {
      case "beat":
        return;
      case "result":
      case "page":
      case "done":
      case "error":
        return this.#reply(raw);
      case "fetch":
      case "sleep":
        return this.#operation(raw);
      case "pull":
        if (isIndex(raw.op)) void this.#ops.pull(raw.op);
        return;
      case "cancel":
        if (isIndex(raw.op)) this.#ops.cancel(raw.op);
        return;
      case "log":
        return this.#log(raw);
      default:
        return this.#broken(`an unknown message "${raw.type.slice(0, 40)}"`);
    }
  }

  #reply(message: Record<string, unknown>): void {
    const call = isIndex(message.id) ? this.#calls.get(message.id) : undefined;
    if (call && !call.waiter && call.queued) {
      // Ahead of the caller: kept until asked for, never more than the sandbox was allowed.
      if (call.queued.length >= (call.ahead ?? 0)) {
        return this.#broken("sent more pages than it was asked for", call.hook);
      }
      call.queued.push(message);
      return;
    }
    const waiter = call?.waiter;
    if (!call || !waiter) return; // the call ended meanwhile (aborted, or its loop broken off)
    if (message.type === "error") {
      call.waiter = undefined;
      return waiter.reject(thrownError(this.pluginId, call.hook, message.error));
    }
    if ((call.hook === "fetch") === (message.type === "result")) {
      return this.#broken(`answered ${call.hook} with "${message.type}"`, call.hook);
    }
    call.waiter = undefined;
    waiter.resolve(message as Reply);
  }

  #operation(message: Record<string, unknown>): void {
    const op = message.op;
    if (!isIndex(op) || this.#ops.has(op)) return this.#broken("an operation without a new number");
    const call = isIndex(message.id) ? this.#calls.get(message.id) : undefined;
    if (!call || (call.hook !== "check" && call.hook !== "fetch")) {
      return this.#send({
        type: "fail",
        op,
        error: { name: "Error", message: "The call this request belongs to has ended" },
      });
    }
    if (message.type === "sleep") {
      if (typeof message.ms !== "number") return this.#broken("a sleep without ms", call.hook);
      return this.#ops.sleep(call, op, message.ms);
    }
    const request = requestOf(message);
    if (!request) return this.#broken("a malformed request", call.hook);
    this.#ops.fetch(call, { type: "fetch", ...request });
  }

  #log(message: Record<string, unknown>): void {
    const line = logLineOf(message);
    if (!line) return this.#broken("a malformed log line");
    const logger = (line.id !== undefined && this.#calls.get(line.id)?.logger) || this.#logger;
    logger[line.level](line.message, line.fields);
  }

  #end(ending: Ending): void {
    this.#ending = ending;
    clearInterval(this.#ticker);
    this.#ops.cancelAll();
    for (const call of this.#calls.values()) {
      if (call.onAbort) call.signal?.removeEventListener("abort", call.onAbort);
      call.waiter?.reject(stoppedError(this.pluginId, call.hook, ending));
      call.waiter = undefined;
    }
    this.#calls.clear();
    if (ending.kind !== "closed") {
      this.#logger.warn("Plugin sandbox stopped", {
        plugin: this.pluginId,
        hook: ending.hook,
        reason: ending.detail,
      });
    }
  }
}

function contextData(ctx: SandboxContext): ContextData {
  return {
    integrationId: ctx.integrationId,
    config: ctx.config as Json,
    checkpoint: (ctx.checkpoint ?? null) as Json,
    ...(ctx.preview ? { preview: true } : {}),
    ...(ctx.window
      ? { window: { from: ctx.window.from, to: ctx.window.to, logTypes: [...ctx.window.logTypes] } }
      : {}),
  };
}

function abortReason(reason: unknown): ErrorData {
  const e = reason as { name?: unknown; message?: unknown; code?: unknown } | undefined;
  return {
    name: typeof e?.name === "string" ? e.name : "AbortError",
    message: typeof e?.message === "string" ? e.message : "The call was aborted",
    ...(typeof e?.code === "string" ? { code: e.code } : {}),
  };
}

/** Starts a sandbox for one plugin; see `Sandbox.start`. */
export function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  return Sandbox.start(options);
}

/**
 * Loads a plugin in a throwaway sandbox to learn whether it imports and fits the contract (what
 * the registry needs at install time); returns its optional hooks.
 */
export async function probePlugin(options: SandboxOptions): Promise<{ check: boolean }> {
  const sandbox = await Sandbox.start(options);
  await sandbox.close();
  return sandbox.hooks;
}
