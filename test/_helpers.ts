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
export function memoryLogger(): Logger & { lines: { level: string; message: string; fields?: unknown }[] } {
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
    clock: FakeClock;
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
