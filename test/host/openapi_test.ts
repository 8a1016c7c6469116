import { deepStrictEqual, equal } from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { testHost } from "./_host.ts";

type Operation = {
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, unknown>;
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

Deno.test("GET /api/openapi.json is a valid OpenAPI 3.1 document listing every route the app registers", async () => {
  const t = await testHost({ install: false });
  try {
    const response = await t.host.app.request("/api/openapi.json");
    equal(response.status, 200);
    const document: Document = await response.json();
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    deepStrictEqual(result.errors ?? [], []);
    equal(result.valid, true);
    equal(validator.version, "3.1");

    const registered = t.host.app.routes
      .filter((r) => r.method !== "ALL")
      .filter((r) => r.path.startsWith("/api/") || ["/healthz", "/metrics"].includes(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    equal(registered.length > 15, true, `${registered}`);
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m} ${path}`));
    deepStrictEqual([...new Set(registered)].sort(), documented.sort());
  } finally {
    await t.close();
  }
});

Deno.test("the document's request bodies are the validating schemas, with their error responses", async () => {
  const t = await testHost({ install: false });
  try {
    const document: Document = await (await t.host.app.request("/api/openapi.json")).json();
    const create = document.paths["/api/integrations"].post;
    const body = create.requestBody!.content["application/json"].schema;
    equal(body.additionalProperties, false);
    deepStrictEqual(
      Object.keys(body.properties as object),
      ["plugin", "name", "config", "destination", "schedule"],
    );
    deepStrictEqual(Object.keys(create.responses).sort(), [
      "201",
      "400",
      "401",
      "405",
      "413",
      "415",
      "422",
      "500",
    ]);
    const patch = document.paths["/api/integrations/{id}"].patch;
    equal(
      (patch.requestBody!.content["application/json"].schema.properties as Record<string, object>)
        .destination !== undefined,
      true,
    );
    equal("404" in patch.responses, true);
    const runs = document.paths["/api/integrations/{id}/runs"].get as unknown as {
      parameters: { name: string; in: string }[];
    };
    deepStrictEqual(runs.parameters.map((p) => `${p.in} ${p.name}`), [
      "path id",
      "query before",
      "query limit",
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("/api/docs serves Swagger UI from the host itself, with no inline script", async () => {
  const t = await testHost({ install: false });
  try {
    const page = await t.host.app.request("/api/docs");
    equal(page.status, 200);
    const html = await page.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, url]) => url);
    deepStrictEqual(sources, [
      "data:,",
      "/api/docs/swagger-ui.css",
      "/api/openapi.json", // the noscript link to the document itself
      "/api/docs/swagger-ui-bundle.js",
      "/api/docs/start.js",
    ]);
    equal(/<script>/.test(html), false);
    for (const url of sources.slice(1).filter((u) => u.startsWith("/api/docs/"))) {
      const asset = await t.host.app.request(url);
      equal(asset.status, 200, url);
      equal((await asset.text()).length > 0, true, url);
    }
    const bundle = await (await t.host.app.request("/api/docs/swagger-ui-bundle.js")).text();
    equal(bundle.includes("SwaggerUIBundle"), true);
    const other = await t.host.app.request("/api/docs/..%2Fpackage.json");
    equal(other.status, 404);
    await other.body?.cancel();
  } finally {
    await t.close();
  }
});
