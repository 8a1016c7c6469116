/** Helpers for the SIEM simulator tests: a simulator on a settable clock, signed calls, unzip. */
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import { strFromU8, unzipSync } from "fflate";
import {
  MimecastSimulator,
  SIM_CLIENT,
  SIM_KEYS,
  type SimulatorOptions,
} from "../../fixtures/simulator/mod.ts";

export const NOW = Date.UTC(2025, 2, 4, 12, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const API = "http://127.0.0.1:9701";
export const FILES = "http://127.0.0.1:9703";
export const V1_PATH = "/api/audit/get-siem-logs";

/** A simulator whose clock the test moves (`t.now = ...`). */
export function setup(options: SimulatorOptions = {}) {
  const t = {
    now: NOW,
    sim: undefined as unknown as MimecastSimulator,
  };
  t.sim = new MimecastSimulator({ now: () => t.now, filesOrigin: FILES, ...options });
  return t;
}

/** API 1.0 headers signed over `date:reqId:path:appKey` (research §1.1). */
export function signed(path = V1_PATH): Record<string, string> {
  const date = new Date(NOW).toUTCString();
  const reqId = crypto.randomUUID();
  const signature = createHmac("sha1", Buffer.from(SIM_KEYS.secretKey, "base64"))
    .update(`${date}:${reqId}:${path}:${SIM_KEYS.applicationKey}`, "utf8").digest("base64");
  return {
    Authorization: `MC ${SIM_KEYS.accessKey}:${signature}`,
    "x-mc-app-id": SIM_KEYS.applicationId,
    "x-mc-date": date,
    "x-mc-req-id": reqId,
    "Content-Type": "application/json",
  };
}

/** One signed API 1.0 SIEM call. */
export function getSiemLogs(
  sim: MimecastSimulator,
  item: Record<string, unknown> = {},
): Promise<Response> {
  return sim.fetch(`${API}${V1_PATH}`, {
    method: "POST",
    headers: signed(),
    body: JSON.stringify({
      data: [{ type: "MTA", fileFormat: "json", compress: true, ...item }],
    }),
  });
}

/** A zip's members as text. */
export function unzipText(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, data] of Object.entries(unzipSync(bytes))) out[name] = strFromU8(data);
  return out;
}

/** An API 2.0 bearer token. */
export async function bearer(sim: MimecastSimulator): Promise<string> {
  const response = await sim.fetch(`${API}/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({
      client_id: SIM_CLIENT.clientId,
      client_secret: SIM_CLIENT.clientSecret,
      grant_type: "client_credentials",
    }),
  });
  return (await response.json()).access_token;
}

/** One API 2.0 batch listing call with these query parameters. */
export function listBatches(
  sim: MimecastSimulator,
  token: string | undefined,
  params: Record<string, string>,
): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return sim.fetch(`${API}/siem/v1/batch/events/cg?${new URLSearchParams(params)}`, { headers });
}

/** `YYYY-MM-DD` of an epoch ms. */
export function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
