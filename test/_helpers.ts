/** Test helpers: a fake clock, a recording logger, a plugin context over the simulator. */
import * as v from "valibot";
import type { Clock, Logger, PluginContext } from "../host/types.ts";
import { type Config, configSchema } from "../plugin/config.ts";
import type { Checkpoint } from "../plugin/cursor.ts";
import { SIM_CLIENT, SIM_KEYS } from "../fixtures/simulator/mod.ts";

/** A clock whose sleeps advance time at once; `slept` lists every sleep. */
export class FakeClock implements Clock {
  slept: number[] = [];
  constructor(public ms: number) {}
  now = () => this.ms;
  sleep = (ms: number, signal?: AbortSignal) => {
    signal?.throwIfAborted();
    this.slept.push(ms);
    this.ms += ms;
    return Promise.resolve();
  };
  advance(ms: number) {
    this.ms += ms;
  }
}

/** A logger that keeps its lines. */
export function memoryLogger(): Logger & {
  lines: { level: string; message: string; fields?: unknown }[];
} {
  const lines: { level: string; message: string; fields?: unknown }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    void lines.push({ level, message, fields });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A validated config for API 2.0 or 1.0 against the simulator. */
export function simConfig(apiVersion: "2.0" | "1.0", extra: Record<string, unknown> = {}): Config {
  const input = apiVersion === "2.0"
    ? { apiVersion, baseUrl: "http://127.0.0.1", ...SIM_CLIENT, ...extra }
    : { apiVersion, baseUrl: "http://127.0.0.1", ...SIM_KEYS, ...extra };
  return v.parse(configSchema, input);
}

/** A plugin context for tests. */
export function pluginContext(
  options: {
    config: Config;
    fetch: typeof fetch;
    clock: Clock;
    checkpoint?: Checkpoint | null;
    signal?: AbortSignal;
  },
): PluginContext<Config, Checkpoint> {
  return {
    integrationId: "int-test",
    config: options.config,
    checkpoint: options.checkpoint ?? null,
    fetch: options.fetch,
    clock: options.clock,
    logger: memoryLogger(),
    signal: options.signal ?? new AbortController().signal,
  };
}

/** What a driven run leaves behind: the alerts and the checkpoint stored page by page. */
export interface DriveState {
  checkpoint: Checkpoint | null;
  alerts: import("../host/types.ts").Alert[];
  filtered: number;
  invalid: number;
  pages: number;
  /** Alert ids stored so far: like the host, a page's alert already stored is not kept again. */
  seen: Set<string>;
  /** Alerts a page brought again (the host's `duplicates` count). */
  duplicates: number;
}

/**
 * Drives the plugin the way the host does: page by page, normalizing and "storing" the alerts
 * (each alert id once) together with the page's checkpoint. Throws what the plugin throws, with
 * the state kept.
 */
export async function drive(
  state: DriveState,
  options: {
    config: Config;
    fetch: typeof fetch;
    clock: Clock;
    integrationId?: string;
    retry?: Record<string, number>;
    /** Stops after storing this many pages, as a crash right after a page is stored would. */
    crashAfterPages?: number;
  },
): Promise<DriveState> {
  const { plugin } = await import("../plugin/mod.ts");
  const ctx = {
    ...pluginContext({
      config: options.config,
      fetch: options.fetch,
      clock: options.clock,
      checkpoint: state.checkpoint,
    }),
    integrationId: options.integrationId ?? "int-test",
    retry: options.retry,
  };
  const normalizeCtx = {
    integrationId: ctx.integrationId,
    config: options.config,
    count: () => {},
  };
  let stored = 0;
  for await (const page of plugin.fetch(ctx)) {
    const alerts = [];
    for (const record of page.records) {
      try {
        const alert = plugin.normalize(record, normalizeCtx);
        if (!alert) state.filtered++;
        else if (state.seen.has(alert.id)) state.duplicates++;
        else {
          state.seen.add(alert.id);
          alerts.push(alert);
        }
      } catch {
        state.invalid++;
      }
    }
    state.alerts.push(...alerts);
    state.checkpoint = page.checkpoint;
    state.pages++;
    if (++stored === options.crashAfterPages) break;
  }
  return state;
}

/** A fresh drive state. */
export function newState(): DriveState {
  return {
    checkpoint: null,
    alerts: [],
    filtered: 0,
    invalid: 0,
    pages: 0,
    seen: new Set(),
    duplicates: 0,
  };
}
