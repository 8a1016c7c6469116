/**
 * The integration form's webhook format (SPEC §4, §5.8): a select with both formats, chosen on
 * create, shown and kept on edit, previewed in the chosen format. Through `app.request`, logged in
 * like a browser (session cookie and CSRF token).
 */
import { equal, match, ok } from "node:assert/strict";
import { generateRecords } from "../../../fixtures/simulator/mod.ts";
import { ADMIN, HOOK_URL, NOW, SIM_ORIGIN, testHost, WEBHOOK_SECRET } from "../_host.ts";

async function loggedIn(t: Awaited<ReturnType<typeof testHost>>) {
  const login = await t.host.app.request("/login", {
    method: "POST",
    body: new URLSearchParams({ token: ADMIN }),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  ok(cookie, "no session cookie");
  const get = async (path: string) => {
    const response = await t.host.app.request(path, { headers: { cookie } });
    equal(response.status, 200, path);
    return await response.text();
  };
  const post = async (path: string, fields: Record<string, string>) => {
    const page = await get("/");
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
    return await t.host.app.request(path, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ ...fields, _csrf: csrf }),
    });
  };
  return { get, post };
}

const selected = (page: string) =>
  /<select id="f-destination-format"[^>]*>(.*?)<\/select>/s.exec(page)?.[1]
    .match(/<option value="(\w+)"\s+selected>/)?.[1];

Deno.test("the integration form offers the webhook format, keeps it on edit, and previews in it", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 20, { start: NOW - 3_600_000 }));
    const ui = await loggedIn(t);
    const blank = await ui.get("/plugins/mimecast/new");
    equal(selected(blank), "alerts");
    match(blank, /<option value="alerts"\s+selected>Alerts \(Mimecast alert JSON\)<\/option>/);
    match(blank, /<option value="ocsf"\s*>OCSF 1\.x Detection Finding<\/option>/);

    const fields = {
      name: "OCSF lake",
      "destination.url": HOOK_URL,
      "destination.secret": WEBHOOK_SECRET,
      "destination.format": "ocsf",
      "config.apiVersion": "2.0",
      "config.baseUrl@2.0": SIM_ORIGIN,
      "config.clientId@2.0": "sim-client-id",
      "config.clientSecret@2.0": "sim-client-secret-value",
      "config.logTypes": "url",
    };
    // A wrong value is named next to the field, and the other choices survive the round trip.
    const refused = await ui.post("/plugins/mimecast/new", {
      ...fields,
      "destination.format": "cef",
    });
    equal(refused.status, 422);
    const page = await refused.text();
    match(page, /destination\.format must be &quot;alerts&quot; or &quot;ocsf&quot;/);
    match(page, /<div class="field invalid"><label for="f-destination-format">/);

    const created = await ui.post("/plugins/mimecast/new", fields);
    equal(created.status, 303);
    const [row] = await t.host.store.listIntegrations();
    equal(row.destinationFormat, "ocsf");
    match(await ui.get(`/integrations/${row.id}`), /OCSF 1\.x Detection Finding/);

    const edit = await ui.get(`/integrations/${row.id}/edit`);
    equal(selected(edit), "ocsf");
    // Saving the edit form without touching the select keeps the format.
    const saved = await ui.post(`/integrations/${row.id}/edit`, {
      ...fields,
      name: "OCSF lake, renamed",
      "destination.secret": "",
    });
    equal(saved.status, 303);
    equal((await t.host.store.getIntegration(row.id))?.destinationFormat, "ocsf");
    const { "destination.format": _, ...withoutFormat } = fields;
    await ui.post(`/integrations/${row.id}/edit`, { ...withoutFormat, "destination.secret": "" });
    equal((await t.host.store.getIntegration(row.id))?.destinationFormat, "ocsf");

    const preview = await (await ui.post(`/integrations/${row.id}/preview`, {})).text();
    match(preview, /as OCSF 1\.x Detection Finding/);
    match(preview, /&quot;class_uid&quot;: 2004/);
    match(preview, /T1598\.003 Spearphishing Link/);

    await ui.post(`/integrations/${row.id}/edit`, {
      ...fields,
      "destination.secret": "",
      "destination.format": "alerts",
    });
    equal((await t.host.store.getIntegration(row.id))?.destinationFormat, "alerts");
    equal(selected(await ui.get(`/integrations/${row.id}/edit`)), "alerts");
  } finally {
    await t.close();
  }
});
