/**
 * The installed plugins: the plugins folder, watched. Dropping a manifest in (alone when its
 * entry is a URL, or in a folder beside its bundle) installs the plugin within seconds; removing
 * it uninstalls it. The entry's bytes are checked against `integrity` before they are imported,
 * and exactly those bytes are imported. A bad manifest is refused with every problem listed and
 * the rest keeps running.
 * @module
 */
import { HostError } from "./errors.ts";
import { integrityOf, type Manifest, parseManifestText } from "./manifest.ts";
import type { Logger, Plugin } from "./types.ts";

/** An installed plugin: its manifest, its module's plugin object, and where it came from. */
export interface InstalledPlugin {
  manifest: Manifest;
  plugin: Plugin;
  source: string;
}

/** A manifest the registry refused, with the reasons. */
export interface RefusedManifest {
  source: string;
  error: HostError;
}

function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return btoa(bin);
}

/** Checks that a module's `plugin` export has the contract's shape. */
function pluginOf(module: Record<string, unknown>, id: string): Plugin {
  const plugin = module.plugin as Partial<Plugin> | undefined;
  const missing = [
    typeof plugin?.configSchema === "object" ? "" : "configSchema",
    typeof plugin?.fetch === "function" ? "" : "fetch()",
    typeof plugin?.normalize === "function" ? "" : "normalize()",
  ].filter(Boolean);
  if (!plugin || missing.length > 0) {
    throw new HostError(
      "PLUGIN_LOAD_FAILED",
      `[plugin ${id}] Cannot load: the module's \`plugin\` export lacks ${
        missing.join(", ") || "everything"
      }`,
    );
  }
  return plugin as Plugin;
}

/** Loads one manifest file: parse, fetch the entry, verify integrity, import. */
export async function loadPlugin(
  manifestPath: string,
  fetchFn: typeof fetch = fetch,
): Promise<InstalledPlugin> {
  const manifest = parseManifestText(await Deno.readTextFile(manifestPath), manifestPath);
  const base = new URL(
    `file://${manifestPath.startsWith("/") ? "" : `${Deno.cwd()}/`}${manifestPath}`,
  );
  const entry = new URL(manifest.entry, base);
  let bytes: Uint8Array;
  try {
    if (entry.protocol === "file:") bytes = await Deno.readFile(entry);
    else {
      const response = await fetchFn(entry, { redirect: "error" });
      if (!response.ok) throw new Error(`${entry} answered ${response.status}`);
      bytes = new Uint8Array(await response.arrayBuffer());
    }
  } catch (cause) {
    throw new HostError(
      "PLUGIN_LOAD_FAILED",
      `[plugin ${manifest.id}] Cannot read entry ${entry}: ${String(cause)}`,
      { cause },
    );
  }
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
  let module: Record<string, unknown>;
  try {
    module = await import(`data:text/javascript;base64,${toBase64(bytes)}`);
  } catch (cause) {
    throw new HostError(
      "PLUGIN_LOAD_FAILED",
      `[plugin ${manifest.id}] Cannot import ${entry}: ${String(cause)}`,
      { cause },
    );
  }
  return { manifest, plugin: pluginOf(module, manifest.id), source: manifestPath };
}

/** Finds manifest files: `*.json` at the top of the folder, and `*\/manifest.json` one level down. */
async function findManifests(dir: string): Promise<Map<string, string>> {
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

/** The plugins folder, scanned on an interval. */
export class Registry {
  readonly dir: string;
  #installed = new Map<string, InstalledPlugin>(); // by plugin id
  #seen = new Map<string, string>(); // manifest path → stamp
  #bySource = new Map<string, string>(); // manifest path → plugin id
  #refused = new Map<string, RefusedManifest>();
  #logger: Logger;
  #fetch: typeof fetch;
  #timer?: ReturnType<typeof setInterval>;
  #scanning?: Promise<void>;

  constructor(deps: { dir: string; logger: Logger; fetch?: typeof fetch }) {
    this.dir = deps.dir.replace(/\/$/, "");
    this.#logger = deps.logger;
    this.#fetch = deps.fetch ?? fetch;
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

  /** Manifests refused at the last scan, with every problem. */
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
    for (const [path, stamp] of current) {
      if (this.#seen.get(path) === stamp) continue;
      this.#seen.set(path, stamp);
      this.#remove(path);
      try {
        const loaded = await loadPlugin(path, this.#fetch);
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
        this.#installed.set(loaded.manifest.id, loaded);
        this.#bySource.set(path, loaded.manifest.id);
        this.#logger.info("Plugin installed", {
          id: loaded.manifest.id,
          version: loaded.manifest.version,
          source: path,
        });
      } catch (error) {
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
    }
  }

  #remove(path: string): void {
    this.#refused.delete(path);
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

  stop(): void {
    clearInterval(this.#timer);
  }
}
