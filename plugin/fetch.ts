/**
 * The plugin's `fetch`: for each configured log type, one closed window `[cursor, now - lag]`,
 * oldest first, pages of 100 with the filters frozen, until `next` is absent or a page is empty.
 * Each page comes with the checkpoint that is true once its records are stored. A preview stops
 * after the first page of each log type.
 * @module
 */
import type { Page, PluginContext } from "../host/types.ts";
import { type Authenticator, hmacAuthenticator, tokenAuthenticator } from "./auth.ts";
import { MimecastClient, type RetryPolicy } from "./client.ts";
import { type Config, durationMs, type LogType } from "./config.ts";
import { type Checkpoint, CursorTracker, readCheckpoint } from "./cursor.ts";
import { formatIsoSecond, formatMimecastDate } from "./dates.ts";
import { MimecastError } from "./errors.ts";
import { LOG_KINDS, type MimecastRecord, recordKey, recordTime } from "./records.ts";

/** Records per page: Mimecast documents 1 to 100. */
export const PAGE_SIZE = 100;

/**
 * Once a window is listed to its end, the cursor may move up to this long before the window's end
 * even when no record came, so a quiet log type does not query an ever-growing window. Records
 * written more than this late are not fetched.
 */
export const SETTLE_MS = 3_600_000;

/** Filters that ask for everything: the API's own defaults may narrow results. */
const EVERYTHING: Record<LogType, Record<string, unknown>> = {
  url: { scanResult: "all", route: "all" },
  attachment: { result: "all", route: "all" },
  impersonation: {},
};

/** The plugin context plus test seams for the retry policy. */
export type FetchContext = PluginContext<Config, Checkpoint> & { retry?: Partial<RetryPolicy> };

/** Builds the authenticator and the shared client for a run. */
export function createClient(ctx: FetchContext): MimecastClient {
  const { config } = ctx;
  const auth: Authenticator = config.apiVersion === "1.0"
    ? hmacAuthenticator(config, ctx.clock)
    : tokenAuthenticator(config, { fetch: ctx.fetch, clock: ctx.clock, signal: ctx.signal });
  return new MimecastClient({
    baseUrl: config.baseUrl,
    apiVersion: config.apiVersion,
    auth,
    fetch: ctx.fetch,
    clock: ctx.clock,
    logger: ctx.logger,
    signal: ctx.signal,
    retry: ctx.retry,
  });
}

/** The body of one page request; `data[0]` is the same object for every page of a window. */
export function pageRequest(filters: Record<string, unknown>, pageToken?: string) {
  const pagination: Record<string, unknown> = { pageSize: PAGE_SIZE };
  if (pageToken) pagination.pageToken = pageToken;
  return { meta: { pagination }, data: [filters] };
}

/** Yields pages of every configured log type, in order, each with its checkpoint. */
export async function* fetchPages(
  ctx: FetchContext,
  client: MimecastClient = createClient(ctx),
): AsyncGenerator<Page<MimecastRecord, Checkpoint>> {
  const checkpoint = readCheckpoint(ctx.checkpoint);
  const now = ctx.clock.now();
  const to = now - ctx.config.lagSeconds * 1000;
  const firstFrom = now - durationMs(ctx.config.startFrom);
  for (const logType of ctx.config.logTypes) {
    const cursor = new CursorTracker(
      checkpoint.cursors[logType] ?? { time: formatIsoSecond(firstFrom), keys: [] },
    );
    if (cursor.timeMs >= to) continue;
    const filters = Object.freeze({
      from: formatMimecastDate(cursor.timeMs),
      to: formatMimecastDate(to),
      oldestFirst: true,
      ...EVERYTHING[logType],
    });
    const kind = LOG_KINDS[logType];
    let pageToken: string | undefined;
    for (;;) {
      const envelope = await client.post(kind.path, pageRequest(filters, pageToken));
      const logs = logsOf(envelope.data, kind.array, kind.path);
      const records: MimecastRecord[] = [];
      for (const data of logs) {
        const record = (typeof data === "object" && data !== null && !Array.isArray(data)
          ? data
          : { value: data }) as Record<string, unknown>;
        if (cursor.observe(recordTime(logType, record), recordKey(logType, record))) {
          records.push({ logType, data: record });
        }
      }
      const next = envelope.meta?.pagination?.next;
      const done = typeof next !== "string" || next === "" || logs.length === 0;
      if (done) cursor.settle(to - SETTLE_MS);
      checkpoint.cursors[logType] = cursor.toJSON();
      // Listed up to the window's end once it is done; up to the cursor's second until then.
      const progress = { [logType]: formatIsoSecond(done ? to : cursor.timeMs) };
      yield { records, checkpoint: structuredClone(checkpoint), progress };
      if (done || ctx.preview) break;
      pageToken = next;
    }
  }
}

function logsOf(
  data: Record<string, unknown>[] | undefined,
  array: string,
  path: string,
): unknown[] {
  if (!data || data.length === 0) return [];
  const logs = data[0]?.[array];
  if (logs === undefined) return [];
  if (!Array.isArray(logs)) {
    throw new MimecastError(
      "BAD_RESPONSE",
      `Cannot read ${path}: data[0].${array} is not an array`,
      {
        retryable: true,
      },
    );
  }
  return logs;
}
