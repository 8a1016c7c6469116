/**
 * The master key's life (SPEC §5.4): a rotation re-seals every secret under the new key; a host
 * whose key cannot open stored secrets says so, keeps running, shows `secrets-unreadable`, and
 * lets an operator re-enter the secrets (API and form) instead of deleting the integration.
 */
import { deepStrictEqual, equal, match, notEqual, ok } from "node:assert/strict";
import {
  ADMIN,
  awaitRun,
  HOOK_URL,
  integrationBody,
  SIM_ORIGIN,
  testHost,
  WEBHOOK_SECRET,
} from "./_host.ts";

type TestHost = Awaited<ReturnType<typeof testHost>>;

const newKey = () => crypto.getRandomValues(new Uint8Array(32));

/** A data folder whose host sealed two integrations' secrets under `key`. */
async function sealedUnder(key: Uint8Array) {
  const t = await testHost({ masterKey: key });
  const ids: Record<"v2" | "v1", string> = { v2: "", v1: "" };
  for (const [name, version] of [["v2", "2.0"], ["v1", "1.0"]] as const) {
    const response = await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(version), name: `Tenant ${name}` },
    });
    equal(response.status, 201);
    ids[name] = (await response.json()).id;
  }
  await t.close({ keep: true });
  return { dir: t.dir, ids };
}

async function runNow(t: TestHost, id: string) {
  const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
    .json();
  return await awaitRun(t, id, runId);
}

const logged = (t: TestHost) => t.logLines.map((line) => JSON.parse(line));

Deno.test("HOST_MASTER_KEY_PREVIOUS: a host with a new key re-seals every secret under it at start, logged with a count", async () => {
  const [oldKey, key] = [newKey(), newKey()];
  const { dir, ids } = await sealedUnder(oldKey);
  const rotating = await testHost({ dir, masterKey: key, previousMasterKey: oldKey });
  try {
    const lines = logged(rotating);
    const resealed = lines.find((l) => /Re-sealed/.test(l.message));
    equal(resealed?.message, "Re-sealed 2 integrations' secrets under the new master key");
    equal(resealed?.count, 2);
    ok(lines.some((l) => /remove HOST_MASTER_KEY_PREVIOUS/.test(l.message)));
    equal(lines.some((l) => l.level === "error"), false, rotating.logLines.join("\n"));
  } finally {
    await rotating.close({ keep: true });
  }
  // Without the previous key: everything opens under the new one, and the secrets still work.
  const after = await testHost({ dir, masterKey: key });
  try {
    equal(logged(after).some((l) => /Re-sealed|Cannot open/.test(l.message)), false);
    const v2 = await (await after.request(`/api/integrations/${ids.v2}`)).json();
    // New integrations wait for a passing check (SPEC §5.8): paused, not secrets-unreadable.
    equal(v2.status, "paused");
    deepStrictEqual(v2.secretsSet, ["clientSecret"]);
    const v1 = await (await after.request(`/api/integrations/${ids.v1}`)).json();
    deepStrictEqual(v1.secretsSet, ["accessKey", "applicationKey", "secretKey"]);
    equal((await runNow(after, ids.v2)).status, "succeeded");
    equal((await runNow(after, ids.v1)).status, "succeeded");
  } finally {
    await after.close();
  }
});

Deno.test("a host whose key cannot open stored secrets says so at start, keeps running, shows secrets-unreadable, and its runs fail naming the fix", async () => {
  const { dir, ids } = await sealedUnder(newKey());
  const t = await testHost({ dir, masterKey: newKey() });
  try {
    const warning = logged(t).find((l) => /Cannot open the stored secrets/.test(l.message));
    ok(warning, t.logLines.join("\n"));
    equal(warning.level, "error");
    for (const [name, id] of Object.entries(ids)) {
      ok(warning.message.includes(id) && warning.message.includes(`Tenant ${name}`));
    }
    deepStrictEqual(
      warning.integrations.map((i: { name: string }) => i.name).sort(),
      ["Tenant v1", "Tenant v2"],
    );
    match(warning.hint, /HOST_MASTER_KEY/);
    match(warning.hint, /PATCH \/api\/integrations\/:id with every secret field/);

    equal((await t.request("/healthz")).status, 200);
    const list = await (await t.request("/api/integrations")).json();
    deepStrictEqual(list.map((i: { status: string }) => i.status), [
      "secrets-unreadable",
      "secrets-unreadable",
    ]);

    const run = await runNow(t, ids.v2);
    equal(run.status, "failed");
    equal(run.code, "SECRETS_UNAVAILABLE");
    match(run.error, /Cannot decrypt stored secrets/);
    match(run.hint, /re-enter the integration's secrets/);
    // A failed run would make it `error`; the unreadable secrets still come first.
    const one = await (await t.request(`/api/integrations/${ids.v2}`)).json();
    equal(one.lastRun.status, "failed");
    equal(one.status, "secrets-unreadable");

    const check = await t.request(`/api/integrations/${ids.v2}/check`, { method: "POST" });
    equal(check.status, 409);
    const body = await check.json();
    equal(body.code, "SECRETS_UNAVAILABLE");
    match(body.hint, /re-enter/);
  } finally {
    await t.close();
  }
});

Deno.test("secrets re-entered by PATCH replace unreadable ones; a PATCH that leaves one out is 422 naming each", async () => {
  const { dir, ids } = await sealedUnder(newKey());
  const t = await testHost({ dir, masterKey: newKey() });
  try {
    const issuesOf = async (id: string, json: unknown) => {
      const response = await t.request(`/api/integrations/${id}`, { method: "PATCH", json });
      equal(response.status, 422);
      const body = await response.json();
      equal(body.code, "CONFIG_INVALID");
      return body.issues.map((i: { path: string }) => i.path);
    };
    deepStrictEqual(await issuesOf(ids.v2, { name: "Renamed" }), [
      "config.clientSecret",
      "destination.secret",
    ]);
    deepStrictEqual(
      await issuesOf(ids.v2, { config: { clientSecret: "sim-client-secret-value" } }),
      ["destination.secret"],
    );
    // API 1.0 has three secret fields; a blank one counts as left out.
    deepStrictEqual(
      await issuesOf(ids.v1, {
        config: { accessKey: "", secretKey: "x" },
        destination: { secret: WEBHOOK_SECRET },
      }),
      ["config.accessKey", "config.applicationKey"],
    );
    // Nothing was stored by the refused updates.
    equal((await (await t.request(`/api/integrations/${ids.v2}`)).json()).name, "Tenant v2");

    const saved = await t.request(`/api/integrations/${ids.v2}`, {
      method: "PATCH",
      json: {
        config: { clientSecret: "sim-client-secret-value" },
        destination: { secret: WEBHOOK_SECRET },
      },
    });
    equal(saved.status, 200);
    const view = await saved.json();
    equal(view.status, "paused");
    deepStrictEqual(view.secretsSet, ["clientSecret"]);
    equal(view.config.clientId, "sim-client-id");
    equal((await runNow(t, ids.v2)).status, "succeeded");
    equal(
      (await (await t.request(`/api/integrations/${ids.v1}`)).json()).status,
      "secrets-unreadable",
    );
  } finally {
    await t.close();
  }
});

/** A browser-like session: the cookie, and posts carrying the CSRF token. */
async function loggedIn(t: TestHost) {
  const login = await t.host.app.request("/login", {
    method: "POST",
    body: new URLSearchParams({ token: ADMIN }),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  const get = (path: string) => t.host.app.request(path, { headers: { cookie } });
  const post = async (path: string, fields: Record<string, string>) => {
    const page = await (await get("/")).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
    return await t.host.app.request(path, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ ...fields, _csrf: csrf }),
    });
  };
  return { get, post };
}

Deno.test("the console shows secrets-unreadable, and a check there says why instead of failing", async () => {
  const { dir, ids } = await sealedUnder(newKey());
  const t = await testHost({ dir, masterKey: newKey() });
  try {
    const ui = await loggedIn(t);
    const dashboard = await (await ui.get("/")).text();
    match(dashboard, /<span class="badge secrets-unreadable">secrets-unreadable<\/span>/);
    match(dashboard, new RegExp(`href="/integrations/${ids.v2}/edit">Enter them again`));
    const page = await ui.get(`/integrations/${ids.v2}`);
    equal(page.status, 200);
    match(await page.text(), /id="secrets-unreadable"/);
    const check = await ui.post(`/integrations/${ids.v2}/check`, {});
    equal(check.status, 409);
    match(await check.text(), /Cannot decrypt stored secrets/);
  } finally {
    await t.close();
  }
});

Deno.test("the console's edit form asks for every secret again, names the ones left out, and takes them", async () => {
  const { dir, ids } = await sealedUnder(newKey());
  const t = await testHost({ dir, masterKey: newKey() });
  try {
    const ui = await loggedIn(t);
    const edit = await ui.get(`/integrations/${ids.v2}/edit`);
    equal(edit.status, 200);
    const form = await edit.text();
    match(form, /id="secrets-unreadable"/);
    match(form, /<label for="f-destination-secret">Webhook secret \*<\/label>/);
    equal(form.includes("leave blank to keep it"), false);
    const fields = {
      name: "Tenant v2",
      "destination.url": HOOK_URL,
      "destination.secret": "",
      "config.apiVersion": "2.0",
      "config.baseUrl@2.0": SIM_ORIGIN,
      "config.clientId@2.0": "sim-client-id",
      "config.clientSecret@2.0": "",
      "config.logTypes": "url",
      "config.startFrom": "7d",
    };
    const refused = await ui.post(`/integrations/${ids.v2}/edit`, fields);
    equal(refused.status, 422);
    const again = await refused.text();
    match(again, /2 problem\(s\) to fix before saving/);
    match(again, /<a href="#f-clientSecret-2_0">Client secret<\/a>: Enter this secret again/);
    match(again, /<a href="#f-destination-secret">Webhook secret<\/a>: Enter the webhook secret/);
    match(again, /<div class="field invalid"><label for="f-clientSecret-2_0">/);
    match(again, /Enter the webhook secret again/);

    const saved = await ui.post(`/integrations/${ids.v2}/edit`, {
      ...fields,
      "destination.secret": WEBHOOK_SECRET,
      "config.clientSecret@2.0": "sim-client-secret-value",
    });
    equal(saved.status, 303);
    const view = await (await t.request(`/api/integrations/${ids.v2}`)).json();
    notEqual(view.status, "secrets-unreadable");
    deepStrictEqual(view.secretsSet, ["clientSecret"]);
    equal((await runNow(t, ids.v2)).status, "succeeded");
  } finally {
    await t.close();
  }
});
