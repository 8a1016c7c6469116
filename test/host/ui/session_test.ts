/** The UI session cookie: HttpOnly and SameSite=Strict always, Secure with HOST_SECURE_COOKIES. */
import { equal, match, ok } from "node:assert/strict";
import { ADMIN, testHost } from "../_host.ts";

async function login(t: Awaited<ReturnType<typeof testHost>>) {
  const response = await t.host.app.request("http://127.0.0.1/login", {
    method: "POST",
    body: new URLSearchParams({ token: ADMIN }),
  });
  equal(response.status, 303);
  const setCookie = response.headers.get("set-cookie") ?? "";
  ok(setCookie.startsWith("host_session="), setCookie);
  // The session works: the dashboard opens with the cookie.
  const dashboard = await t.host.app.request("http://127.0.0.1/", {
    headers: { cookie: setCookie.split(";")[0] },
  });
  equal(dashboard.status, 200);
  await dashboard.body?.cancel();
  return setCookie.split(";").map((part) => part.trim().toLowerCase());
}

Deno.test("behind a TLS-terminating proxy (secureCookies), the session cookie is Secure even over http", async () => {
  const t = await testHost({ install: false, secureCookies: true });
  try {
    const attributes = await login(t);
    ok(attributes.includes("secure"), attributes.join("; "));
    ok(attributes.includes("httponly"));
    match(attributes.join("; "), /samesite=strict/);
  } finally {
    await t.close();
  }
});

Deno.test("without the setting, a login over plain http gets a cookie without Secure", async () => {
  const t = await testHost({ install: false });
  try {
    const attributes = await login(t);
    equal(attributes.includes("secure"), false, attributes.join("; "));
    ok(attributes.includes("httponly"));
  } finally {
    await t.close();
  }
});
