/**
 * The plugin's `check`: one small query per log type, so the operator learns which credentials
 * and permissions work (the service user's role on API 1.0, the API application's role on 2.0),
 * with a hint for what does not (SPEC §3.7).
 * @module
 */
import type { CheckResult } from "../host/types.ts";
import { formatMimecastDate } from "./dates.ts";
import { MimecastError } from "./errors.ts";
import { createClient, type FetchContext } from "./fetch.ts";
import { LOG_KINDS } from "./records.ts";
import { checkRejections } from "./siem/check.ts";

/**
 * Checks each configured log type: a one-record query over the last hour for the TTP logs, one
 * call to the SIEM stream for rejections.
 */
export async function check(ctx: FetchContext): Promise<CheckResult[]> {
  const client = createClient({ ...ctx, retry: { attempts: 2, rateLimitWaits: 1, ...ctx.retry } });
  const now = ctx.clock.now();
  const results: CheckResult[] = [];
  for (const logType of ctx.config.logTypes) {
    if (logType === "rejections") {
      results.push(await checkRejections(client, ctx.config.apiVersion, now));
      continue;
    }
    const filters = {
      from: formatMimecastDate(now - 3_600_000),
      to: formatMimecastDate(now),
      oldestFirst: true,
    };
    try {
      await client.post(LOG_KINDS[logType].path, {
        meta: { pagination: { pageSize: 1 } },
        data: [filters],
      });
      results.push({ logType, ok: true });
    } catch (error) {
      if (!(error instanceof MimecastError)) throw error;
      results.push({ logType, ok: false, error: error.message, hint: error.hint });
    }
  }
  return results;
}
