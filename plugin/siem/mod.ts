/**
 * The `rejections` log type's pages (SPEC §3.8): MTA receipt events from Mimecast's SIEM stream,
 * read file by file through API 1.0 or 2.0, each page with the checkpoint that is true once it
 * is stored. The cursor is a file pointer (./cursor.ts); files are published late by design and
 * each is read once, so the late-arrival re-read of the TTP logs does not apply here.
 * @module
 */
import type { Page } from "../../host/types.ts";
import type { MimecastClient } from "../client.ts";
import { type Config, durationMs } from "../config.ts";
import type { Checkpoint } from "../cursor.ts";
import { formatIsoSecond, parseMimecastDate } from "../dates.ts";
import type { FetchContext } from "../fetch.ts";
import type { MimecastRecord } from "../records.ts";
import type { SiemCursor } from "./cursor.ts";
import { withSiemHint } from "./hints.ts";
import { readV1 } from "./v1.ts";
import { readV2 } from "./v2.ts";

export type { SiemCursor } from "./cursor.ts";
export { siemCursorSchema } from "./cursor.ts";

/** Mimecast keeps SIEM files 7 days: a first run reaches back at most this far. */
export const SIEM_RETENTION_MS = 7 * 86_400_000;

/** Where a stream that never ran starts, for the configured API version. */
function firstCursor(config: Config, start: number): SiemCursor {
  return config.apiVersion === "1.0"
    ? { api: "1.0", done: 0 }
    : { api: "2.0", from: new Date(start).toISOString().slice(0, 10), link: 0, done: 0 };
}

/** An event's time (epoch ms) in either API's spelling; NaN when it has none. */
function eventTime(event: Record<string, unknown>): number {
  const ms = event.timestamp;
  if (typeof ms === "number") return ms;
  if (typeof ms === "string" && ms.trim() !== "") return Number(ms);
  return typeof event.datetime === "string" ? parseMimecastDate(event.datetime) : NaN;
}

/** Yields the rejections stream's pages, up to `maxPagesPerRun` pages of events. */
export async function* rejectionPages(
  ctx: FetchContext,
  client: MimecastClient,
  checkpoint: Checkpoint,
): AsyncGenerator<Page<MimecastRecord, Checkpoint>> {
  const now = ctx.clock.now();
  const start = now - Math.min(durationMs(ctx.config.startFrom), SIEM_RETENTION_MS);
  let cursor = checkpoint.cursors.rejections;
  if (cursor && cursor.api !== ctx.config.apiVersion) {
    ctx.logger.warn("The API version changed: the rejections stream starts again from its start", {
      was: cursor.api,
      now: ctx.config.apiVersion,
    });
    cursor = undefined;
  }
  const options = { signal: ctx.signal, logger: ctx.logger, clock: ctx.clock, fetch: ctx.fetch };
  const pages = cursor?.api === "2.0" || (!cursor && ctx.config.apiVersion === "2.0")
    ? readV2(
      client,
      (cursor ?? firstCursor(ctx.config, start)) as Extract<SiemCursor, { api: "2.0" }>,
      options,
    )
    : readV1(
      client,
      (cursor ?? firstCursor(ctx.config, start)) as Extract<SiemCursor, { api: "1.0" }>,
      {
        ...options,
        // Files older than startFrom are passed unread on the first run only: later, every file
        // after the stored token is new.
        start: cursor ? -Infinity : start,
      },
    );
  let read = 0;
  let newest = NaN;
  try {
    for await (const page of pages) {
      for (const event of page.events) {
        const time = eventTime(event);
        if (!(time <= newest)) newest = time;
      }
      checkpoint.cursors.rejections = page.cursor;
      const out: Page<MimecastRecord, Checkpoint> = {
        records: page.events.map((data) => ({ logType: "rejections", data })),
        checkpoint: structuredClone(checkpoint),
      };
      if (Number.isFinite(newest)) out.progress = { rejections: formatIsoSecond(newest) };
      if (page.skipped) out.skipped = page.skipped;
      yield out;
      if (page.events.length === 0) continue;
      if (ctx.preview) return;
      if (++read >= ctx.config.maxPagesPerRun) {
        ctx.logger.warn("Read the most pages a run may read; the next run continues from here", {
          logType: "rejections",
          maxPagesPerRun: ctx.config.maxPagesPerRun,
        });
        return;
      }
    }
  } catch (error) {
    throw withSiemHint(error, ctx.config.apiVersion);
  }
}
