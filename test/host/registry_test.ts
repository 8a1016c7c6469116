import { deepStrictEqual, equal } from "node:assert/strict";
import { integrationBody, testHost } from "./_host.ts";
import { builtPlugin, installPlugin } from "./_host.ts";

async function until(check: () => boolean | Promise<boolean>, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("dropping a manifest installs the plugin without a restart; removing it pauses its integrations", async () => {
  const t = await testHost({ install: false });
  try {
    deepStrictEqual(await (await t.request("/api/plugins")).json(), []);
    await installPlugin(t.pluginsDir);
    await until(async () => (await (await t.request("/api/plugins")).json()).length === 1);
    const [plugin] = await (await t.request("/api/plugins")).json();
    equal(plugin.id, "mimecast");
    equal(plugin.configSchema.oneOf.length, 2);

    const { id } =
      await (await t.request("/api/integrations", { method: "POST", json: integrationBody() }))
        .json();
    await Deno.remove(`${t.pluginsDir}/mimecast`, { recursive: true });
    await until(async () => (await (await t.request("/api/plugins")).json()).length === 0);
    const view = await (await t.request(`/api/integrations/${id}`)).json();
    equal(view.paused, true);
    equal((await t.request(`/api/integrations/${id}/runs`, { method: "POST" })).status, 409);

    await installPlugin(t.pluginsDir);
    await until(async () =>
      (await (await t.request(`/api/integrations/${id}`)).json()).paused === false
    );
  } finally {
    await t.close();
  }
});

Deno.test("a bad manifest is refused with all its problems; a tampered bundle fails integrity; the rest keeps running", async () => {
  const t = await testHost();
  try {
    await Deno.writeTextFile(
      `${t.pluginsDir}/broken.json`,
      JSON.stringify({ id: "Broken!", version: "x" }),
    );
    const from = await builtPlugin();
    await Deno.mkdir(`${t.pluginsDir}/tampered`);
    const bundle = await Deno.readTextFile(`${from}/plugin.js`);
    await Deno.writeTextFile(`${t.pluginsDir}/tampered/plugin.js`, bundle + "\n// tampered");
    const manifest = JSON.parse(await Deno.readTextFile(`${from}/manifest.json`));
    await Deno.writeTextFile(
      `${t.pluginsDir}/tampered/manifest.json`,
      JSON.stringify({ ...manifest, id: "tampered" }),
    );
    await until(async () => (await (await t.request("/api/plugins/refused")).json()).length === 2);
    const refused = await (await t.request("/api/plugins/refused")).json();
    const broken = refused.find((r: { source: string }) => r.source.endsWith("broken.json"));
    deepStrictEqual(broken.issues.map((i: { path: string }) => i.path).sort(), [
      "configSchema",
      "entry",
      "hostApi",
      "id",
      "integrity",
      "name",
      "permissions",
      "version",
    ]);
    const tampered = refused.find((r: { source: string }) => r.source.includes("tampered"));
    equal(/integrity/.test(tampered.error), true);
    deepStrictEqual(
      (await (await t.request("/api/plugins")).json()).map((p: { id: string }) => p.id),
      ["mimecast"],
    );
  } finally {
    await t.close();
  }
});

Deno.test("a plugin folder moved out and moved back (mv, or cp -a keeping times) installs again", async () => {
  const t = await testHost();
  const aside = await Deno.makeTempDir();
  const installed = async () => (await (await t.request("/api/plugins")).json()).length === 1;
  const run = async (...args: string[]) => {
    const { code, stderr } = await new Deno.Command(args[0], { args: args.slice(1) }).output();
    equal(code, 0, new TextDecoder().decode(stderr));
  };
  try {
    await until(installed);
    const { id } =
      await (await t.request("/api/integrations", { method: "POST", json: integrationBody() }))
        .json();
    const paused = async () => (await (await t.request(`/api/integrations/${id}`)).json()).paused;

    await run("mv", `${t.pluginsDir}/mimecast`, `${aside}/mimecast`);
    await until(async () => !(await installed()) && await paused() === true);
    await run("mv", `${aside}/mimecast`, `${t.pluginsDir}/mimecast`);
    await until(async () => await installed() && await paused() === false);

    await run("cp", "-a", `${t.pluginsDir}/mimecast`, `${aside}/copy`);
    await Deno.remove(`${t.pluginsDir}/mimecast`, { recursive: true });
    await until(async () => !(await installed()));
    await run("cp", "-a", `${aside}/copy`, `${t.pluginsDir}/mimecast`);
    await until(async () => await installed() && await paused() === false);
  } finally {
    await t.close();
    await Deno.remove(aside, { recursive: true });
  }
});
