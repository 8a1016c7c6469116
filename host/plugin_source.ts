/**
 * Reading what the plugins folder holds, within limits: its manifest files (1 MiB at most, refused
 * from their size before they are read), and the entry each points at, from a file or over https (20 MiB
 * and 10 s at most, through the host's address rules). The built bundle is about 170 KB and its
 * manifest about 13 KB, so the limits only stop what is not a plugin.
 * @module
 */
import { join } from "./bytes.ts";
import { HostError } from "./errors.ts";
import { type Manifest, parseManifestText } from "./manifest.ts";

/** How much a manifest and an entry may weigh, and how long an https entry may take. */
export interface SourceLimits {
  manifestBytes: number;
  entryBytes: number;
  entryTimeoutMs: number;
}

/** 1 MiB per manifest, 20 MiB per entry, 10 s per https entry. */
export const DEFAULT_LIMITS: SourceLimits = {
  manifestBytes: 1024 * 1024,
  entryBytes: 20 * 1024 * 1024,
  entryTimeoutMs: 10_000,
};

/** `1 MiB`, `20 MiB`, `512 KiB`, `300 bytes`. */
function size(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return bytes >= 1024 ? `${+(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`;
}

/** Reads a stream whole unless it passes `max` bytes; then cancels it and returns undefined. */
async function readAtMost(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return join(chunks, total);
}

/** Finds manifest files: `*.json` at the top of the folder, and `*\/manifest.json` one level down. */
export async function findManifests(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>(); // path → change stamp
  const stamp = async (path: string) => {
    const info = await Deno.stat(path);
    return `${info.ino}:${info.mtime?.getTime()}:${info.size}`;
  };
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isFile && entry.name.endsWith(".json")) found.set(path, await stamp(path));
      if (entry.isDirectory) {
        const inner = `${path}/manifest.json`;
        try {
          const entryStamp = await stamp(`${path}`);
          found.set(inner, `${await stamp(inner)}:${entryStamp}`);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found;
}

/** Reads and checks a manifest file; one larger than the limit is refused before it is read. */
export async function readManifestFile(
  path: string,
  maxBytes = DEFAULT_LIMITS.manifestBytes,
): Promise<Manifest> {
  const tooLarge = (what: string) =>
    new HostError(
      "MANIFEST_INVALID",
      `Cannot install ${path}: the manifest is ${what}; a manifest may be ${
        size(maxBytes)
      } at most`,
      { issues: [{ path: "", message: `larger than ${size(maxBytes)}` }] },
    );
  const file = await Deno.open(path);
  const info = await file.stat();
  if (!info.isFile || info.size > maxBytes) {
    file.close();
    if (!info.isFile) {
      throw new HostError("MANIFEST_INVALID", `Cannot install ${path}: it is not a regular file`, {
        issues: [{ path: "", message: "not a regular file" }],
      });
    }
    throw tooLarge(size(info.size));
  }
  const bytes = await readAtMost(file.readable, maxBytes); // it may have grown since the stat
  if (!bytes) throw tooLarge(`larger than ${size(maxBytes)}`);
  return parseManifestText(new TextDecoder().decode(bytes), path);
}

/** Where a manifest's entry is: relative to the manifest, or its own URL. */
export function entryUrl(manifest: Manifest, manifestPath: string): URL {
  const base = new URL(
    `file://${manifestPath.startsWith("/") ? "" : `${Deno.cwd()}/`}${manifestPath}`,
  );
  return new URL(manifest.entry, base);
}

/**
 * The bytes of a manifest's entry: a file, or an https URL fetched with `fetchFn` (which applies
 * the host's address rules) within the time and size limits. Redirects are not followed.
 */
export async function readEntry(
  manifest: Manifest,
  entry: URL,
  options: { fetch: typeof fetch; limits?: SourceLimits; signal?: AbortSignal },
): Promise<Uint8Array> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const fail = (reason: string, extra: { cause?: unknown; code?: "NET_DENIED" } = {}) =>
    new HostError(
      extra.code ?? "PLUGIN_LOAD_FAILED",
      `[plugin ${manifest.id}] Cannot read entry ${entry}: ${reason}`,
      { cause: extra.cause },
    );
  const tooLarge = (what: string) =>
    fail(`it is ${what}; an entry may be ${size(limits.entryBytes)} at most`);
  if (entry.protocol === "file:") {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(entry);
    } catch (cause) {
      throw fail(String(cause), { cause });
    }
    const { size: bytes } = await file.stat();
    if (bytes > limits.entryBytes) {
      file.close();
      throw tooLarge(size(bytes));
    }
    const read = await readAtMost(file.readable, limits.entryBytes);
    if (!read) throw tooLarge(`larger than ${size(limits.entryBytes)}`);
    return read;
  }
  const timeout = AbortSignal.timeout(limits.entryTimeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const failed = (cause: unknown) => {
    if (options.signal?.aborted) return options.signal.reason;
    if (timeout.aborted) {
      return fail(`no complete answer within ${limits.entryTimeoutMs / 1000} s`, { cause });
    }
    const denied = cause instanceof HostError && cause.code === "NET_DENIED";
    const reason = cause instanceof Error ? cause.message : String(cause);
    return fail(reason, { cause, code: denied ? "NET_DENIED" : undefined });
  };
  let response: Response;
  try {
    response = await options.fetch(entry, { signal, redirect: "manual" });
  } catch (cause) {
    throw failed(cause);
  }
  if (!response.ok) {
    await response.body?.cancel();
    const redirect = response.status >= 300 && response.status < 400;
    throw fail(`it answered ${response.status}${redirect ? " (redirects are not followed)" : ""}`);
  }
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (length > limits.entryBytes) {
    await response.body?.cancel();
    throw tooLarge(size(length));
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readAtMost(response.body ?? new Blob().stream(), limits.entryBytes);
  } catch (cause) {
    throw failed(cause);
  }
  if (!bytes) throw tooLarge(`larger than ${size(limits.entryBytes)}`);
  return bytes;
}
