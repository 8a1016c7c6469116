import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { HostError } from "../../host/errors.ts";
import { readSettings } from "../../host/settings.ts";

Deno.test("readSettings() applies the documented defaults", () => {
  deepStrictEqual(readSettings(() => undefined, () => "myhost"), {
    port: 8080,
    hostname: "127.0.0.1",
    dataDir: "./data",
    pluginsDir: "./plugins",
    adminToken: undefined,
    masterKey: undefined,
    masterKeyPrevious: undefined,
    allowLoopback: false,
    secureCookies: false,
    alertRetentionDays: 30,
    hostId: "myhost:8080",
    databaseUrl: undefined,
    leaseSeconds: 30,
    maxRuns: 8,
  });
});

Deno.test("readSettings() takes HOST_ID as given, else the machine's name and the port", () => {
  const env: Record<string, string> = { HOST_PORT: "9001" };
  deepStrictEqual(readSettings((n) => env[n], () => "box").hostId, "box:9001");
  env.HOST_ID = " eu-host-2 ";
  deepStrictEqual(readSettings((n) => env[n], () => "box").hostId, "eu-host-2");
  env.HOST_DATABASE_URL = "postgres://db.example/host";
  // Several hosts: the master key and the admin token must be given, the same on each.
  throws(
    () => readSettings((n) => env[n]),
    (e: Error) =>
      e instanceof HostError && /HOST_MASTER_KEY and HOST_ADMIN_TOKEN must be set/.test(e.message),
  );
  env.HOST_MASTER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  throws(
    () => readSettings((n) => env[n]),
    (e: Error) => e instanceof HostError && /HOST_ADMIN_TOKEN must be set/.test(e.message),
  );
  env.HOST_ADMIN_TOKEN = "a-long-enough-admin-token";
  deepStrictEqual(readSettings((n) => env[n]).databaseUrl, "postgres://db.example/host");
  env.HOST_LEASE_SECONDS = "3";
  throws(() => readSettings((n) => env[n]), /HOST_LEASE_SECONDS must be a whole number/);
  env.HOST_LEASE_SECONDS = "12";
  deepStrictEqual(readSettings((n) => env[n]).leaseSeconds, 12);
});

Deno.test("readSettings() reads HOST_MAX_RUNS, 8 by default, and refuses what is not 1 to 256", () => {
  deepStrictEqual(readSettings(() => undefined).maxRuns, 8);
  deepStrictEqual(readSettings((n) => n === "HOST_MAX_RUNS" ? "32" : undefined).maxRuns, 32);
  for (const value of ["0", "257", "-1", "4.5", "many"]) {
    throws(
      () => readSettings((n) => n === "HOST_MAX_RUNS" ? value : undefined),
      (e: HostError) =>
        e.code === "CONFIG_INVALID" && /HOST_MAX_RUNS must be a whole number/.test(e.message),
    );
  }
});

Deno.test("readSettings() reads every variable and refuses bad values by name", () => {
  const env: Record<string, string> = {
    HOST_PORT: "9000",
    HOST_HOSTNAME: "0.0.0.0",
    HOST_DATA_DIR: "/var/lib/host/",
    HOST_PLUGINS_DIR: "/etc/host/plugins",
    HOST_ADMIN_TOKEN: "a-long-enough-admin-token",
    HOST_MASTER_KEY: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    HOST_MASTER_KEY_PREVIOUS: "HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4",
    HOST_ALLOW_LOOPBACK: "1",
    HOST_SECURE_COOKIES: "1",
    HOST_ALERT_RETENTION_DAYS: "7",
  };
  const s = readSettings((n) => env[n]);
  deepStrictEqual(
    [
      s.port,
      s.hostname,
      s.dataDir,
      s.pluginsDir,
      s.allowLoopback,
      s.secureCookies,
      s.alertRetentionDays,
    ],
    [9000, "0.0.0.0", "/var/lib/host", "/etc/host/plugins", true, true, 7],
  );
  deepStrictEqual(
    [s.masterKey, s.masterKeyPrevious],
    [env.HOST_MASTER_KEY, env.HOST_MASTER_KEY_PREVIOUS],
  );
  // 0: the host keeps no alerts for operators (delivery is unchanged).
  equal(
    readSettings((n) => ({ HOST_ALERT_RETENTION_DAYS: "0" } as Record<string, string>)[n])
      .alertRetentionDays,
    0,
  );
  throws(
    () => readSettings((n) => ({ HOST_PORT: "http" } as Record<string, string>)[n]),
    (e: HostError) => /HOST_PORT/.test(e.message),
  );
  throws(
    () => readSettings((n) => ({ HOST_ALLOW_LOOPBACK: "yes" } as Record<string, string>)[n]),
    (e: HostError) => /HOST_ALLOW_LOOPBACK/.test(e.message),
  );
  throws(
    () => readSettings((n) => ({ HOST_SECURE_COOKIES: "on" } as Record<string, string>)[n]),
    (e: HostError) => /HOST_SECURE_COOKIES must be 1 or 0/.test(e.message),
  );
  for (const days of ["-1", "1.5", "a month", "007"]) {
    throws(
      () => readSettings((n) => ({ HOST_ALERT_RETENTION_DAYS: days } as Record<string, string>)[n]),
      (e: HostError) => /HOST_ALERT_RETENTION_DAYS must be a whole number of days/.test(e.message),
    );
  }
  throws(
    () => readSettings((n) => ({ HOST_ADMIN_TOKEN: "short" } as Record<string, string>)[n]),
    (e: HostError) => /HOST_ADMIN_TOKEN/.test(e.message),
  );
});
