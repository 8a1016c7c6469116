/** Helpers for tests that run the host as a real process, and real HTTP peers on port 0. */
import { TextLineStream } from "./_lines.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A host process. */
export interface HostProcess {
  url: string;
  child: Deno.ChildProcess;
  logs: string[];
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait: no cleanup runs. */
  kill(): Promise<void>;
}

/** Starts `host/main.ts` with the given settings and waits until it listens. */
export async function spawnHost(env: Record<string, string>): Promise<HostProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "host/main.ts"],
    cwd: ROOT,
    env: { HOST_PORT: "0", HOST_ALLOW_LOOPBACK: "1", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logs: string[] = [];
  const keep = (line: string) => {
    logs.push(line);
    if (logs.length > 2000) logs.splice(0, logs.length - 2000);
  };
  const drain = async (stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) => {
    for await (
      const line of stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream())
    ) onLine(line);
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`host did not start:\n${logs.join("\n")}`)),
      30_000,
    );
    drain(child.stdout, (line) => {
      keep(line);
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    }).catch(() => {});
    drain(child.stderr, keep).catch(() => {});
    child.status.then((status) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${status.code}:\n${logs.join("\n")}`));
    });
  });
  return {
    url,
    child,
    logs,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    },
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

/** One webhook request a receiver got. */
export interface Delivered {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  alerts: { id: string; [k: string]: unknown }[];
}

/** A real HTTP webhook receiver on 127.0.0.1:0, optionally slow. */
export function serveReceiver(options: { delayMs?: number } = {}) {
  const received: Delivered[] = [];
  const controller = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen: () => {},
  }, async (request) => {
    const body = await request.text();
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    received.push({
      id: request.headers.get("webhook-id") ?? "",
      timestamp: request.headers.get("webhook-timestamp") ?? "",
      signature: request.headers.get("webhook-signature") ?? "",
      body,
      alerts: JSON.parse(body).alerts,
    });
    return new Response(null, { status: 204 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    received,
    async close() {
      controller.abort();
      await server.finished;
    },
  };
}

/** JSON over HTTP with the admin token. */
export function client(base: string, token: string) {
  return async (path: string, init: { method?: string; json?: unknown } = {}) => {
    const response = await fetch(`${base}${path}`, {
      method: init.method ?? "GET",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
}

/** Polls until `check` holds, or throws after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 20_000,
  what = "condition",
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
