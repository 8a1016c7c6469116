/**
 * The host process (`host/main.ts`) as an operator starts it: settings from the environment, the
 * data folder prepared, the master key's life (SPEC §5.4, §5.6).
 */
import { equal, ok } from "node:assert/strict";
import { spawnHost } from "./_process.ts";

const TOKEN = "main-admin-token-0123456789abcdef";

Deno.test("HOST_SECURE_COOKIES=1: a real login over http gets a Secure session cookie", async () => {
  const dir = await Deno.makeTempDir({ prefix: "main-" });
  const host = await spawnHost({
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
    HOST_ADMIN_TOKEN: TOKEN,
    HOST_SECURE_COOKIES: "1",
  });
  try {
    const response = await fetch(`${host.url}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: TOKEN }),
      redirect: "manual",
    });
    await response.body?.cancel();
    equal(response.status, 303);
    const attributes = (response.headers.get("set-cookie") ?? "").split(";").map((a) =>
      a.trim().toLowerCase()
    );
    ok(attributes[0].startsWith("host_session="), attributes.join("; "));
    ok(attributes.includes("secure"), attributes.join("; "));
  } finally {
    await host.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
