/**
 * Builds the drop-in plugin folder `dist/mimecast/`: the plugin bundled with esbuild, and its
 * manifest with the bundle's integrity and the config schema generated from the valibot schema.
 * `deno task build`; `deno task start` runs it when no Mimecast manifest is installed yet.
 * @module
 */
import * as esbuild from "esbuild";
import { toJsonSchema } from "@valibot/to-json-schema";
import { integrityOf } from "./host/manifest.ts";
import { configSchema } from "./plugin/config.ts";

const ROOT = new URL("./", import.meta.url);

/** The JSON Schema the host renders forms from, generated from the plugin's valibot schema. */
export function generatedConfigSchema(): Record<string, unknown> {
  const { $schema: _, ...schema } = toJsonSchema(configSchema, { errorMode: "ignore" }) as Record<
    string,
    unknown
  >;
  return schema;
}

/**
 * Bundles the plugin and writes `<outDir>/plugin.js` and `<outDir>/manifest.json`; with
 * `updateRoot`, also refreshes the committed `manifest.json` (integrity and config schema), which
 * a test keeps in step with the source.
 */
export async function build(
  options: { outDir?: URL; updateRoot?: boolean } = {},
): Promise<{ manifest: URL; integrity: string; configSchema: Record<string, unknown> }> {
  const outDir = options.outDir ?? new URL("dist/mimecast/", ROOT);
  const result = await esbuild.build({
    entryPoints: [new URL("plugin/mod.ts", ROOT).pathname],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    target: "es2022",
    external: ["node:*"],
    write: false,
    legalComments: "none",
    logLevel: "error",
  });
  await esbuild.stop();
  const bundle = result.outputFiles[0].contents;
  const template = JSON.parse(await Deno.readTextFile(new URL("manifest.json", ROOT)));
  const integrity = await integrityOf(bundle);
  const manifest = {
    ...template,
    entry: "./plugin.js",
    integrity,
    configSchema: generatedConfigSchema(),
  };
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeFile(new URL("plugin.js", outDir), bundle);
  const manifestUrl = new URL("manifest.json", outDir);
  const text = JSON.stringify(manifest, null, 2) + "\n";
  await Deno.writeTextFile(manifestUrl, text);
  if (options.updateRoot) await Deno.writeTextFile(new URL("manifest.json", ROOT), text);
  return { manifest: manifestUrl, integrity, configSchema: manifest.configSchema };
}

/**
 * Copies the built folder into a plugins folder as `mimecast/`, unless a manifest there already
 * has id "mimecast". The bundle is copied before the manifest, so the host never sees a manifest
 * without its entry. Returns the folder it installed, if any.
 */
export async function installInto(
  pluginsDir: string,
  from = new URL("dist/mimecast/", ROOT),
): Promise<string | undefined> {
  await Deno.mkdir(pluginsDir, { recursive: true });
  for await (const entry of Deno.readDir(pluginsDir)) {
    const path = entry.isDirectory
      ? `${pluginsDir}/${entry.name}/manifest.json`
      : `${pluginsDir}/${entry.name}`;
    if (!path.endsWith(".json")) continue;
    try {
      if (JSON.parse(await Deno.readTextFile(path)).id === "mimecast") return undefined;
    } catch {
      // not a readable manifest: the host reports it
    }
  }
  const target = `${pluginsDir}/mimecast`;
  await Deno.mkdir(target, { recursive: true });
  await Deno.copyFile(new URL("plugin.js", from), `${target}/plugin.js`);
  await Deno.copyFile(new URL("manifest.json", from), `${target}/manifest.json`);
  return target;
}

if (import.meta.main) {
  const { manifest, integrity } = await build({ updateRoot: !Deno.args.includes("--no-root") });
  console.log(`Built ${manifest.pathname} (${integrity})`);
  if (Deno.args.includes("--install")) {
    const pluginsDir = (Deno.env.get("HOST_PLUGINS_DIR") || "./plugins").replace(/\/$/, "");
    const installed = await installInto(pluginsDir);
    console.log(
      installed
        ? `Installed the Mimecast plugin into ${installed}`
        : `A Mimecast manifest is already in ${pluginsDir}; left as it is`,
    );
  }
}
