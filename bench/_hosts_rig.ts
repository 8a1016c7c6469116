/** The hosts of bench/hosts.ts: spawning them with their settings, and calling their API. */
import { SIM_CLIENT } from "../fixtures/simulator/mod.ts";
import type { TestPostgres } from "../test/_postgres.ts";
import { type Listening, spawnListening } from "./_procs.ts";

const TOKEN = "hosts-bench-admin-token-0123456789";
const MASTER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/** The V8 flags `deno task start` runs the host with. */
export async function startFlags(): Promise<string[]> {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).tasks;
  return /--v8-flags=\S+/.exec(tasks.start)?.slice(0, 1) ?? [];
}

/** One API call with the admin token; throws on any status but 2xx. */
export async function call(
  base: string,
  path: string,
  init: { method?: string; json?: unknown } = {},
) {
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? "GET",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Polls until `check` holds, or throws after `ms`: every wait here is bounded. */
export async function until(check: () => Promise<boolean> | boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What every measurement shares; the main block's `finally` removes it. */
export interface Rig {
  pg?: TestPostgres;
  dir: string;
  pluginDir: URL;
  flags: string[];
}

/**
 * Starts `count` hosts (h1, h2, ...) on one database (SQLite when no URL) and waits for the plugin.
 * Each gets a fresh data folder unless `dataDir` names one (a host restarted over its database).
 */
export async function spawnHosts(
  rig: Rig,
  count: number,
  databaseUrl: string | undefined,
  dataDir?: string,
) {
  const hosts: Listening[] = [];
  for (let i = 1; i <= count; i++) {
    hosts.push(
      await spawnListening(["run", "-A", ...rig.flags, "host/main.ts"], {
        HOST_PORT: "0",
        HOST_ID: `h${i}`,
        HOST_DATA_DIR: dataDir ?? `${rig.dir}/h${i}-${crypto.randomUUID()}`,
        HOST_PLUGINS_DIR: `${rig.dir}/plugins`,
        HOST_ADMIN_TOKEN: TOKEN,
        HOST_MASTER_KEY: MASTER_KEY,
        HOST_ALLOW_LOOPBACK: "1",
        ...(databaseUrl ? { HOST_DATABASE_URL: databaseUrl } : {}),
      }),
    );
  }
  for (const h of hosts) {
    await until(async () => (await call(h.url, "/api/plugins")).length === 1, 30_000, "plugin");
  }
  return hosts;
}

/** A Mimecast integration against the simulator, delivering to the sink. */
export function integrationBody(name: string, simUrl: string, sinkUrl: string, schedule: unknown) {
  return {
    plugin: "mimecast",
    name,
    config: { baseUrl: simUrl, ...SIM_CLIENT, startFrom: "7d" },
    destination: { url: sinkUrl },
    schedule,
  };
}
