/**
 * The UI session cookie: HttpOnly and SameSite=Strict always, Secure with HOST_SECURE_COOKIES;
 * sessions kept in the database as a hash of their id, so a restart keeps operators logged in.
 */
import { equal, match, ok } from "node:assert/strict";
import { createHash } from "node:crypto";
import { sessionHash } from "../../../host/store/mod.ts";
import type { SqliteStore } from "../../../host/store/sqlite/mod.ts";
import { ADMIN, NOW, testHost } from "../_host.ts";
import { spawnHost } from "../_process.ts";

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

const cookieOf = (response: Response) => (response.headers.get("set-cookie") ?? "").split(";")[0];

Deno.test("sessions are stored as a SHA-256 of their id with their CSRF token; logout deletes the row; an expired one ends and is pruned", async () => {
  const t = await testHost({ install: false });
  try {
    const login = () =>
      t.host.app.request("/login", {
        method: "POST",
        body: new URLSearchParams({ token: ADMIN }),
      });
    const cookie = cookieOf(await login());
    const id = cookie.split("=")[1];
    const rows = () =>
      (t.host.store as SqliteStore).db.prepare("SELECT id_hash, csrf, expires_ms FROM ui_sessions")
        .all() as {
          id_hash: string;
          csrf: string;
          expires_ms: number;
        }[];
    equal(rows().length, 1);
    equal(rows()[0].id_hash, sessionHash(id));
    equal(rows()[0].id_hash, createHash("sha256").update(id).digest("hex"));
    equal(rows()[0].expires_ms, NOW + 12 * 3_600_000);
    // The id itself is nowhere in the database.
    equal(JSON.stringify(rows()).includes(id), false);
    const dashboard = await t.host.app.request("/", { headers: { cookie } });
    const page = await dashboard.text();
    ok(page.includes(`name="_csrf" value="${rows()[0].csrf}"`));

    // Logout (a form post with the CSRF token) deletes the row, and the cookie opens nothing.
    const logout = await t.host.app.request("/logout", {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ _csrf: rows()[0].csrf }),
    });
    equal(logout.status, 303);
    equal(rows().length, 0);
    const after = await t.host.app.request("/", { headers: { cookie } });
    equal(after.status, 303);
    equal(after.headers.get("location"), "/login");

    // Twelve hours on, a session ends; the next login prunes it.
    const old = cookieOf(await login());
    t.clock.advance(12 * 3_600_000 + 1);
    const expired = await t.host.app.request("/", { headers: { cookie: old } });
    equal(expired.status, 303);
    const stale = cookieOf(await login());
    t.clock.advance(12 * 3_600_000 + 1);
    await login();
    equal(rows().length, 1);
    equal(rows()[0].id_hash === sessionHash(stale.split("=")[1]), false);
  } finally {
    await t.close();
  }
});

Deno.test("a real restart of the host process keeps the operator logged in, CSRF token included", async () => {
  const dir = await Deno.makeTempDir({ prefix: "session-" });
  const env = {
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: ADMIN,
  };
  let host = await spawnHost(env);
  try {
    const login = await fetch(`${host.url}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN }),
      redirect: "manual",
    });
    await login.body?.cancel();
    const cookie = cookieOf(login);
    ok(cookie.startsWith("host_session="), cookie);
    const csrfOf = async () => {
      const response = await fetch(`${host.url}/`, { headers: { cookie }, redirect: "manual" });
      equal(response.status, 200, "the session did not open the dashboard");
      return /name="_csrf" value="([^"]+)"/.exec(await response.text())?.[1];
    };
    const csrf = await csrfOf();
    ok(csrf);

    await host.stop();
    host = await spawnHost(env);
    equal(await csrfOf(), csrf);
    // The form token still works after the restart: logging out ends the session for good.
    const logout = await fetch(`${host.url}/logout`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ _csrf: csrf }),
      redirect: "manual",
    });
    await logout.body?.cancel();
    equal(logout.status, 303);
    equal(logout.headers.get("location"), "/login");
    await host.stop();
    host = await spawnHost(env);
    const gone = await fetch(`${host.url}/`, { headers: { cookie }, redirect: "manual" });
    await gone.body?.cancel();
    equal(gone.status, 303);
    equal(gone.headers.get("location"), "/login");
  } finally {
    await host.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
