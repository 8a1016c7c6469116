import { deepStrictEqual, equal, match } from "node:assert/strict";
import { integrationBody, testHost } from "./_host.ts";

type Issue = { path: string; message: string };

Deno.test("a body that is not JSON is a 400, and one sent as another content type a 415", async () => {
  const t = await testHost();
  try {
    const body = JSON.stringify(integrationBody());
    const post = (headers: Record<string, string>, text = body) =>
      t.request("/api/integrations", { method: "POST", body: text, headers });
    const malformed = await post({ "Content-Type": "application/json" }, '{"name": ');
    equal(malformed.status, 400);
    equal((await malformed.json()).code, "REQUEST_MALFORMED");
    const plain = await post({ "Content-Type": "text/plain" });
    equal(plain.status, 415);
    equal((await plain.json()).code, "MEDIA_TYPE_UNSUPPORTED");
    const form = await post({ "Content-Type": "application/x-www-form-urlencoded" });
    equal(form.status, 415);
    await form.body?.cancel();
    const created = await post({ "Content-Type": "application/json; charset=utf-8" });
    equal(created.status, 201);
    const { id } = await created.json();
    const patched = await t.request(`/api/integrations/${id}`, {
      method: "PATCH",
      body: JSON.stringify({ name: "x" }),
      headers: { "Content-Type": "text/plain" },
    });
    equal(patched.status, 415);
    await patched.body?.cancel();
    // A redrive's body is optional; one that is there must be JSON.
    const redrive = (init: RequestInit) =>
      t.request(`/api/integrations/${id}/dead-letters/redrive`, { method: "POST", ...init });
    equal((await redrive({})).status, 202);
    const textRedrive = await redrive({
      body: "webhookIds=x",
      headers: { "Content-Type": "text/plain" },
    });
    equal(textRedrive.status, 415);
    await textRedrive.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("a known /api path asked with another method is a 405 with Allow; an unknown one a 404", async () => {
  const t = await testHost({ install: false });
  try {
    const put = await t.request("/api/integrations/x", { method: "PUT" });
    equal(put.status, 405);
    deepStrictEqual(put.headers.get("Allow")?.split(", ").sort(), [
      "DELETE",
      "GET",
      "HEAD",
      "PATCH",
    ]);
    const putBody = await put.json();
    equal(typeof putBody.error, "string");
    equal(putBody.code, "METHOD_NOT_ALLOWED");
    const list = await t.request("/api/integrations", { method: "DELETE" });
    equal(list.status, 405);
    deepStrictEqual(list.headers.get("Allow")?.split(", ").sort(), ["GET", "HEAD", "POST"]);
    await list.body?.cancel();
    const cancel = await t.request("/api/runs/r1/cancel", { method: "GET" });
    equal(cancel.status, 405);
    equal(cancel.headers.get("Allow"), "POST");
    await cancel.body?.cancel();
    const nope = await t.request("/api/nope", { method: "PUT" });
    equal(nope.status, 404);
    equal(nope.headers.get("Allow"), null);
    equal((await nope.json()).code, "NOT_FOUND");
    // Without the token the method is not told: 401 first.
    const anonymous = await t.host.app.request("/api/integrations/x", { method: "PUT" });
    equal(anonymous.status, 401);
    equal((await anonymous.json()).code, "UNAUTHORIZED");
    // Every error answer carries a code (SPEC §5.5), the body limit's too.
    const large = await t.request("/api/integrations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: `{"name":"${"x".repeat(1024 * 1024 + 10)}"}`,
    });
    equal(large.status, 413);
    equal((await large.json()).code, "BODY_TOO_LARGE");
  } finally {
    await t.close();
  }
});

Deno.test("a bad query parameter is a 400 naming it", async () => {
  const t = await testHost();
  try {
    const { id } =
      await (await t.request("/api/integrations", { method: "POST", json: integrationBody() }))
        .json();
    for (
      const query of ["limit=abc", "limit=0", "limit=101", "limit=1.5", "lmit=5", "before=x"]
    ) {
      const response = await t.request(`/api/integrations/${id}/runs?${query}`);
      equal(response.status, 400, query);
      const body = await response.json();
      equal(body.code, "REQUEST_MALFORMED", query);
      equal(body.issues[0].path, query.split("=")[0], query);
    }
    const ok = await t.request(`/api/integrations/${id}/runs?limit=5`);
    equal(ok.status, 200);
    deepStrictEqual(await ok.json(), { runs: [], next: null });
  } finally {
    await t.close();
  }
});

Deno.test("unknown fields in a body are a 422 naming each, and change nothing", async () => {
  const t = await testHost();
  try {
    const body = integrationBody();
    const extra = await t.request("/api/integrations", {
      method: "POST",
      json: { ...body, shedule: {}, destination: { ...body.destination, fromat: "alerts" } },
    });
    equal(extra.status, 422);
    const issues: Issue[] = (await extra.json()).issues;
    deepStrictEqual(issues.map((i) => i.path).sort(), ["destination.fromat", "shedule"]);
    equal(
      issues.find((i) => i.path === "shedule")?.message,
      'Unknown field "shedule": remove it (fields: plugin, name, config, destination, schedule)',
    );
    equal((await (await t.request("/api/integrations")).json()).length, 0);

    const { id, name } =
      await (await t.request("/api/integrations", { method: "POST", json: body })).json();
    const misspelled = await t.request(`/api/integrations/${id}`, {
      method: "PATCH",
      json: { nmae: "Renamed", schedule: { intervalSecs: 600 } },
    });
    equal(misspelled.status, 422);
    const patchIssues: Issue[] = (await misspelled.json()).issues;
    deepStrictEqual(patchIssues.map((i) => i.path).sort(), ["nmae", "schedule.intervalSecs"]);
    equal(
      patchIssues.find((i) => i.path === "nmae")?.message,
      'Unknown field "nmae": remove it (fields: name, config, destination, schedule)',
    );
    const after = await (await t.request(`/api/integrations/${id}`)).json();
    equal(after.name, name);
    equal(after.schedule.intervalSeconds, 300);

    const redrive = (json: unknown) =>
      t.request(`/api/integrations/${id}/dead-letters/redrive`, { method: "POST", json });
    const wrongType = await redrive({ webhookIds: "x" });
    equal(wrongType.status, 422);
    equal((await wrongType.json()).issues[0].path, "webhookIds");
    const unknown = await redrive({ ids: ["x"] });
    equal(unknown.status, 422);
    equal((await unknown.json()).issues[0].path, "ids");
    const good = await redrive({ webhookIds: ["msg_none"] });
    equal(good.status, 202);
    deepStrictEqual(await good.json(), { requeued: 0 });
  } finally {
    await t.close();
  }
});

Deno.test("two integrations may not share a name: a 422 naming the one that has it", async () => {
  const t = await testHost();
  try {
    const body = integrationBody();
    const first = await (await t.request("/api/integrations", { method: "POST", json: body }))
      .json();
    const same = await t.request("/api/integrations", {
      method: "POST",
      json: { ...body, name: ` ${body.name.toUpperCase()} ` },
    });
    equal(same.status, 422);
    const issues: Issue[] = (await same.json()).issues;
    deepStrictEqual(issues.map((i) => i.path), ["name"]);
    equal(issues[0].message.includes(first.id), true, issues[0].message);
    equal((await (await t.request("/api/integrations")).json()).length, 1);

    const second = await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...body, name: "Another" },
    })).json();
    const renamed = await t.request(`/api/integrations/${second.id}`, {
      method: "PATCH",
      json: { name: body.name },
    });
    equal(renamed.status, 422);
    equal((await renamed.json()).issues[0].path, "name");
    // Saving an integration under its own name is no conflict.
    const kept = await t.request(`/api/integrations/${first.id}`, {
      method: "PATCH",
      json: { name: body.name, schedule: { intervalSeconds: 600 } },
    });
    equal(kept.status, 200);
    await kept.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("config messages are plain words, never the schema library's own wording", async () => {
  const t = await testHost();
  try {
    const response = await t.request("/api/integrations", {
      method: "POST",
      json: {
        ...integrationBody(),
        config: { apiVersion: "2.0", logTypes: ["url", "dlp"], startFrom: "7 days" },
      },
    });
    equal(response.status, 422);
    const { issues } = await response.json() as { issues: { path: string; message: string }[] };
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    equal(byPath["config.clientId"], "Client ID is required");
    match(byPath["config.clientSecret"], /^Client secret is required/);
    equal(
      byPath["config.logTypes.1"],
      'Log types: choose one of "url", "attachment", "impersonation", "rejections"',
    );
    // "7 days" is no duration: told how to write one, not that it is too long.
    equal(issues.filter((i) => i.path === "config.startFrom").length, 1);
    match(byPath["config.startFrom"], /such as 90m, 24h or 7d/);
    equal(issues.some((i) => /Invalid (key|type)|Expected|received/.test(i.message)), false);
  } finally {
    await t.close();
  }
});
