/** Helpers for the sandbox tests: fixture plugins' bytes, a listener that counts, a lag meter. */
import { deepStrictEqual, match, ok } from "node:assert/strict";
import type { SandboxLimits } from "../../../host/sandbox/mod.ts";
import { build } from "../../../build.ts";

const HOSTILE = new URL("../../../fixtures/plugins/hostile/", import.meta.url);

/** A hostile fixture's bytes, with placeholders in its text replaced. */
export async function fixture(
  name: string,
  replace: Record<string, string> = {},
): Promise<Uint8Array> {
  let text = await Deno.readTextFile(new URL(name, HOSTILE));
  for (const [from, to] of Object.entries(replace)) text = text.replaceAll(from, to);
  return new TextEncoder().encode(text);
}

let bundle: Promise<Uint8Array> | undefined;

/** The real Mimecast bundle, as `build.ts` emits it (built once per test process). */
export function mimecastBundle(): Promise<Uint8Array> {
  bundle ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "sandbox-built-" });
    try {
      await build({ outDir: new URL(`file://${dir}/`) });
      return await Deno.readFile(`${dir}/plugin.js`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return bundle;
}

/** Limits small enough for tests to see every breach within seconds. */
export const QUICK: Partial<SandboxLimits> = {
  heapMiB: 64,
  memoryMiB: 256,
  callTimeoutMs: 1500,
  loadTimeoutMs: 4000,
  unresponsiveMs: 1000,
};

/** A TCP listener on 127.0.0.1 that counts every connection made to it (and answers none). */
export class Listener {
  readonly port: number;
  connections = 0;
  #listener: Deno.Listener;
  #loop: Promise<void>;

  constructor() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#loop = (async () => {
      for await (const conn of listener) {
        this.connections++;
        conn.close();
      }
    })().catch(() => {});
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#loop;
  }
}

/** Measures the test process's worst event-loop stall (ms) until `stop()`. */
export function lagMeter(): { stop(): number } {
  const every = 20;
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - every);
    last = now;
  }, every);
  return {
    stop() {
      clearInterval(timer);
      return Math.round(worst);
    },
  };
}

/** What the snoop fixture reports of one forbidden act. */
export interface Outcome {
  where: string;
  name: string;
  ok: boolean;
  value?: string;
  error?: string;
}

/**
 * Every act refused by the runtime's permission system, in every hook, and at least `min` of
 * them: the snoop's report as a test reads it.
 */
export function assertAllRefused(outcomes: Outcome[], min: number): void {
  deepStrictEqual(
    new Set(outcomes.map((o) => o.where)),
    new Set(["import", "validateConfig", "check", "fetch", "normalize"]),
  );
  ok(outcomes.length >= min, `${outcomes.length} attempts`);
  for (const o of outcomes) {
    ok(!o.ok, `${o.where}: "${o.name}" was allowed (${o.value})`);
    match(
      o.error ?? "",
      /NotCapable|Requires (read|write|net|env|run|import) access|--no-remote|--no-npm|permission denied/,
      `${o.where}: "${o.name}" failed for another reason: ${o.error}`,
    );
  }
}
