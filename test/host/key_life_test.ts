/**
 * The master key's life (SPEC §5.4): a rotation re-seals every secret under the new key; a host
 * whose key cannot open stored secrets says so, keeps running and shows `secrets-unreadable`.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { ADMIN, awaitRun, integrationBody, testHost } from "./_host.ts";

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
    equal(v2.status, "never-run");
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
    match(run.hint, /HOST_MASTER_KEY/);
    // A failed run would make it `error`; the unreadable secrets still come first.
    const one = await (await t.request(`/api/integrations/${ids.v2}`)).json();
    equal(one.lastRun.status, "failed");
    equal(one.status, "secrets-unreadable");

    const check = await t.request(`/api/integrations/${ids.v2}/check`, { method: "POST" });
    equal(check.status, 409);
    const body = await check.json();
    equal(body.code, "SECRETS_UNAVAILABLE");
    match(body.hint, /HOST_MASTER_KEY/);
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
