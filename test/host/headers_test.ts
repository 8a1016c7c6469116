/**
 * Response headers (SPEC §5.5): `nosniff` on every answer; HTML pages with a Content-Security-
 * Policy that allows no inline script and no framing, and no inline script in them; pages behind
 * the login (one of them shows a generated webhook secret once) never cached.
 */
import { equal, match, ok } from "node:assert/strict";
import { ADMIN, testHost } from "./_host.ts";

Deno.test("every answer says nosniff; pages carry a CSP without inline script, no framing, no caching behind the login", async () => {
  const t = await testHost();
  try {
    for (const path of ["/healthz", "/api/plugins", "/login", "/no-such-route"]) {
      const response = await t.request(path);
      await response.body?.cancel();
      equal(response.headers.get("X-Content-Type-Options"), "nosniff", path);
    }
    const login = await t.request("/login");
    const csp = login.headers.get("Content-Security-Policy") ?? "";
    match(csp, /script-src 'self'(;|$)/);
    match(csp, /frame-ancestors 'none'/);
    equal(csp.includes("unsafe-inline'") && /script-src[^;]*unsafe-inline/.test(csp), false);
    const html = await login.text();
    ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), "no inline <script> in the page");
    const script = await t.request("/assets/ui.js");
    equal(script.status, 200);
    match(script.headers.get("Content-Type") ?? "", /javascript/);
    ok((await script.text()).length > 100);

    // Log in, then a page behind the login.
    const form = new FormData();
    form.set("token", ADMIN);
    const session = await t.request("/login", { method: "POST", body: form, redirect: "manual" });
    const cookie = (session.headers.get("set-cookie") ?? "").split(";")[0];
    ok(cookie.includes("="), "a session cookie");
    const dashboard = await t.request("/", { headers: { Cookie: cookie } });
    equal(dashboard.status, 200);
    equal(dashboard.headers.get("Cache-Control"), "no-store");
    await dashboard.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("POST /login with a JSON or broken body answers 400 with the form, and logs no stack trace", async () => {
  const t = await testHost();
  try {
    for (
      const [type, body] of [
        ["application/json", JSON.stringify({ token: ADMIN })],
        ["multipart/form-data; boundary=x", "--x\r\nbroken"],
        ["application/x-www-form-urlencoded", "%zz=%"],
      ]
    ) {
      const response = await t.request("/login", {
        method: "POST",
        headers: { "Content-Type": type },
        body,
      });
      const html = await response.text();
      equal(
        response.status === 400 || response.status === 401,
        true,
        `${type}: ${response.status}`,
      );
      match(html, /token/);
      equal(response.headers.get("set-cookie"), null, "no session");
    }
    equal(t.logLines.some((l) => /Unhandled|stack| {4}at /.test(l)), false, t.logLines.join("\n"));
  } finally {
    await t.close();
  }
});
