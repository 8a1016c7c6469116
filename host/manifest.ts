/**
 * Reads a plugin manifest (SPEC §5.1): data only, checked as a whole so a bad manifest is refused
 * with every problem listed.
 * @module
 */
import * as v from "valibot";
import { HostError } from "./errors.ts";
import type { Issue } from "./types.ts";

/** The plugin contract version this host implements. */
export const HOST_API = "1";

const hostPattern = v.pipe(
  v.string(),
  v.regex(
    /^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$/,
    "Use a host name, optionally starting with *., e.g. *.mimecast.com",
  ),
);

const manifestSchema = v.object({
  id: v.pipe(
    v.string(),
    v.regex(/^[a-z][a-z0-9-]{1,40}$/, "id must be lower-case letters, digits and dashes"),
  ),
  name: v.pipe(v.string(), v.trim(), v.nonEmpty("name is required")),
  version: v.pipe(
    v.string(),
    v.regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, "version must be semver, e.g. 1.2.0"),
  ),
  hostApi: v.pipe(
    v.string(),
    v.check((x) => x === HOST_API, `hostApi must be "${HOST_API}" for this host`),
  ),
  description: v.optional(v.string(), ""),
  entry: v.pipe(
    v.string(),
    v.nonEmpty("entry is required"),
    v.check(
      (e) => !/^[a-z][a-z0-9+.-]*:/i.test(e) || /^(file|https):/.test(e),
      "entry must be a relative path, a file: URL or an https: URL",
    ),
  ),
  integrity: v.pipe(
    v.string(),
    v.regex(
      /^sha256-[A-Za-z0-9+/]{43}=$/,
      "integrity must be sha256- and the base64 SHA-256 of the entry",
    ),
  ),
  permissions: v.object({ net: v.array(hostPattern) }),
  schedule: v.optional(
    v.object({
      defaultIntervalSeconds: v.pipe(
        v.number(),
        v.integer(),
        v.minValue(60, "defaultIntervalSeconds must be at least 60"),
        v.maxValue(86_400, "defaultIntervalSeconds must be at most 86400"),
      ),
    }),
    { defaultIntervalSeconds: 300 },
  ),
  configSchema: v.looseObject({}, "configSchema must be a JSON Schema object"),
  /**
   * What a backfill may ask of the plugin's `fetch` (`ctx.window`, SPEC §5.3): the log types it
   * can read by span, how far back the service keeps them, and why the others cannot be
   * replayed. A plugin without it cannot be backfilled.
   */
  backfill: v.optional(v.object({
    logTypes: v.pipe(
      v.array(v.string()),
      v.minLength(1, "backfill.logTypes must name at least one log type"),
    ),
    retentionDays: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1, "backfill.retentionDays must be a whole number of days, at least 1"),
    ),
    notReplayable: v.optional(v.record(v.string(), v.string()), {}),
  })),
});

/** A checked manifest. */
export type Manifest = v.InferOutput<typeof manifestSchema>;

/** Checks parsed JSON as a manifest; throws MANIFEST_INVALID listing every issue. */
export function parseManifest(input: unknown, source = "manifest.json"): Manifest {
  const result = v.safeParse(manifestSchema, input);
  if (result.success) return result.output;
  const issues: Issue[] = result.issues.map((issue) => ({
    path: v.getDotPath(issue) ?? "",
    message: issue.message,
  }));
  throw new HostError(
    "MANIFEST_INVALID",
    `Cannot install ${source}: ${
      issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")
    }`,
    { issues },
  );
}

/** Reads manifest text; invalid JSON is a MANIFEST_INVALID too. */
export function parseManifestText(text: string, source = "manifest.json"): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new HostError(
      "MANIFEST_INVALID",
      `Cannot install ${source}: it is not JSON (${String(cause)})`,
      {
        issues: [{ path: "", message: "not JSON" }],
        cause,
      },
    );
  }
  return parseManifest(json, source);
}

/** `sha256-<base64>` of some bytes: the form of a manifest's `integrity`. */
export async function integrityOf(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return `sha256-${btoa(String.fromCharCode(...digest))}`;
}

/**
 * Names of the config fields marked `writeOnly`: the secrets. Given a config, only those of the
 * `oneOf`/`anyOf` branches its `const` values choose (such as the Mimecast `apiVersion`), or of
 * every branch when none fits; without one, of every branch.
 */
export function secretFields(
  schema: Record<string, unknown>,
  config?: Record<string, unknown>,
): Set<string> {
  type Node =
    & { properties?: Record<string, Record<string, unknown> | undefined> }
    & Record<
      string,
      unknown
    >;
  const found = new Set<string>();
  const fits = (branch: Node) =>
    Object.entries(branch?.properties ?? {}).every(([name, prop]) =>
      prop?.const === undefined || (config?.[name] ?? prop.default) === prop.const
    );
  const walk = (node: Node) => {
    if (!node || typeof node !== "object") return;
    for (const [name, prop] of Object.entries(node.properties ?? {})) {
      if (prop?.writeOnly === true) found.add(name);
    }
    for (const key of ["oneOf", "anyOf", "allOf"]) {
      if (!Array.isArray(node[key])) continue;
      const branches = node[key] as Node[];
      const chosen = config && key !== "allOf" ? branches.filter(fits) : branches;
      (chosen.length > 0 ? chosen : branches).forEach(walk);
    }
  };
  walk(schema);
  return found;
}

/** True when a host name is allowed by a `permissions.net` pattern list. */
export function hostAllowed(hostname: string, patterns: readonly string[]): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return patterns.some((p) =>
    p.startsWith("*.") ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : host === p
  );
}

/**
 * A config field's title in a config schema (the first branch that has the field gives it), or
 * its name in words ("clientId" → "Client id") when the schema has none.
 */
export function fieldTitle(schema: Record<string, unknown>, name: string): string {
  type Node = { properties?: Record<string, { title?: unknown }>; [key: string]: unknown };
  const find = (node: Node | undefined): string | undefined => {
    if (!node || typeof node !== "object") return undefined;
    const title = node.properties?.[name]?.title;
    if (typeof title === "string") return title;
    for (const key of ["oneOf", "anyOf", "allOf"]) {
      for (const branch of Array.isArray(node[key]) ? node[key] as Node[] : []) {
        const found = find(branch);
        if (found) return found;
      }
    }
    return undefined;
  };
  return find(schema as Node) ??
    name.replace(/([A-Z])/g, " $1").replace(/^./, (c) => c.toUpperCase());
}
