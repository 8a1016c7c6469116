/**
 * The connection check of the `rejections` log type (SPEC §3.8): one call to the SIEM stream.
 * A permission refusal names the permission of the API version; a stream with no MTA file at all
 * means Enhanced Logging is off.
 * @module
 */
import type { CheckResult } from "../../host/types.ts";
import type { MimecastClient } from "../client.ts";
import { MimecastError } from "../errors.ts";
import { ENHANCED_LOGGING_HINT, withSiemHint } from "./hints.ts";

/** Whether the SIEM stream answers, and has files, for this account. */
export async function checkRejections(
  client: MimecastClient,
  apiVersion: "1.0" | "2.0",
  now: number,
): Promise<CheckResult> {
  try {
    const hasFiles = apiVersion === "1.0" ? await anyFileV1(client) : await anyFileV2(client, now);
    if (hasFiles) return { logType: "rejections", ok: true };
    return {
      logType: "rejections",
      ok: false,
      error: "Mimecast has no MTA (SIEM) log file for this account",
      hint: ENHANCED_LOGGING_HINT,
    };
  } catch (error) {
    const e = withSiemHint(error, apiVersion);
    if (!(e instanceof MimecastError)) throw e;
    return { logType: "rejections", ok: false, error: e.message, hint: e.hint };
  }
}

/** API 1.0: the oldest file is there (its body is not read), or the stream ends at once. */
async function anyFileV1(client: MimecastClient): Promise<boolean> {
  const path = "/api/audit/get-siem-logs";
  const response = await client.open(path, {
    method: "POST",
    body: { data: [{ type: "MTA", fileFormat: "json", compress: true }] },
    accept: "*/*",
  });
  if (!(response.headers.get("content-type") ?? "").includes("json")) {
    await response.body?.cancel();
    return true;
  }
  await client.json(path, response); // the end of the stream, or the error its fail[] says
  return false;
}

/** API 2.0: one receipt file listed over the last day. */
async function anyFileV2(client: MimecastClient, now: number): Promise<boolean> {
  const path = "/siem/v1/batch/events/cg";
  const query = new URLSearchParams({
    type: "receipt",
    dateRangeStartsAt: new Date(now - 86_400_000).toISOString().slice(0, 10),
    pageSize: "1",
  });
  const response = await client.open(path, { method: "GET", query: query.toString() });
  const body = await client.json(path, response);
  return Array.isArray(body.value) && body.value.length > 0;
}
