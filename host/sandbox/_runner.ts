/**
 * The sandbox process's main module. It runs under `deno run` with no `--allow-*` flag (see
 * `_process.ts`), imports the plugin's bytes from a `data:` URL, and answers the host's calls over
 * stdin/stdout. Nothing here needs a permission: reading stdin, writing stdout and importing a
 * `data:` URL are what a permission-less Deno process may do.
 *
 * Arguments: the heartbeat interval (ms), the largest line it may send, the largest request body.
 * @module
 */
import { join } from "../bytes.ts";
import { Bridge } from "./_runner_bridge.ts";
import {
  encodeLine,
  type ErrorData,
  FrameReader,
  fromErrorData,
  type HostMessage,
  type SandboxMessage,
  toErrorData,
} from "./_protocol.ts";

/** The plugin export as the runner uses it; checked at import. */
interface PluginShape {
  configSchema: Record<string, unknown>;
  check?: (ctx: unknown) => Promise<unknown>;
  fetch: (ctx: unknown) => AsyncIterable<unknown>;
  normalize: (record: unknown, ctx: unknown) => unknown;
}

type Call = Extract<HostMessage, { type: "call" }>;
type Dataset = { value?: unknown; issues?: { message?: unknown; path?: unknown[] }[] };

const MIB = 1024 * 1024;
const beatMs = Number(Deno.args[0]) || 1000;
const maxLine = Number(Deno.args[1]) || 32 * MIB;
const maxRequestBytes = Number(Deno.args[2]) || 16 * MIB;

// Taken before any plugin code runs; a plugin that writes to stdout itself breaks the wire, and the
// host then stops it.
const stdout = Deno.stdout;
const decoder = new TextDecoder();
let pending: Uint8Array[] = [];
let writing = Promise.resolve();

/**
 * Queues a line; the lines of one turn go out together, in order, through the asynchronous
 * write (the stream writer's first write is synchronous and held the event loop while the host
 * drained the pipe).
 */
function write(line: Uint8Array): void {
  pending.push(line);
  if (pending.length > 1) return;
  queueMicrotask(() => {
    const lines = pending;
    pending = [];
    const bytes = lines.length === 1 ? lines[0] : join(lines);
    writing = writing.then(async () => {
      for (let at = 0; at < bytes.byteLength;) at += await stdout.write(bytes.subarray(at));
    }).catch(() => {});
  });
}

function send(message: SandboxMessage): void {
  try {
    write(encodeLine(message));
  } catch {
    // not JSON: only log fields could be, and those are made JSON first
  }
}

function fail(id: number, error: ErrorData): void {
  send({ type: "error", id, error: { ...error, message: error.message.slice(0, 8192) } });
}

/** Sends a result or a page, or the reason it cannot cross (not JSON, too large). */
function reply(
  id: number,
  type: "result" | "page",
  value: unknown,
  what: string,
  normalized?: unknown,
): void {
  let line: Uint8Array;
  try {
    line = encodeLine(
      type === "page" ? { type, id, page: value, normalized } : { type, id, value },
    );
  } catch (error) {
    return fail(id, {
      name: "TypeError",
      message: `${what} is not plain JSON (${toErrorData(error).message})`,
      output: true,
    });
  }
  if (line.byteLength > maxLine) {
    return fail(id, {
      name: "RangeError",
      message: `${what} is larger than the ${maxLine / MIB} MiB a message may hold`,
      output: true,
    });
  }
  write(line);
}

const bridge = new Bridge(send, { maxRequestBytes });
const moduleLogger = bridge.loggerFor();

// Plugin output on the console would corrupt the wire: it goes to the host's logger instead.
const levels = { log: "info", info: "info", debug: "debug", warn: "warn", error: "error" } as const;
for (const [method, level] of Object.entries(levels)) {
  (console as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
    moduleLogger[level](
      `console.${method}: ${
        args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" ").slice(0, 8192)
      }`,
    );
}
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  moduleLogger.warn("Plugin code left a rejected promise unhandled", {
    error: toErrorData(event.reason).message,
  });
});
globalThis.addEventListener("error", (event) => {
  event.preventDefault();
  moduleLogger.warn("Plugin code threw outside any hook", {
    error: toErrorData(event.error).message,
  });
});
setInterval(() => send({ type: "beat" }), beatMs);

let plugin: PluginShape | undefined;
let pluginId = "";
const calls = new Map<
  number,
  {
    controller: AbortController;
    pages?: AsyncIterator<unknown>;
    /** Normalize each page's records before sending it (the fetch call's `normalize`). */
    normalize?: { integrationId: string; config: unknown };
    /** Send back only the records that did not fit (the fetch call's `slim`). */
    slim?: boolean;
    /** Pages it may still send unasked (the fetch call's `ahead`, plus one per `next`). */
    credit: number;
    /** A page is being computed. */
    busy?: boolean;
    /** The plugin's next page, asked for before the current one is normalized and sent. */
    pending?: Promise<IteratorResult<unknown>>;
  }
>();

function hasValidate(schema: unknown): boolean {
  const s = schema as Record<string, { validate?: unknown } | undefined> | null;
  return typeof s === "object" && s !== null &&
    (typeof s["~standard"]?.validate === "function" || typeof s["~run"] === "function");
}

async function load(call: Extract<Call, { hook: "import" }>): Promise<void> {
  pluginId = call.pluginId;
  const module = await import(`data:text/javascript;base64,${call.source}`);
  const candidate = module.plugin as Partial<PluginShape> | undefined;
  const missing = [
    hasValidate(candidate?.configSchema) ? "" : "configSchema",
    typeof candidate?.fetch === "function" ? "" : "fetch()",
    typeof candidate?.normalize === "function" ? "" : "normalize()",
  ].filter(Boolean);
  if (!candidate || missing.length > 0) {
    throw new TypeError(
      `the module's \`plugin\` export lacks ${missing.join(", ") || "everything"}`,
    );
  }
  if (candidate.check !== undefined && typeof candidate.check !== "function") {
    throw new TypeError("the module's `plugin.check` is not a function");
  }
  plugin = candidate as PluginShape;
  reply(call.id, "result", { check: typeof plugin.check === "function" }, "the result");
}

/** A Standard Schema issue path as valibot's `getDotPath` writes it ("" when it has none). */
function dotPath(path: unknown[] | undefined): string {
  if (!Array.isArray(path)) return "";
  const keys = path.map((item) =>
    typeof item === "object" && item !== null ? (item as { key?: unknown }).key : item
  );
  return keys.every((k) => typeof k === "string" || typeof k === "number") ? keys.join(".") : "";
}

async function validateConfig(call: Extract<Call, { hook: "validateConfig" }>): Promise<void> {
  const schema = plugin!.configSchema as {
    "~standard"?: { validate?: (value: unknown) => Dataset | Promise<Dataset> };
    "~run"?: (dataset: { value: unknown }, config: unknown) => Dataset | Promise<Dataset>;
  };
  const dataset = schema["~standard"]?.validate
    ? await schema["~standard"].validate(call.config)
    : await schema["~run"]!({ value: call.config }, {});
  const value = dataset.issues
    ? {
      ok: false,
      issues: dataset.issues.map((i) => ({ path: dotPath(i.path), message: String(i.message) })),
    }
    : { ok: true, output: dataset.value };
  reply(call.id, "result", value, "the validated config");
}

function contextOf(call: Extract<Call, { hook: "check" | "fetch" }>, signal: AbortSignal) {
  return {
    ...call.ctx,
    signal,
    fetch: bridge.fetchFor(call.id),
    clock: { now: () => bridge.now(), sleep: bridge.sleepFor(call.id) },
    logger: bridge.loggerFor(call.id),
  };
}

/** Computes pages while the call has credit: one per `next`, and `ahead` more unasked. */
async function nextPage(id: number): Promise<void> {
  const call = calls.get(id);
  const pages = call?.pages;
  if (!call || !pages || call.busy) return;
  call.busy = true;
  try {
    while (call.credit > 0 && calls.get(id) === call) {
      call.credit--;
      if (!(await onePage(id, call, pages))) return;
    }
  } finally {
    call.busy = false;
  }
}

/** Sends the call's next page; false once it is done or failed. */
async function onePage(
  id: number,
  call: {
    normalize?: { integrationId: string; config: unknown };
    slim?: boolean;
    pending?: Promise<IteratorResult<unknown>>;
  },
  pages: AsyncIterator<unknown>,
): Promise<boolean> {
  try {
    const step = await (call.pending ?? pages.next());
    call.pending = undefined;
    if (!step.done && call.normalize) {
      // The plugin fetches the next page while this one is normalized and sent (as run.ts did
      // in-process): one page ahead at most.
      call.pending = pages.next();
      call.pending.catch(() => {}); // observed when awaited
    }
    if (step.done) {
      calls.delete(id);
      send({ type: "done", id });
      return false;
    }
    const page = step.value as { records?: unknown; checkpoint?: unknown } | null;
    if (
      typeof page !== "object" || page === null || !Array.isArray(page.records) ||
      page.checkpoint === undefined
    ) {
      calls.delete(id);
      fail(id, {
        name: "TypeError",
        message: "a page must be { records: [], checkpoint }",
        output: true,
      });
      return false;
    }
    const normalized = call.normalize && normalizeRecords(page.records, call.normalize);
    // Slim: an alert carries its record already and a filtered one is only counted, so only
    // the records that did not fit cross back whole (the others as null, keeping positions).
    const records = normalized && call.slim
      ? page.records.map((record, i) => {
        const result = normalized.results[i];
        return result !== null && typeof result === "object" && "invalid" in result ? record : null;
      })
      : page.records;
    reply(id, "page", { ...page, records }, "a page", normalized);
    return true;
  } catch (error) {
    calls.delete(id);
    fail(id, toErrorData(error));
    return false;
  }
}

/** One page's records through `normalize`, contained record by record as run.ts does. */
function normalizeRecords(
  records: unknown[],
  context: { integrationId: string; config: unknown },
): { results: unknown[]; counts: Record<string, number> } {
  const counts = new Map<string, number>();
  const ctx = {
    integrationId: context.integrationId,
    config: context.config,
    count: (name: string) => void counts.set(String(name), (counts.get(String(name)) ?? 0) + 1),
  };
  const results = records.map((record) => {
    try {
      const alert = plugin!.normalize(record, ctx) as { id?: unknown } | null | undefined;
      if (alert === null) return null;
      if (typeof alert === "object" && typeof alert.id === "string" && alert.id !== "") {
        return alert;
      }
      return {
        invalid: [{
          path: "",
          message: `[plugin ${pluginId}] normalize: returned an alert without an id`,
        }],
      };
    } catch (error) {
      const data = toErrorData(error);
      return {
        invalid: data.issues ?? [{
          path: "",
          message: `[plugin ${pluginId}] normalize: ${data.message}`,
        }],
      };
    }
  });
  return { results, counts: Object.fromEntries(counts) };
}

async function run(call: Call): Promise<void> {
  try {
    if (call.hook === "import") return await load(call);
    if (!plugin) throw new Error("the plugin is not loaded");
    switch (call.hook) {
      case "validateConfig":
        return await validateConfig(call);
      case "normalize":
        return reply(
          call.id,
          "result",
          normalizeRecords(call.records, call.ctx),
          "the normalized page",
        );
      case "check": {
        const controller = new AbortController();
        calls.set(call.id, { controller, credit: 0 });
        const results = await plugin.check!(contextOf(call, controller.signal));
        calls.delete(call.id);
        return reply(call.id, "result", results, "the check's results");
      }
      case "fetch": {
        const controller = new AbortController();
        calls.set(call.id, { controller, credit: 0 });
        const pages = plugin.fetch(contextOf(call, controller.signal))[Symbol.asyncIterator]();
        const normalize = call.normalize
          ? { integrationId: call.ctx.integrationId, config: call.ctx.config }
          : undefined;
        calls.set(call.id, {
          controller,
          pages,
          normalize,
          slim: call.slim === true,
          credit: 1 + (call.ahead ?? 0),
        });
        return await nextPage(call.id);
      }
    }
  } catch (error) {
    calls.delete(call.id);
    fail(call.id, toErrorData(error));
  }
}

/** The host's messages, each with its payload when it is a binary frame (a body's chunk). */
async function* messages(): AsyncGenerator<[HostMessage & { now: number }, Uint8Array?]> {
  const reader = new FrameReader((into) => Deno.stdin.read(into));
  for (;;) {
    const line = await reader.line(maxLine * 2);
    if (line === null) return;
    const message = JSON.parse(decoder.decode(line)) as HostMessage & { now: number };
    if (message.type !== "chunk") {
      yield [message];
      continue;
    }
    const payload = await reader.bytes(message.bytes);
    if (payload === null) return;
    yield [message, payload];
  }
}

for await (const [message, payload] of messages()) {
  if (bridge.handle(message, payload)) continue;
  switch (message.type) {
    case "call":
      void run(message);
      break;
    case "next": {
      const call = calls.get(message.id);
      if (call) call.credit++;
      void nextPage(message.id);
      break;
    }
    case "abort":
      calls.get(message.id)?.controller.abort(fromErrorData(message.reason));
      break;
    case "return": {
      const call = calls.get(message.id);
      calls.delete(message.id);
      call?.pages?.return?.().catch(() => {});
      break;
    }
  }
}
// The host closed our stdin: it is gone or done with us.
Deno.exit(0);
