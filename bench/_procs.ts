/**
 * Process helpers for bench/hosts.ts: spawning a server process and waiting for its address, the
 * CPU and memory of a process tree from Linux /proc (a host and its plugin sandboxes), and a
 * webhook sink that counts alerts per integration.
 * @module
 */
import { Buffer } from "node:buffer";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const ROOT = new URL("../", import.meta.url);

/** A spawned server process and the URL it printed. */
export interface Listening {
  child: Deno.ChildProcess;
  url: string;
  /** SIGKILL and wait (nothing of a benchmark's process is worth a graceful stop). */
  kill(): Promise<void>;
}

/** Spawns `deno <args>` and waits (at most 60 s) for its `listening on <url>` line. */
export async function spawnListening(
  args: string[],
  env: Record<string, string> = {},
): Promise<Listening> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT.pathname,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const kill = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  };
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => kill(), 60_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`process exited before listening: ${text.slice(-2000)}`);
      text += value;
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match) {
        (async () => {
          while (!(await reader.read()).done) { /* drain, or the host blocks on a full pipe */ }
        })().catch(() => {});
        return { child, url: match[1], kill };
      }
    }
  } catch (error) {
    await kill();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** CPU seconds of a process and of its children it has reaped (user + system, /proc ticks). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return (utime + stime + cutime + cstime) / 100;
}

/** CPU seconds of a process itself, and of its children it has reaped (its plugin sandboxes). */
export async function cpuSplit(pid: number): Promise<{ own: number; children: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return { own: (utime + stime) / 100, children: (cutime + cstime) / 100 };
}

/** A process and its descendants (its plugin sandboxes), from /proc/<pid>/task/<pid>/children. */
async function tree(pid: number): Promise<number[]> {
  const pids = [pid];
  for (let i = 0; i < pids.length && i < 1000; i++) {
    const text = await Deno.readTextFile(`/proc/${pids[i]}/task/${pids[i]}/children`)
      .catch(() => "");
    for (const child of text.trim().split(/\s+/)) if (child) pids.push(Number(child));
  }
  return pids;
}

/** Resident memory of a process tree now, in MiB, and how many processes it holds. */
export async function treeRss(pid: number): Promise<{ mib: number; processes: number }> {
  let kb = 0;
  const pids = await tree(pid);
  for (const p of pids) {
    const status = await Deno.readTextFile(`/proc/${p}/status`).catch(() => "");
    kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return { mib: kb / 1024, processes: pids.length };
}

/** Samples a process tree's RSS every 200 ms until stopped: the peak and the most processes. */
export function sampleTree(pid: number) {
  const peak = { mib: 0, processes: 0 };
  let running = true;
  const done = (async () => {
    while (running) {
      const now = await treeRss(pid).catch(() => ({ mib: 0, processes: 0 }));
      peak.mib = Math.max(peak.mib, now.mib);
      peak.processes = Math.max(peak.processes, now.processes);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    peak,
    async stop() {
      running = false;
      await done;
      return peak;
    },
  };
}

/**
 * The webhook sink: counts the alerts each integration's batches carry (unique alert ids), and
 * keeps connections alive as real receivers do (`node:http`, see bench/e2e.ts for why).
 */
export async function sink() {
  const alerts = new Map<string, Set<string>>();
  let requests = 0;
  const server = createServer((request, response) => {
    const chunks: Uint8Array[] = [];
    request.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    request.on("end", () => {
      requests++;
      const body = JSON.parse(new TextDecoder().decode(Buffer.concat(chunks)));
      const seen = alerts.get(body.integrationId) ?? new Set<string>();
      alerts.set(body.integrationId, seen);
      for (const alert of body.alerts ?? []) seen.add(alert.id);
      response.statusCode = 204;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    alerts,
    get requests() {
      return requests;
    },
    reset() {
      alerts.clear();
      requests = 0;
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
