/**
 * The installed plugins: the plugins folder, watched. Dropping a manifest in (alone when its
 * entry is a URL, or in a folder beside its bundle) installs the plugin within seconds; removing
 * it uninstalls it. The entry's bytes are checked against `integrity` before they are imported,
 * and exactly those bytes are imported. A bad manifest is refused with every problem listed and
 * the rest keeps running. An entry fetched over https loads in the background, within a time and
 * a size limit (`plugin_source.ts`), so it never holds up a scan or the host's start; until it
 * arrives its manifest is listed among the refused, marked `loading`.
 * @module
 */
import { HostError } from "./errors.ts";
import { integrityOf, type Manifest } from "./manifest.ts";
import { entryFetch, type NetworkOptions } from "./net.ts";
import {
  DEFAULT_LIMITS,
  entryUrl,
  findManifests,
  readEntry,
  readManifestFile,
  type SourceLimits,
} from "./plugin_source.ts";
import { probePlugin, type Sandbox, type SandboxLimits, startSandbox } from "./sandbox/mod.ts";
import type { Clock, Logger } from "./types.ts";

/**
 * An installed plugin: its manifest, the entry's verified bytes (imported only inside sandboxes),
 * which optional hooks it has, and where it came from.
 */
export interface InstalledPlugin {
  manifest: Manifest;
  bytes: Uint8Array;
  hooks: { check: boolean };
  source: string;
}

/** What a sandbox for one integration's call gets from the host. */
export interface SandboxCapabilities {
  /** Performs `ctx.fetch`: the host's fetch limited to the manifest's hosts; none when omitted. */
  fetch?: typeof fetch;
  clock?: Clock;
  logger?: Logger;
}

/** A manifest the registry refused, with the reasons; or one whose https entry is loading. */
export interface RefusedManifest {
  source: string;
  error: HostError;
  /** True while its entry is being fetched: not refused yet, not installed yet. */
  loading?: boolean;
}

/**
 * How long loading a plugin may take: the Mimecast bundle imports in about 0.1 s, so an import
 * that has not finished in 10 s, or blocks its event loop for 5 s, is not going to.
 */
const PROBE_LIMITS: Partial<SandboxLimits> = { loadTimeoutMs: 10_000, unresponsiveMs: 5_000 };

/**
 * Checks the entry's bytes against `integrity`, then loads exactly those bytes in a throwaway
 * sandbox: the module's import-time code runs with no authority, and its export is checked
 * against the contract there.
 */
async function loadPlugin(
  manifest: Manifest,
  entry: URL,
  bytes: Uint8Array,
  manifestPath: string,
  sandbox: { limits?: Partial<SandboxLimits>; logger: Logger },
): Promise<InstalledPlugin> {
  const actual = await integrityOf(bytes);
  if (actual !== manifest.integrity) {
    throw new HostError(
      "PLUGIN_LOAD_FAILED",
      `[plugin ${manifest.id}] Cannot load ${entry}: integrity is ${actual}, the manifest says ${manifest.integrity}`,
      {
        hint: "Rebuild the plugin (deno task build) or fix the manifest's integrity.",
        issues: [{ path: "integrity", message: "does not match the entry" }],
      },
    );
  }
  const hooks = await probePlugin({
    pluginId: manifest.id,
    source: bytes,
    limits: { ...PROBE_LIMITS, ...sandbox.limits },
    logger: sandbox.logger,
  });
  return { manifest, bytes, hooks, source: manifestPath };
}

/** The plugins folder, scanned on an interval. */
export class Registry {
  readonly dir: string;
  #installed = new Map<string, InstalledPlugin>(); // by plugin id
  #seen = new Map<string, string>(); // manifest path → stamp
  #bySource = new Map<string, string>(); // manifest path → plugin id
  #refused = new Map<string, RefusedManifest>();
  #loads = new Map<string, AbortController>(); // manifest path → its https entry loading
  #background = new Set<Promise<void>>();
  #logger: Logger;
  #fetch: typeof fetch;
  #limits: SourceLimits;
  #sandboxLimits?: Partial<SandboxLimits>;
  #timer?: ReturnType<typeof setInterval>;
  #scanning?: Promise<void>;

  constructor(
    deps: {
      dir: string;
      logger: Logger;
      /** The network for https entries (tests pass a fake); the §5.6 address rules apply. */
      fetch?: typeof fetch;
      /** HOST_ALLOW_LOOPBACK: may https entries come from loopback addresses? */
      allowLoopback?: boolean;
      /** A stub resolver and extra CA certificates, for tests. */
      network?: NetworkOptions;
      limits?: Partial<SourceLimits>;
      /** The limits of every plugin sandbox (tests shorten them). */
      sandboxLimits?: Partial<SandboxLimits>;
    },
  ) {
    this.dir = deps.dir.replace(/\/$/, "");
    this.#logger = deps.logger;
    this.#fetch = entryFetch(deps.allowLoopback ?? false, deps.fetch ?? fetch, deps.network);
    this.#limits = { ...DEFAULT_LIMITS, ...deps.limits };
    this.#sandboxLimits = deps.sandboxLimits;
  }

  /**
   * Starts a sandbox with the plugin loaded, for one integration's call (a run, a check, a
   * preview, a config validation); the caller closes it (`await using`).
   */
  sandbox(installed: InstalledPlugin, capabilities: SandboxCapabilities = {}): Promise<Sandbox> {
    return startSandbox({
      pluginId: installed.manifest.id,
      source: installed.bytes,
      fetch: capabilities.fetch,
      clock: capabilities.clock,
      logger: capabilities.logger ?? this.#logger,
      limits: this.#sandboxLimits,
    });
  }

  /** An installed plugin by id. */
  get(id: string): InstalledPlugin | undefined {
    return this.#installed.get(id);
  }

  /**
   * An installed plugin by id, or PLUGIN_NOT_FOUND saying what cannot be done (`doing`, e.g.
   * "run") and how to resume.
   */
  require(id: string, doing: string): InstalledPlugin {
    const installed = this.#installed.get(id);
    if (installed) return installed;
    throw new HostError("PLUGIN_NOT_FOUND", `Cannot ${doing}: plugin "${id}" is not installed`, {
      hint:
        "Drop the plugin's manifest into the plugins folder; the integration resumes where it stopped.",
    });
  }

  /** All installed plugins. */
  list(): InstalledPlugin[] {
    return [...this.#installed.values()].sort((a, b) => a.manifest.id.localeCompare(b.manifest.id));
  }

  /** Manifests refused at the last scan, with every problem, and those still `loading`. */
  refused(): RefusedManifest[] {
    return [...this.#refused.values()];
  }

  /** Scans now: installs new and changed manifests, uninstalls removed ones. */
  scan(): Promise<void> {
    this.#scanning ??= this.#scan().finally(() => (this.#scanning = undefined));
    return this.#scanning;
  }

  async #scan(): Promise<void> {
    const current = await findManifests(this.dir);
    for (const [path] of this.#seen) {
      if (current.has(path)) continue;
      // Forget it entirely: moved back later (mv, cp -a: same times), it installs again.
      this.#seen.delete(path);
      this.#remove(path);
    }
    // Loaded side by side: a plugin whose import hangs holds up no other (each load is a
    // sandbox of its own, stopped within PROBE_LIMITS).
    const loads: Promise<void>[] = [];
    for (const [path, stamp] of current) {
      if (this.#seen.get(path) === stamp) continue;
      this.#seen.set(path, stamp);
      this.#remove(path);
      loads.push(this.#load(path));
    }
    await Promise.all(loads);
  }

  /**
   * Loads one manifest. A file entry loads now; an https entry loads in the background (marked
   * `loading` meanwhile) so that the scan, and the host's start, go on without it.
   */
  async #load(path: string): Promise<void> {
    let manifest: Manifest;
    try {
      manifest = await readManifestFile(path, this.#limits.manifestBytes);
    } catch (error) {
      return this.#refuse(path, error);
    }
    const entry = entryUrl(manifest, path);
    if (entry.protocol === "file:") return await this.#install(path, manifest, entry);
    const loading = new AbortController();
    this.#loads.set(path, loading);
    const seconds = this.#limits.entryTimeoutMs / 1000;
    this.#refused.set(path, {
      source: path,
      loading: true,
      error: new HostError(
        "PLUGIN_LOAD_FAILED",
        `Cannot install ${path} yet: its entry ${entry} is loading (${seconds} s at most)`,
      ),
    });
    const task = this.#install(path, manifest, entry, loading.signal).finally(() => {
      if (this.#loads.get(path) === loading) this.#loads.delete(path);
      this.#background.delete(task);
    });
    this.#background.add(task);
  }

  /** Reads the entry, verifies and imports it, installs the plugin; or refuses the manifest. */
  async #install(path: string, manifest: Manifest, entry: URL, signal?: AbortSignal) {
    try {
      const bytes = await readEntry(manifest, entry, {
        fetch: this.#fetch,
        limits: this.#limits,
        signal,
      });
      const loaded = await loadPlugin(manifest, entry, bytes, path, {
        limits: this.#sandboxLimits,
        logger: this.#logger,
      });
      if (signal?.aborted) return; // the manifest changed or went away meanwhile, or we stopped
      const other = this.#installed.get(loaded.manifest.id);
      if (other && other.source !== path) {
        throw new HostError(
          "MANIFEST_INVALID",
          `Cannot install ${path}: plugin id "${loaded.manifest.id}" is already installed from ${other.source}`,
          {
            issues: [{ path: "id", message: "already installed" }],
          },
        );
      }
      this.#refused.delete(path);
      this.#installed.set(loaded.manifest.id, loaded);
      this.#bySource.set(path, loaded.manifest.id);
      this.#logger.info("Plugin installed", {
        id: loaded.manifest.id,
        version: loaded.manifest.version,
        source: path,
      });
    } catch (error) {
      if (!signal?.aborted) this.#refuse(path, error);
    }
  }

  #refuse(path: string, error: unknown): void {
    const hostError = error instanceof HostError
      ? error
      : new HostError("PLUGIN_LOAD_FAILED", `Cannot install ${path}: ${String(error)}`, {
        cause: error,
      });
    this.#refused.set(path, { source: path, error: hostError });
    this.#logger.error("Plugin manifest refused", {
      source: path,
      error: hostError.message,
      issues: hostError.issues,
    });
  }

  #remove(path: string): void {
    this.#refused.delete(path);
    this.#loads.get(path)?.abort();
    this.#loads.delete(path);
    const id = this.#bySource.get(path);
    if (id === undefined) return;
    this.#bySource.delete(path);
    this.#installed.delete(id);
    this.#logger.info("Plugin uninstalled; its integrations are kept and paused", {
      id,
      source: path,
    });
  }

  /** Scans every `intervalMs` until `stop()`. */
  start(intervalMs = 1000): Promise<void> {
    this.#timer = setInterval(() => {
      this.scan().catch((error) =>
        this.#logger.error("Plugin scan failed", { error: String(error) })
      );
    }, intervalMs);
    return this.scan();
  }

  /** Stops scanning and abandons the entries still loading; resolves when they have let go. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const loading of this.#loads.values()) loading.abort();
    await Promise.allSettled([...this.#background]);
  }
}
