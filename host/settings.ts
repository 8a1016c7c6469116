/**
 * The host's settings (SPEC §5.6), read from the environment, each checked with a message that
 * names the variable and what to do.
 * @module
 */
import { hostname as machineName } from "node:os";
import { HostError } from "./errors.ts";

/** Settings as the host uses them. */
export interface Settings {
  port: number;
  hostname: string;
  dataDir: string;
  pluginsDir: string;
  adminToken?: string;
  masterKey?: string;
  /** The master key before a rotation: secrets sealed under it are sealed again at start. */
  masterKeyPrevious?: string;
  allowLoopback: boolean;
  /** Session cookies marked `Secure`, for a host behind a TLS-terminating proxy. */
  secureCookies: boolean;
  /** Days stored alerts are kept for `GET /api/alerts`. */
  alertRetentionDays: number;
  /** This host's name in the runs it records (SPEC §5.7): HOST_ID, else machine name and port. */
  hostId: string;
  /** A PostgreSQL URL shared by several hosts (SPEC §5.7); unset: SQLite in the data folder. */
  databaseUrl?: string;
  /** How long a host's hold on an integration lasts without renewal (HOST_LEASE_SECONDS). */
  leaseSeconds: number;
  /** The most scheduled runs this host has going at once (HOST_MAX_RUNS). */
  maxRuns: number;
}

/** A yes/no variable: `1`/`true` or `0`/`false`/empty; anything else is refused by name. */
function flag(env: (name: string) => string | undefined, name: string): boolean {
  const value = env(name) ?? "0";
  if (!["0", "1", "", "true", "false"].includes(value)) {
    throw new HostError("CONFIG_INVALID", `${name} must be 1 or 0, not "${value}"`);
  }
  return value === "1" || value === "true";
}

/** Reads settings from an environment lookup; `machine` names the machine (tests pass one). */
export function readSettings(
  env: (name: string) => string | undefined,
  machine: () => string = machineName,
): Settings {
  const port = Number(env("HOST_PORT") ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new HostError(
      "CONFIG_INVALID",
      `HOST_PORT must be a port number (0-65535), not "${env("HOST_PORT")}"`,
    );
  }
  const allowLoopback = flag(env, "HOST_ALLOW_LOOPBACK");
  const secureCookies = flag(env, "HOST_SECURE_COOKIES");
  const retention = env("HOST_ALERT_RETENTION_DAYS") || "30";
  if (!/^(0|[1-9][0-9]{0,4})$/.test(retention)) {
    throw new HostError(
      "CONFIG_INVALID",
      `HOST_ALERT_RETENTION_DAYS must be a whole number of days (0-99999; 0 keeps none), not "${retention}"`,
    );
  }
  const token = env("HOST_ADMIN_TOKEN");
  if (token !== undefined && token !== "" && token.length < 16) {
    throw new HostError(
      "CONFIG_INVALID",
      "HOST_ADMIN_TOKEN must be at least 16 characters; leave it unset to have one generated",
    );
  }
  const databaseUrl = env("HOST_DATABASE_URL") || undefined;
  if (databaseUrl) {
    // Several hosts share the database: each must open the others' secrets and accept the same
    // token, so neither may be generated per host.
    const missing = [
      env("HOST_MASTER_KEY") ? undefined : "HOST_MASTER_KEY",
      token ? undefined : "HOST_ADMIN_TOKEN",
    ].filter(Boolean);
    if (missing.length > 0) {
      throw new HostError(
        "CONFIG_INVALID",
        `With HOST_DATABASE_URL (several hosts on one PostgreSQL), ${
          missing.join(" and ")
        } must be set, the same on every host; a per-host generated one would not open the others' secrets or accept their logins`,
      );
    }
  }
  const lease = env("HOST_LEASE_SECONDS") || "30";
  if (!/^\d{1,4}$/.test(lease) || Number(lease) < 5) {
    throw new HostError(
      "CONFIG_INVALID",
      `HOST_LEASE_SECONDS must be a whole number of seconds from 5 to 9999, not "${lease}"`,
    );
  }
  const maxRuns = env("HOST_MAX_RUNS") || "8";
  if (!/^\d{1,3}$/.test(maxRuns) || Number(maxRuns) < 1 || Number(maxRuns) > 256) {
    throw new HostError(
      "CONFIG_INVALID",
      `HOST_MAX_RUNS must be a whole number of runs from 1 to 256, not "${maxRuns}"`,
    );
  }
  return {
    port,
    hostname: env("HOST_HOSTNAME") || "127.0.0.1",
    dataDir: (env("HOST_DATA_DIR") || "./data").replace(/\/$/, ""),
    pluginsDir: (env("HOST_PLUGINS_DIR") || "./plugins").replace(/\/$/, ""),
    adminToken: token || undefined,
    masterKey: env("HOST_MASTER_KEY") || undefined,
    masterKeyPrevious: env("HOST_MASTER_KEY_PREVIOUS") || undefined,
    allowLoopback,
    secureCookies,
    alertRetentionDays: Number(retention),
    hostId: env("HOST_ID")?.trim() || `${machine()}:${port}`,
    databaseUrl,
    leaseSeconds: Number(lease),
    maxRuns: Number(maxRuns),
  };
}
