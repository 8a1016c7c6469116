import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { build, generatedConfigSchema } from "../../build.ts";
import { HostError } from "../../host/errors.ts";
import {
  hostAllowed,
  parseManifest,
  parseManifestText,
  secretFields,
} from "../../host/manifest.ts";

const DIR = new URL("../../fixtures/manifests/", import.meta.url);

for await (const entry of Deno.readDir(DIR)) {
  const name = entry.name;
  Deno.test(`parseManifest() ${name.startsWith("good_") ? "accepts" : "refuses, listing every problem,"} ${name}`, async () => {
    const { $expect, ...manifest } = JSON.parse(await Deno.readTextFile(new URL(name, DIR)));
    if (name.startsWith("good_")) {
      equal(parseManifest(manifest, name).id, manifest.id);
      return;
    }
    throws(() => parseManifest(manifest, name), (error: HostError) => {
      equal(error.code, "MANIFEST_INVALID");
      deepStrictEqual([...new Set(error.issues.map((i) => i.path))].sort(), $expect);
      return true;
    });
  });
}

Deno.test("parseManifestText() refuses text that is not JSON", () => {
  throws(
    () => parseManifestText("{nope", "x.json"),
    (e: HostError) => e.code === "MANIFEST_INVALID",
  );
});

Deno.test("the committed manifest.json matches a fresh build: config schema and bundle integrity", async () => {
  const committed = JSON.parse(
    await Deno.readTextFile(new URL("../../manifest.json", import.meta.url)),
  );
  deepStrictEqual(
    committed.configSchema,
    generatedConfigSchema(),
    "run `deno task build` and commit manifest.json",
  );
  const dir = await Deno.makeTempDir();
  try {
    const { integrity } = await build({ outDir: new URL(`file://${dir}/`) });
    equal(committed.integrity, integrity, "run `deno task build` and commit manifest.json");
    equal(parseManifest(committed).id, "mimecast");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("secretFields() finds every writeOnly field across the schema's branches", () => {
  deepStrictEqual([...secretFields(generatedConfigSchema())].sort(), [
    "accessKey",
    "applicationKey",
    "clientSecret",
    "secretKey",
  ]);
});

Deno.test("secretFields() with a config names the secrets of the branch its apiVersion chooses", () => {
  const schema = generatedConfigSchema();
  deepStrictEqual([...secretFields(schema, { apiVersion: "2.0" })], ["clientSecret"]);
  // apiVersion left out: the branch whose default it is.
  deepStrictEqual([...secretFields(schema, { baseUrl: "https://x" })], ["clientSecret"]);
  deepStrictEqual([...secretFields(schema, { apiVersion: "1.0" })].sort(), [
    "accessKey",
    "applicationKey",
    "secretKey",
  ]);
  // No branch fits: every secret, so none is forgotten.
  equal(secretFields(schema, { apiVersion: "3.0" }).size, 4);
});

Deno.test("hostAllowed() matches exact hosts and *. wildcards, and nothing else", () => {
  const net = ["*.mimecast.com", "uspcom-api.mimecast-pscom-us.com"];
  equal(hostAllowed("eu-api.mimecast.com", net), true);
  equal(hostAllowed("api.services.mimecast.com", net), true);
  equal(hostAllowed("uspcom-api.mimecast-pscom-us.com", net), true);
  equal(hostAllowed("mimecast.com", net), false);
  equal(hostAllowed("evilmimecast.com", net), false);
  equal(hostAllowed("mimecast.com.evil.example", net), false);
});
