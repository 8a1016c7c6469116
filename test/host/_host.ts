/** Helpers for host tests: a built plugin folder, an in-process host, a webhook receiver. */
import { Webhook } from "standardwebhooks";
import { build } from "../../build.ts";
import { MimecastSimulator } from "../../fixtures/simulator/mod.ts";
import type { DeliveryPolicy } from "../../host/delivery.ts";
import { createHost, type Host } from "../../host/mod.ts";
import type { SandboxLimits } from "../../host/sandbox/mod.ts";
import { FakeClock } from "../_helpers.ts";

let built: Promise<string> | undefined;

/** Builds the plugin once per test process; returns the folder holding manifest.json and plugin.js. */
export function builtPlugin(): Promise<string> {
  built ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "mimecast-built-" });
    await build({ outDir: new URL(`file://${dir}/`) });
    return dir;
  })();
  return built;
}

/** Copies the built plugin into a plugins folder (bundle first, manifest last). */
export async function installPlugin(pluginsDir: string, name = "mimecast"): Promise<void> {
  const from = await builtPlugin();
  await Deno.mkdir(`${pluginsDir}/${name}`, { recursive: true });
  await Deno.copyFile(`${from}/plugin.js`, `${pluginsDir}/${name}/plugin.js`);
  await Deno.copyFile(`${from}/manifest.json`, `${pluginsDir}/${name}/manifest.json`);
}

/** One request the receiver got. */
export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  json: { type: string; integrationId: string; alerts: { id: string; [k: string]: unknown }[] };
}

/** A webhook receiver: answers from a script of statuses (then 200), verifying nothing itself. */
export class Receiver {
  received: Received[] = [];
  script: { status: number; headers?: Record<string, string>; body?: string }[] = [];
  /** Called as each request arrives, before it is answered. */
  onRequest?: () => void;
  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    this.onRequest?.();
    const request = new Request(input, init);
    const body = await request.text();
    const next = this.script.shift() ?? { status: 200 };
    if (next.status >= 200 && next.status < 300) {
      this.received.push({
        id: request.headers.get("webhook-id") ?? "",
        timestamp: request.headers.get("webhook-timestamp") ?? "",
        signature: request.headers.get("webhook-signature") ?? "",
        body,
        json: JSON.parse(body),
      });
    }
    return new Response(next.body ?? null, { status: next.status, headers: next.headers });
  };

  /** Every alert received, in order. */
  get alerts() {
    return this.received.flatMap((r) => r.json.alerts);
  }

  /** Verifies every received request with the reference Standard Webhooks library. */
  verifyAll(secret: string): void {
    const wh = new Webhook(secret);
    // The host signs on a fake clock; the library checks the timestamp against Date.now().
    const realNow = Date.now;
    try {
      for (const r of this.received) {
        Date.now = () => Number(r.timestamp) * 1000;
        wh.verify(r.body, {
          "webhook-id": r.id,
          "webhook-timestamp": r.timestamp,
          "webhook-signature": r.signature,
        });
      }
    } finally {
      Date.now = realNow;
    }
  }
}

export const SIM_ORIGIN = "http://127.0.0.1:9701";
/** Where the simulator's presigned SIEM download links point. */
export const SIM_FILES_ORIGIN = "http://127.0.0.1:9703";
export const HOOK_URL = "http://127.0.0.1:9702/hook";
export const WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
export const ADMIN = "test-admin-token-0123456789";
export const NOW = Date.UTC(2025, 2, 4, 12, 0, 0);

/** A host in a temp folder whose network is the simulator and the receiver, on a fake clock. */
export async function testHost(
  options: {
    install?: boolean;
    clock?: FakeClock;
    sim?: MimecastSimulator;
    delivery?: Partial<DeliveryPolicy>;
    /** Reopen this folder (a restart) instead of a new one; pass the same `masterKey`. */
    dir?: string;
    masterKey?: Uint8Array;
    sandboxLimits?: Partial<SandboxLimits>;
    /** HOST_MASTER_KEY_PREVIOUS: the key before a rotation. */
    previousMasterKey?: Uint8Array;
    secureCookies?: boolean;
    /** HOST_ALERT_RETENTION_DAYS. */
    alertRetentionDays?: number;
    /** HOST_ID. */
    hostId?: string;
    /** HOST_MAX_RUNS. */
    maxRuns?: number;
  } = {},
) {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "host-test-" });
  const pluginsDir = `${dir}/plugins`;
  const fresh = options.dir === undefined;
  if (fresh) await Deno.mkdir(pluginsDir);
  if (fresh && (options.install ?? true)) await installPlugin(pluginsDir);
  const masterKey = options.masterKey ?? crypto.getRandomValues(new Uint8Array(32));
  const clock = options.clock ?? new FakeClock(NOW);
  const sim = options.sim ??
    new MimecastSimulator({ now: clock.now, filesOrigin: SIM_FILES_ORIGIN });
  const receiver = new Receiver();
  const logLines: string[] = [];
  const net: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin === SIM_ORIGIN) return sim.fetch(input, init);
    if (url.origin === SIM_FILES_ORIGIN) return sim.fetch(input, init);
    if (url.origin === new URL(HOOK_URL).origin) return receiver.fetch(input, init);
    return Promise.reject(new TypeError(`test network: no route to ${url.origin}`));
  };
  const host: Host = createHost({
    dataDir: dir,
    pluginsDir,
    adminToken: ADMIN,
    masterKey,
    previousMasterKey: options.previousMasterKey,
    allowLoopback: true,
    secureCookies: options.secureCookies,
    alertRetentionDays: options.alertRetentionDays,
    hostId: options.hostId,
    maxRuns: options.maxRuns,
    clock,
    fetch: net,
    logWrite: (line) => logLines.push(line),
    delivery: options.delivery ?? { attempts: 3, timeoutMs: 2000 },
    scanIntervalMs: 50,
    tickMs: 60_000,
    sandboxLimits: options.sandboxLimits,
  });
  await host.start();
  const request = async (
    path: string,
    init: RequestInit & { json?: unknown } = {},
  ): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (!headers.has("Authorization")) headers.set("Authorization", `Bearer ${ADMIN}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(init.json);
    }
    return await host.app.request(path, { ...init, headers, body });
  };
  return {
    dir,
    pluginsDir,
    host,
    sim,
    clock,
    receiver,
    logLines,
    request,
    masterKey,
    /** Stops the host; removes its folder unless `keep` (to reopen it). */
    async close(options: { keep?: boolean } = {}) {
      await host.stop();
      if (!options.keep) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The body of a valid integration against the simulator. */
export function integrationBody(
  apiVersion: "2.0" | "1.0" = "2.0",
  extra: Record<string, unknown> = {},
) {
  const credentials = apiVersion === "2.0"
    ? { clientId: "sim-client-id", clientSecret: "sim-client-secret-value" }
    : {
      applicationId: "0f3b9f2a-3a4e-4b8f-9f52-1c2d3e4f5a6b",
      applicationKey: "8b2d7a5c-3f1e-4a6b-9c0d-1e2f3a4b5c6d",
      accessKey: "mYtOL3XZCOwG96BOiFTZRmN9Sx2tHfWw",
      secretKey: "dGhpcy1pcy1hLXRlc3Qtc2VjcmV0LWtleS0wMTIzNDU2Nzg5",
    };
  return {
    plugin: "mimecast",
    name: `Mimecast ${apiVersion}`,
    config: { apiVersion, baseUrl: SIM_ORIGIN, ...credentials, startFrom: "7d", ...extra },
    destination: { url: HOOK_URL, secret: WEBHOOK_SECRET },
  };
}

/** Waits for a run to end and returns it. */
export async function awaitRun(
  t: { host: Host; request: (p: string) => Promise<Response> },
  integrationId: string,
  runId: string,
) {
  await t.host.runner.settled(integrationId);
  return await (await t.request(`/api/runs/${runId}`)).json();
}
