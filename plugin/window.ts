/**
 * A backfill's read (SPEC §5.3): when the host hands `ctx.window`, each named TTP log type is
 * read once over `[from, to]`, oldest first, with the filters frozen, and the read ends at `to`;
 * a span of many pages is read in sub-windows side by side, as a live backlog is.
 * A span in the past was already older than the late-arrival window when it is read, so it needs
 * no second pass. The live cursors are neither read nor written: every page carries an empty
 * checkpoint, which the host does not keep. `rejections` cannot be replayed: Mimecast's SIEM
 * stream is read by a file pointer, and a file holds the events of whatever it was published
 * with, so no call asks for a span of time.
 * @module
 */
import type { FetchWindow, Page, SkippedSpan } from "../host/types.ts";
import type { MimecastClient } from "./client.ts";
import { RETENTION_MARGIN_MS, RETENTION_MS, TTP_LOG_TYPES, type TtpLogType } from "./config.ts";
import { type Checkpoint, CursorTracker, readCheckpoint, toSecond } from "./cursor.ts";
import { formatIsoSecond, parseMimecastDate } from "./dates.ts";
import type { FetchContext } from "./fetch.ts";
import type { MimecastRecord } from "./records.ts";
import { interleave } from "./streams.ts";
import { liveWindow } from "./subwindows.ts";

/** Why a log type cannot be replayed, for the ones that cannot (the manifest says the same). */
export const NOT_REPLAYABLE: Record<string, string> = {
  rejections:
    "it is read from Mimecast's SIEM files by a file pointer, not by time, so a past span cannot be asked for",
};

/** Yields the pages of a past span of each log type the window names, read concurrently. */
export async function* windowPages(
  ctx: FetchContext,
  client: MimecastClient,
  window: FetchWindow,
): AsyncGenerator<Page<MimecastRecord, Checkpoint>> {
  const from = parseMimecastDate(window.from);
  const to = parseMimecastDate(window.to);
  if (Number.isNaN(from) || Number.isNaN(to) || from >= to) {
    throw new Error(
      `Cannot read the span ${window.from} to ${window.to}: from must come before to`,
    );
  }
  const logTypes = window.logTypes.map((logType) => {
    if (logType in NOT_REPLAYABLE) {
      throw new Error(`Cannot replay the log type "${logType}": ${NOT_REPLAYABLE[logType]}`);
    }
    if (!(TTP_LOG_TYPES as readonly string[]).includes(logType)) {
      throw new Error(`Cannot replay the log type "${logType}": it is not a TTP log type`);
    }
    return logType as TtpLogType;
  });
  const start = readCheckpoint(null);
  yield* interleave(
    start,
    logTypes.map((logType) => [logType, spanPages(ctx, client, logType, { from, to })]),
  );
}

/** One log type's pages over `[from, to]`; the progress of each is the newest second listed. */
async function* spanPages(
  ctx: FetchContext,
  client: MimecastClient,
  logType: TtpLogType,
  span: { from: number; to: number },
): AsyncGenerator<Page<MimecastRecord, Checkpoint>> {
  const to = toSecond(span.to);
  const oldest = toSecond(ctx.clock.now() - RETENTION_MS + RETENTION_MARGIN_MS);
  const skipped: SkippedSpan[] = [];
  let from = toSecond(span.from);
  if (from < oldest) {
    skipped.push({
      stream: logType,
      from: formatIsoSecond(from),
      to: formatIsoSecond(Math.min(oldest, to)),
      reason: "Mimecast keeps TTP logs 30 days: records dated in this span can no longer be read",
    });
    from = oldest;
  }
  const page = (records: MimecastRecord[], listed: number): Page<MimecastRecord, Checkpoint> => ({
    records,
    checkpoint: readCheckpoint(null),
    progress: { [logType]: formatIsoSecond(listed) },
    ...(skipped.length > 0 ? { skipped: skipped.splice(0) } : {}),
  });
  if (from >= to) {
    yield page([], to);
    return;
  }

  // A past span is a backlog by nature: read in sub-windows side by side (./subwindows.ts).
  const live = new CursorTracker({ time: formatIsoSecond(from), keys: [] });
  const parts = ctx.config.concurrentCalls;
  const maxPages = ctx.config.maxPagesPerRun;
  let last: { records: MimecastRecord[]; listed: number; done: boolean } | undefined;
  for await (const step of liveWindow(client, logType, { live, to, parts, maxPages })) {
    // Each page goes out once the next is in, so the last one can name what was not read.
    if (last) yield page(last.records, last.listed);
    last = step;
  }
  if (!last) return;
  if (!last.done) {
    // A backfill is not resumed: the part not read is named, so another one can start there.
    skipped.push({
      stream: logType,
      from: formatIsoSecond(last.listed),
      to: formatIsoSecond(to),
      reason:
        `The backfill read the most pages a run may read (maxPagesPerRun ${maxPages}): start another backfill from here`,
    });
  }
  yield page(last.records, last.listed);
}
