/**
 * The host process: reads the settings, prepares the data folder (admin token, master key), and
 * serves the UI and API. All `Deno.*` process concerns live here.
 * @module
 */
import { createHost, describeDatabase, HostError, openStore } from "./mod.ts";
import { loadMasterKey, parseMasterKey } from "./secrets.ts";
import { readSettings, type Settings } from "./settings.ts";

/** The admin token: HOST_ADMIN_TOKEN, else `<dataDir>/admin.token` (generated once, mode 0600). */
async function adminToken(settings: Settings): Promise<{ token: string; generated: boolean }> {
  if (settings.adminToken) return { token: settings.adminToken, generated: false };
  const path = `${settings.dataDir}/admin.token`;
  try {
    return { token: (await Deno.readTextFile(path)).trim(), generated: false };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
  await Deno.writeTextFile(path, token + "\n", { mode: 0o600, createNew: true });
  return { token, generated: true };
}

if (import.meta.main) {
  let settings: Settings;
  try {
    settings = readSettings((name) => Deno.env.get(name));
  } catch (error) {
    console.error(`Cannot start: ${(error as Error).message}`);
    Deno.exit(2);
  }
  await Deno.mkdir(settings.dataDir, { recursive: true });
  await Deno.mkdir(settings.pluginsDir, { recursive: true });
  let masterKey: Uint8Array;
  let previousMasterKey: Uint8Array | undefined;
  try {
    masterKey = await loadMasterKey(settings.masterKey, settings.dataDir);
    previousMasterKey = settings.masterKeyPrevious
      ? parseMasterKey(settings.masterKeyPrevious, "HOST_MASTER_KEY_PREVIOUS")
      : undefined;
  } catch (error) {
    if (!(error instanceof HostError)) throw error;
    console.error(`Cannot start: ${error.message}${error.hint ? `\n  ${error.hint}` : ""}`);
    Deno.exit(2);
  }
  const { token, generated } = await adminToken(settings);
  let store;
  try {
    store = await openStore({ dataDir: settings.dataDir, databaseUrl: settings.databaseUrl });
  } catch (error) {
    console.error(`Cannot start: ${(error as Error).message}`);
    Deno.exit(2);
  }
  const host = createHost({
    store,
    hostId: settings.hostId,
    leaseSeconds: settings.leaseSeconds,
    maxRuns: settings.maxRuns,
    shared: settings.databaseUrl !== undefined,
    dataDir: settings.dataDir,
    pluginsDir: settings.pluginsDir,
    adminToken: token,
    masterKey,
    previousMasterKey,
    allowLoopback: settings.allowLoopback,
    secureCookies: settings.secureCookies,
    alertRetentionDays: settings.alertRetentionDays,
  });
  await host.start();
  const shutdown = new AbortController();
  const server = Deno.serve({
    hostname: settings.hostname,
    port: settings.port,
    signal: shutdown.signal,
    onListen: ({ hostname, port }) => {
      const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
      const lines = [
        `Mimecast alerts host listening on ${url}`,
        settings.databaseUrl
          ? `  database: PostgreSQL ${
            describeDatabase(settings.databaseUrl)
          }, shared by every host on it (leases of ${settings.leaseSeconds} s)`
          : `  data folder: ${settings.dataDir} (SQLite, WAL)`,
        `  host id: ${settings.hostId}`,
        `  plugins folder: ${settings.pluginsDir}, installed: ${
          host.registry.list().map((p) => `${p.manifest.id} ${p.manifest.version}`).join(", ") ||
          "none yet"
        }`,
        generated
          ? `  admin token (shown once; also in ${settings.dataDir}/admin.token): ${token}`
          : `  admin token: ${
            settings.adminToken ? "from HOST_ADMIN_TOKEN" : `in ${settings.dataDir}/admin.token`
          }`,
        `  try: curl -H "Authorization: Bearer <token>" ${url}/api/plugins`,
      ];
      console.log(lines.join("\n"));
    },
  }, host.app.fetch);
  const stop = async () => {
    await host.stop();
    shutdown.abort();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  Deno.exit(0);
}
