/**
 * Hostile input on every HTTP route: thousands of generated paths and bodies answer with a clear
 * 4xx and never a 500 or a stack trace; addresses that point where the host must not go are
 * refused; form posts without the session's CSRF token are refused.
 */
import { equal } from "node:assert/strict";
import fc from "fast-check";
import { MimecastSimulator } from "../../fixtures/simulator/mod.ts";
import { createHost } from "../../host/mod.ts";
import { FakeClock } from "../_helpers.ts";
import {
  ADMIN,
  HOOK_URL,
  installPlugin,
  integrationBody,
  NOW,
  SIM_ORIGIN,
  testHost,
  WEBHOOK_SECRET,
} from "./_host.ts";

const STACK = /at (file|ext|node):|\.ts:\d+|Error: .*\n\s+at /;

Deno.test("fuzz: generated requests to the JSON API never get a 500 or a stack trace", async () => {
  const t = await testHost();
  try {
    const { id } = await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { enabled: false } },
    })).json();
    const segment = fc.oneof(
      fc.constantFrom(
        "api",
        "integrations",
        "plugins",
        "runs",
        "check",
        "preview",
        "dead-letters",
        "redrive",
        "refused",
        id,
        "..",
        "%2e%2e",
        "%00",
        "x".repeat(300),
      ),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
    );
    const randomPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) =>
      `/api/${parts.join("/")}`
    );
    const routes = [
      "",
      "/check",
      "/preview",
      "/runs",
      "/dead-letters",
      "/dead-letters/redrive",
      "/invalid-records",
    ];
    const knownPath = fc.tuple(
      fc.oneof(fc.constant(id), fc.constant(id), fc.uuid(), segment),
      fc.constantFrom(...routes),
    )
      .map(([target, route]) => `/api/integrations/${target}${route}`);
    const path = fc.oneof(
      { arbitrary: knownPath, weight: 4 },
      {
        arbitrary: fc.constantFrom(
          "/api/integrations",
          "/api/plugins",
          "/api/plugins/refused",
          "/api/runs/x",
        ),
        weight: 2,
      },
      { arbitrary: randomPath, weight: 2 },
    );
    const body = fc.oneof(
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.record({
        plugin: fc.oneof(fc.constant("mimecast"), fc.jsonValue()),
        name: fc.oneof(fc.string(), fc.jsonValue()),
        config: fc.oneof(
          fc.dictionary(
            fc.constantFrom(
              "apiVersion",
              "baseUrl",
              "clientId",
              "clientSecret",
              "logTypes",
              "startFrom",
              "mapping",
              "internalNetworks",
              "__proto__",
              "constructor",
            ),
            fc.jsonValue(),
          ),
          fc.jsonValue(),
        ),
        destination: fc.oneof(
          fc.record({ url: fc.oneof(fc.webUrl(), fc.string()), secret: fc.string() }),
          fc.jsonValue(),
        ),
        schedule: fc.oneof(
          fc.record({
            intervalSeconds: fc.oneof(fc.integer(), fc.double()),
            enabled: fc.jsonValue(),
          }),
          fc.jsonValue(),
        ),
      }).map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 200 }),
    );
    const method = fc.oneof(
      { arbitrary: fc.constantFrom("GET", "POST", "PATCH"), weight: 10 },
      { arbitrary: fc.constantFrom("DELETE", "PUT"), weight: 1 },
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(method, path, body, async (m, p, b) => {
        fc.pre(!(m === "DELETE" && p === `/api/integrations/${id}`)); // keep the target alive
        const response = await t.host.app.request(p, {
          method: m,
          headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
          body: m === "GET" ? undefined : b,
        });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status >= 500) {
          throw new Error(`${m} ${p} answered ${response.status}: ${text}`);
        }
        if (STACK.test(text)) throw new Error(`${m} ${p} leaked a stack trace: ${text}`);
        if (response.status >= 400 && !text.includes('"error"')) {
          throw new Error(`${m} ${p} ${response.status} without an error message: ${text}`);
        }
      }),
      { numRuns: 3000, seed: 20261123 },
    );
    console.log("fuzz statuses", JSON.stringify([...statuses].sort((a, b) => a[0] - b[0])));
    // The generator reached the routes' real answers, not only 404s.
    for (const status of [200, 404, 422]) {
      equal((statuses.get(status) ?? 0) > 0, true, `saw ${status}: ${[...statuses]}`);
    }
    // The fuzzing never moved the valid integration's runs into a broken state.
    await t.host.runner.settled(id);
    equal((await t.request(`/api/integrations/${id}`)).status < 500, true);
  } finally {
    await t.close();
  }
});

Deno.test("addresses the host must not reach are refused when saved, and redirects are not followed", async () => {
  const dir = await Deno.makeTempDir();
  await installPlugin(`${dir}/plugins`);
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({ now: clock.now });
  let redirected = 0;
  const host = createHost({
    dataDir: dir,
    pluginsDir: `${dir}/plugins`,
    adminToken: ADMIN,
    masterKey: crypto.getRandomValues(new Uint8Array(32)),
    allowLoopback: false,
    clock,
    logWrite: () => {},
    fetch: (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.startsWith("https://api.services.mimecast.com")) {
        return sim.fetch(url.replace("https://api.services.mimecast.com", SIM_ORIGIN), init);
      }
      if (url.startsWith("https://siem.example.com")) {
        redirected++;
        return Promise.resolve(
          new Response(null, {
            status: 302,
            headers: { Location: "http://169.254.169.254/latest/meta-data/" },
          }),
        );
      }
      return Promise.reject(new TypeError(`unexpected ${url}`));
    },
  });
  await host.start();
  const post = (json: unknown) =>
    host.app.request("/api/integrations", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      body: JSON.stringify(json),
    });
  try {
    const good = {
      plugin: "mimecast",
      name: "n",
      config: { clientId: "sim-client-id", clientSecret: "sim-client-secret-value" },
      destination: { url: "https://siem.example.com/hook", secret: WEBHOOK_SECRET },
    };
    for (
      const baseUrl of [
        "https://169.254.169.254",
        "https://evil.example",
        "http://127.0.0.1:9701",
        "file:///etc/passwd",
        "gopher://eu-api.mimecast.com",
        "https://mimecast.com.evil.example",
      ]
    ) {
      const response = await post({ ...good, config: { ...good.config, baseUrl } });
      equal(response.status, 422, baseUrl);
      equal(
        (await response.json()).issues.some((i: { path: string }) => i.path === "config.baseUrl"),
        true,
        baseUrl,
      );
    }
    for (
      const url of [
        "http://siem.example.com/hook",
        "https://169.254.169.254/",
        "https://[fe80::1]/",
        "http://127.0.0.1:9702/hook",
        "ftp://siem.example.com/",
        "https://metadata.google.internal/",
      ]
    ) {
      const response = await post({ ...good, destination: { ...good.destination, url } });
      equal(response.status, 422, url);
      equal((await response.json()).issues[0].path, "destination.url", url);
    }
    // A receiver that redirects: the redirect is not followed; the batch becomes a dead letter.
    sim.add("impersonation", [{
      id: "MTOKEN:1",
      eventTime: "2025-03-04T11:00:00+0000",
      senderAddress: "a@b.example",
      recipientAddress: "c@acme.example",
    }]);
    const created = await post({
      ...good,
      config: { ...good.config, logTypes: ["impersonation"] },
    });
    equal(created.status, 201);
    const { id } = await created.json();
    const { runId, started } = await host.runner.start(id, "manual");
    equal(started, true);
    await host.runner.settled(id);
    const run = (await host.store.getRun(runId))!;
    equal(run.status, "failed");
    equal(run.errorCode, "DELIVERY_FAILED");
    equal(redirected, 1, "a 3xx is final: not retried, not followed");
    equal(await host.store.deadLetterCount(id), 1);
  } finally {
    await host.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UI form posts need the session's CSRF token; a stolen-looking request is refused", async () => {
  const t = await testHost();
  try {
    const login = await t.host.app.request("/login", {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN }),
    });
    equal(login.status, 303);
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    equal(/HttpOnly/i.test(login.headers.get("set-cookie")!), true);
    equal(/SameSite=Strict/i.test(login.headers.get("set-cookie")!), true);
    const { id } = await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { enabled: false } },
    })).json();
    for (
      const body of [
        new URLSearchParams(),
        new URLSearchParams({ _csrf: "guess" }),
        new URLSearchParams({ _csrf: "" }),
      ]
    ) {
      const response = await t.host.app.request(`/integrations/${id}/runs`, {
        method: "POST",
        headers: { cookie },
        body,
      });
      equal(response.status, 403);
    }
    const noSession = await t.host.app.request(`/integrations/${id}/delete`, {
      method: "POST",
      body: new URLSearchParams({ _csrf: "x" }),
    });
    equal(noSession.status, 401);
    equal((await t.host.store.listRuns(id)).length, 0, "nothing ran");
    equal((await t.host.store.getIntegration(id))?.id, id, "nothing was deleted");
    const page = await (await t.host.app.request(`/integrations/${id}`, { headers: { cookie } }))
      .text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1];
    const ok = await t.host.app.request(`/integrations/${id}/runs`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    equal(ok.status, 303);
    void HOOK_URL;
  } finally {
    await t.close();
  }
});

Deno.test("form posts are capped at 1 MiB too, before the session or CSRF check reads them", async () => {
  const t = await testHost();
  try {
    const response = await t.host.app.request("/login", {
      method: "POST",
      body: new URLSearchParams({ token: "x".repeat(2 * 1024 * 1024) }),
    });
    equal(response.status, 413);
    const page = await t.host.app.request("/integrations/x/runs", {
      method: "POST",
      body: "a".repeat(2 * 1024 * 1024),
    });
    equal(page.status, 413);
  } finally {
    await t.close();
  }
});
