/**
 * One sandbox process: `deno run` of `_runner.ts` with no `--allow-*` flag, no remote or npm
 * imports, a V8 heap cap, an empty environment and `/` as its folder; JSON lines both ways; its
 * memory watched; and how it ended, in words.
 * @module
 */
import { join } from "../bytes.ts";
import { encodeLine, type Hook, LineTooLongError, readLines } from "./_protocol.ts";

/** Why a sandbox process ended; `hook` is the call that caused it, when one did. */
export interface Ending {
  kind: "timeout" | "unresponsive" | "memory" | "crash" | "protocol" | "closed";
  /** What happened, e.g. `ran out of memory (heap limit 256 MiB)`. */
  detail: string;
  hook?: Hook;
}

/** What the process is started with. */
export interface ProcessLimits {
  heapMiB: number;
  memoryMiB: number;
  beatMs: number;
  maxMessageBytes: number;
  maxRequestBytes: number;
}

const MIB = 1024 * 1024;
const RUNNER = new URL("./_runner.ts", import.meta.url).href;
const STDERR_TAIL = 16 * 1024;
const WATCH_MS = 200;
const OUT_OF_MEMORY = /out of memory|heap limit|allocation failed/i;

/** The `deno` arguments of a sandbox: the permission system does the isolating. */
export function sandboxArgs(limits: ProcessLimits): string[] {
  return [
    "run",
    // No --allow-* flag: no files, environment, processes, sockets, FFI or system information;
    // and never a prompt for them.
    "--no-prompt",
    // Deno 2 lets any process import from jsr.io, deno.land, esm.sh and a few more hosts by
    // default: an import URL could carry secrets out. No remote module, no npm package, no
    // config or lock file that could change that.
    "--no-remote",
    "--no-npm",
    "--no-config",
    "--no-lock",
    "--quiet",
    `--v8-flags=--max-old-space-size=${limits.heapMiB}`,
    RUNNER,
    String(limits.beatMs),
    String(limits.maxMessageBytes),
    String(limits.maxRequestBytes),
  ];
}

/** Reads a process's resident memory in MiB (Linux); undefined where it cannot be read. */
async function residentMiB(pid: number): Promise<number | undefined> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return kb ? Number(kb[1]) / 1024 : undefined;
}

/** A running sandbox process and its wire. */
export class SandboxProcess {
  readonly pid: number;
  /** Resolves once the process has exited and its output is read. */
  readonly ended: Promise<Ending>;
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #killed?: Ending;
  /** Lines (and chunks' bytes) sent in this turn of the event loop, written together at its end. */
  #outbox: Uint8Array[] = [];
  #flushing = false;
  #stderr = "";
  #watch?: ReturnType<typeof setInterval>;

  constructor(
    limits: ProcessLimits,
    onMessage: (message: unknown) => void,
  ) {
    // The runtime's own cache (where the runner's compiled form is kept); the plugin cannot read
    // it, nor any variable: the process has no --allow-env.
    const cache = Deno.env.get("DENO_DIR");
    const denoDir = cache && !cache.startsWith("/") ? `${Deno.cwd()}/${cache}` : cache;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: sandboxArgs(limits),
      cwd: "/",
      clearEnv: true,
      env: { NO_COLOR: "1", ...(denoDir ? { DENO_DIR: denoDir } : {}) },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#writer = this.#child.stdin.getWriter();
    this.#writer.closed.catch(() => {});
    const reading = this.#read(limits.maxMessageBytes, onMessage);
    const errors = this.#readErrors();
    this.#watch = setInterval(() => this.#watchMemory(limits.memoryMiB), WATCH_MS);
    this.ended = this.#child.status.then(async (status) => {
      clearInterval(this.#watch);
      await Promise.all([reading, errors]);
      await this.#writer.close().catch(() => {});
      return this.#killed ?? this.#ending(status, limits.heapMiB);
    });
  }

  /**
   * Sends one message, followed by `payload`'s bytes as they are when given (a binary frame);
   * lost if the process has ended (its ending says why).
   */
  send(message: unknown, payload?: Uint8Array): void {
    if (this.#killed) return;
    this.#outbox.push(encodeLine(message));
    if (payload) this.#outbox.push(payload);
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => this.#flush());
    }
  }

  /**
   * Writes the lines of one turn in one write: a response, its body and its end reach the
   * sandbox together, waking it once (each wake-up of another process costs about 0.15 ms).
   */
  #flush(): void {
    const lines = this.#outbox;
    this.#outbox = [];
    this.#flushing = false;
    if (this.#killed || lines.length === 0) return;
    this.#writer.write(lines.length === 1 ? lines[0] : join(lines)).catch(() => {});
  }

  /** Stops the process now, for `why`; the first reason given is the one kept. */
  kill(why: Ending): void {
    if (this.#killed) return;
    this.#killed = why;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }

  /** The last lines the process wrote to stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  async #read(maxBytes: number, onMessage: (message: unknown) => void): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const line of readLines(this.#child.stdout, maxBytes)) {
        let message: unknown;
        try {
          message = JSON.parse(decoder.decode(line));
        } catch {
          this.kill({
            kind: "protocol",
            detail: "broke the sandbox protocol (wrote a line that is not JSON)",
          });
          continue;
        }
        if (!this.#killed) onMessage(message);
      }
    } catch (error) {
      this.kill({
        kind: "protocol",
        detail: error instanceof LineTooLongError
          ? `sent a message larger than ${maxBytes / MIB} MiB`
          : `broke the sandbox protocol (${String(error)})`,
      });
      await this.#child.stdout.cancel().catch(() => {});
    }
  }

  async #readErrors(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      this.#stderr = (this.#stderr + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL);
    }
  }

  async #watchMemory(limitMiB: number): Promise<void> {
    try {
      const used = await residentMiB(this.pid);
      if (used !== undefined && used > limitMiB) {
        this.kill({
          kind: "memory",
          detail: `ran out of memory (it used more than ${limitMiB} MiB)`,
        });
      }
    } catch {
      clearInterval(this.#watch); // exited, or no /proc here: the heap cap still holds
    }
  }

  #ending(status: Deno.CommandStatus, heapMiB: number): Ending {
    if (OUT_OF_MEMORY.test(this.#stderr)) {
      return { kind: "memory", detail: `ran out of memory (heap limit ${heapMiB} MiB)` };
    }
    const lines = this.#stderr.split("\n").map((l) => l.trim()).filter(Boolean);
    const said = lines.find((l) => l.startsWith("error:")) ?? lines.at(-1);
    const how = `exit code ${status.code}${status.signal ? `, ${status.signal}` : ""}`;
    const what = status.code === 0 ? "exited unexpectedly" : "crashed";
    return { kind: "crash", detail: `${what} (${how})${said ? `: ${said.slice(0, 300)}` : ""}` };
  }
}
