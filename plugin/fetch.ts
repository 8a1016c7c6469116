/**
 * The plugin's `fetch` (SPEC §3.2, §3.6): the configured log types fetched concurrently, and per
 * TTP log type two closed windows, oldest first, pages of 100 with the filters frozen, until
 * `next` is absent or a page is empty:
 *
 * 1. the *live* window `[live, now - lag]`, for on-time records at their usual latency;
 * 2. the *settling* window `[settled, min(live at start, now - H)]` (H = `lateArrivalMinutes`):
 *    the part of the past that has just become older than H is read once more, so a record that
 *    appeared late, up to H after its own date, is caught wherever its date fell. The host drops
 *    the records it already stored by alert id.
 *
 * A window read when it was already older than H is final, so a backlog is read once; only the
 * last H of live reading is read twice. Each page comes with the checkpoint that is true once its
 * records are stored. A preview stops after the first page of each log type. The `rejections`
 * log type reads Mimecast's SIEM files instead (./siem/mod.ts). A backfill (`ctx.window`) reads
 * one past span instead, and leaves the cursors alone (./window.ts).
 * @module
 */
import type { Page, PluginContext, SkippedSpan } from "../host/types.ts";
import { type Authenticator, hmacAuthenticator, tokenAuthenticator } from "./auth.ts";
import { MimecastClient, type RetryPolicy } from "./client.ts";
import {
  type Config,
  durationMs,
  RETENTION_MARGIN_MS,
  RETENTION_MS,
  type TtpLogType,
} from "./config.ts";
import { type Checkpoint, type Cursor, CursorTracker, readCheckpoint, toSecond } from "./cursor.ts";
import { formatIsoSecond, parseMimecastDate } from "./dates.ts";
import { paginate, windowFilters } from "./paginate.ts";
import { LOG_KINDS, type MimecastRecord, recordTime } from "./records.ts";
import { rejectionPages } from "./siem/mod.ts";
import { interleave } from "./streams.ts";
import { liveWindow } from "./subwindows.ts";
import { windowPages } from "./window.ts";

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
    maxInFlight: config.concurrentCalls,
  });
}

/** The fixed points of one run, in epoch ms floored to the second. */
interface RunTimes {
  now: number;
  /** End of the live window: now - lag. */
  to: number;
  /** Records dated up to here have all appeared by now: now - H. */
  finalAt: number;
  /** Where a log type that never ran starts. */
  first: number;
}

/**
 * Yields pages of every configured log type, the log types fetched concurrently, each page with
 * the checkpoint that is true once it and every page before it are stored.
 */
export async function* fetchPages(
  ctx: FetchContext,
  client: MimecastClient = createClient(ctx),
): AsyncGenerator<Page<MimecastRecord, Checkpoint>> {
  if (ctx.window) return yield* windowPages(ctx, client, ctx.window);
  const checkpoint = readCheckpoint(ctx.checkpoint);
  const now = ctx.clock.now();
  const times: RunTimes = {
    now,
    to: toSecond(now - ctx.config.lagSeconds * 1000),
    finalAt: toSecond(now - ctx.config.lateArrivalMinutes * 60_000),
    first: toSecond(now - durationMs(ctx.config.startFrom)),
  };
  // Each log type its own stream, fetched concurrently (./streams.ts).
  yield* interleave(
    structuredClone(checkpoint),
    ctx.config.logTypes.map((logType) => [
      logType,
      logType === "rejections"
        ? rejectionPages(ctx, client, checkpoint)
        : logTypePages(ctx, client, checkpoint, logType, times),
    ]),
  );
}

async function* logTypePages(
  ctx: FetchContext,
  client: MimecastClient,
  checkpoint: Checkpoint,
  logType: TtpLogType,
  times: RunTimes,
): AsyncGenerator<Page<MimecastRecord, Checkpoint>> {
  const first = formatIsoSecond(times.first);
  const { cursor: start, skipped } = withinRetention(
    checkpoint.cursors[logType] ?? { time: first, keys: [], settled: first },
    logType,
    times.now,
  );
  const kind = LOG_KINDS[logType];
  const liveStart = parseMimecastDate(start.time);
  const live = new CursorTracker(start);
  let liveCursor = live.toJSON();
  let settled = parseMimecastDate(start.settled);
  let liveListed = liveStart;
  let pages = 0;
  let cut = false;
  const page = (records: MimecastRecord[], progress?: string) => {
    checkpoint.cursors[logType] = { ...liveCursor, settled: formatIsoSecond(settled) };
    const out: Page<MimecastRecord, Checkpoint> = {
      records,
      checkpoint: structuredClone(checkpoint),
    };
    if (progress !== undefined) out.progress = { [logType]: progress };
    if (pages === 1 && skipped.length > 0) out.skipped = skipped;
    return out;
  };

  // 1. The live window, a backlog of it in sub-windows read side by side (./subwindows.ts).
  // While `settled` has caught up with `live`, whatever this pass lists that is already older
  // than H is final, and `settled` follows it: a backlog is read once.
  if (liveStart < times.to) {
    const caughtUp = settled >= liveStart;
    const parts = ctx.preview ? 1 : ctx.config.concurrentCalls;
    const maxPages = ctx.config.maxPagesPerRun;
    let listedAll = false;
    for await (const step of liveWindow(client, logType, { live, to: times.to, parts, maxPages })) {
      pages++;
      liveCursor = step.cursor;
      liveListed = step.listed;
      listedAll = step.done;
      if (caughtUp) settled = Math.max(settled, Math.min(liveListed, times.finalAt));
      yield page(step.records, formatIsoSecond(liveListed));
      if (ctx.preview) return;
    }
    // Not listed to its end: the run asked for the most pages it may (./subwindows.ts).
    cut = !listedAll;
  }

  // 2. The settling window: read once more now that it is older than H. Records already
  // delivered come back with the same alert ids and the host does not deliver them again.
  const settleEnd = Math.min(liveStart, times.finalAt);
  if (!cut && !ctx.preview && settled < settleEnd) {
    const filters = windowFilters(logType, settled, settleEnd);
    for await (const { logs, done } of paginate(client, kind.path, kind.array, filters)) {
      pages++;
      const records: MimecastRecord[] = [];
      let newest = settled;
      for (const data of logs) {
        const time = recordTime(logType, data);
        if (time <= settleEnd) newest = Math.max(newest, toSecond(time));
        records.push({ logType, data });
      }
      settled = done ? settleEnd : newest;
      // The live window was listed after this run began, so what of it is older than H is
      // final too once everything before it is.
      if (done && liveStart <= times.finalAt) {
        settled = Math.max(settled, Math.min(liveListed, times.finalAt));
      }
      yield page(records);
      if (!done && pages >= ctx.config.maxPagesPerRun) {
        cut = true;
        break;
      }
    }
  }
  if (cut) {
    ctx.logger.warn("Read the most pages a run may read; the next run continues from here", {
      logType,
      maxPagesPerRun: ctx.config.maxPagesPerRun,
    });
  }
  // A log type with nothing to read still records a moved cursor (retention) in a page.
  if (pages === 0 && skipped.length > 0) {
    pages = 1;
    yield page([]);
  }
}

/**
 * Moves a cursor that fell out of Mimecast's retention (an integration paused for longer than
 * 30 days) to the oldest time Mimecast still serves, and says which span could not be read.
 */
function withinRetention(
  cursor: Cursor,
  logType: TtpLogType,
  now: number,
): { cursor: Cursor; skipped: SkippedSpan[] } {
  const oldest = now - RETENTION_MS;
  const settled = parseMimecastDate(cursor.settled);
  if (settled >= oldest) return { cursor, skipped: [] };
  const resume = toSecond(oldest + RETENTION_MARGIN_MS);
  const live = parseMimecastDate(cursor.time);
  const neverRead = live < resume;
  const skipped: SkippedSpan = {
    stream: logType,
    from: formatIsoSecond(settled),
    to: formatIsoSecond(resume),
    reason: neverRead
      ? "Mimecast keeps TTP logs 30 days and this log type was last read longer ago: records dated in this span were not read"
      : "Mimecast keeps TTP logs 30 days and this log type was last read longer ago: records that arrived late in this span were not read again",
  };
  return {
    cursor: neverRead
      ? { time: formatIsoSecond(resume), keys: [], settled: formatIsoSecond(resume) }
      : { ...cursor, settled: formatIsoSecond(resume) },
    skipped: [skipped],
  };
}
