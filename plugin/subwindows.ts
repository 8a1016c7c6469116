/**
 * One log type's live window, read as sub-windows side by side when it holds a backlog (SPEC
 * §3.2). The window's first page is asked for as always, so a run with little to read makes the
 * same one call as before. When that page is not the last, what is left of the window (from the
 * newest second it listed to the window's end) is cut into up to `parts` sub-windows of equal
 * time, fewer when Mimecast's `totalCount` says there are only a few pages left. The first
 * sub-window goes on with the window's own page-token chain and stops at the second where the
 * next begins; each of the others is a pagination of its own, with its filters frozen. All of
 * them are read at once, through the run's client and its one rate budget.
 *
 * Each step handed out carries the live cursor that is true once it and every step before it are
 * stored: the position of the first sub-window not yet complete, so a sub-window's progress
 * counts only once every earlier one is complete. A crash, a cancel or a cut at `maxPagesPerRun`
 * leaves a cursor that reads again what later sub-windows had already handed out; the host drops
 * those records by alert id, so nothing is lost and nothing is delivered twice.
 *
 * What it costs: a sub-window's last page is rarely full, and the first sub-window reads one page
 * that reaches into the next, so a backlog split in k takes at most k calls more than one read
 * page after page.
 * @module
 */
import type { TtpLogType } from "./config.ts";
import type { MimecastClient } from "./client.ts";
import { type Cursor, CursorTracker, toSecond } from "./cursor.ts";
import { formatIsoSecond } from "./dates.ts";
import { PAGE_SIZE, paginate, type PaginatedPage, windowFilters } from "./paginate.ts";
import { LOG_KINDS, type MimecastRecord, recordKey, recordTime } from "./records.ts";
import { race } from "./streams.ts";

/** The most sub-windows a log type's backlog is cut into. */
export const MAX_SUB_WINDOWS = 4;

/**
 * A backlog is split only when this many pages per sub-window are left at least: each split
 * costs about one call, so a small backlog is read as one pagination.
 */
export const MIN_PAGES_PER_PART = 8;

/** One page's worth of a live window, and where the window stands once it is stored. */
export interface LiveStep {
  records: MimecastRecord[];
  /** The live cursor true once this step and every one before it are stored. */
  cursor: Pick<Cursor, "time" | "keys">;
  /** The newest second listed without a gap before it (the window's end once it is done). */
  listed: number;
  /** Whether the whole window has been listed. */
  done: boolean;
}

/** A sub-window: its cursor, where it stops, and whether it has been listed to its end. */
class Part {
  complete = false;
  constructor(
    readonly tracker: CursorTracker,
    /** The first second of the next sub-window; the last one ends at the window's `to`. */
    public end: number,
    public last: boolean,
  ) {}
}

/**
 * Reads `[live, to]` of one log type; `parts` is how many sub-windows it may be cut into, at most
 * MAX_SUB_WINDOWS (1 reads it page after page; a run passes its `concurrentCalls`), and at most `maxPages` pages are asked for. The last step says
 * whether the window was listed to its end (`done`); when it was not, the run was cut there.
 * Stops being read when the caller stops (a preview after the first page).
 */
export async function* liveWindow(
  client: MimecastClient,
  logType: TtpLogType,
  window: { live: CursorTracker; to: number; parts: number; maxPages: number },
): AsyncGenerator<LiveStep> {
  const { live, to } = window;
  const wanted = Math.min(MAX_SUB_WINDOWS, window.parts);
  // Pages asked for, over every sub-window: a page read ahead counts when it is asked for, so a
  // run never asks for more than `maxPages` of a log type.
  let left = window.maxPages;
  const ask = () => left-- > 0;
  const kind = LOG_KINDS[logType];
  // Aborted when the sub-windows stop early (one failed, or the caller stopped): the others'
  // calls in flight end at once.
  const stop = new AbortController();
  const read = (from: number, until: number) =>
    paginate(client, kind.path, kind.array, windowFilters(logType, from, until), stop.signal);
  const head = new Part(live, to, true);
  const parts = [head];
  // A step is made when it is handed out: a sub-window's cursor moves only with the pages the
  // caller has been given, never with a page still read ahead.
  const step = (part: Part, { page, ends }: PartPage): LiveStep => {
    const records = take(logType, part, page);
    if (ends) {
      part.complete = true;
      part.tracker.advanceTo(part.last ? to : part.end);
    }
    const open = parts.find((p) => !p.complete);
    if (open) {
      return { records, cursor: open.tracker.toJSON(), listed: open.tracker.timeMs, done: false };
    }
    // Every sub-window is complete: the window is listed to its end, or to where this run's
    // pages were meant to reach.
    const final = parts.at(-1)!;
    const listed = final.last ? to : final.end;
    return { records, cursor: final.tracker.toJSON(), listed, done: final.last };
  };

  // The head: the window's own pagination, until the rest is worth splitting (what is left is
  // known from the first page's totalCount; without one, after MIN_PAGES_PER_PART pages).
  const chain = untilComplete(logType, head, read(live.timeMs, to), ask);
  let count = 1;
  let end = to;
  for (let pages = 1;; pages++) {
    const { done, value } = await chain.next();
    if (done) return;
    yield step(head, value);
    if (head.complete) return;
    const { page } = value;
    if (page.total !== undefined) {
      const pagesLeft = Math.ceil(Math.max(0, page.total - page.logs.length) / PAGE_SIZE);
      count = pages === 1 ? partsFor(wanted, Math.min(pagesLeft, left)) : 1;
      // A run that may not ask for every page left is cut anyway: its sub-windows cover only
      // the part of the window its pages reach (with a margin, records are not even in time),
      // since sub-windows beyond the first incomplete one would only be read again next run.
      if (count > 1 && pagesLeft > left) {
        end = toSecond(live.timeMs + ((to - live.timeMs) * 0.9 * left) / pagesLeft);
      }
      break;
    }
    if (pages === MIN_PAGES_PER_PART) {
      count = wanted;
      break;
    }
  }
  const bounds = splitPoints(live.timeMs, end, count);
  if (bounds.length === 0) {
    for await (const page of chain) yield step(head, page);
    return;
  }
  head.last = false;
  head.end = bounds[0];
  const streams = [chain];
  bounds.forEach((from, i) => {
    const final = i === bounds.length - 1;
    const until = final ? end : bounds[i + 1];
    const part = new Part(
      new CursorTracker({ time: formatIsoSecond(from), keys: [] }),
      until,
      final && end === to,
    );
    parts.push(part);
    streams.push(untilComplete(logType, part, read(from, until), ask));
  });
  for await (const { index, value } of race(streams, { failFast: true, stop })) {
    yield step(parts[index], value);
  }
}

/** A page of a sub-window, and whether it is the sub-window's last. */
interface PartPage {
  page: PaginatedPage;
  ends: boolean;
}

/**
 * A sub-window's pages, up to the last one or the first that reaches into the next sub-window
 * (whether a page does is decided here, when it is read, and handed along with it), or until
 * `ask` says the run may ask for no more pages.
 */
async function* untilComplete(
  logType: TtpLogType,
  part: Part,
  pages: AsyncGenerator<PaginatedPage>,
  ask: () => boolean,
): AsyncGenerator<PartPage> {
  try {
    while (ask()) {
      const { done, value: page } = await pages.next();
      if (done) return;
      const ends = page.done ||
        (!part.last && page.logs.some((data) => toSecond(recordTime(logType, data)) >= part.end));
      yield { page, ends };
      if (ends) return;
    }
  } finally {
    await pages.return(undefined);
  }
}

/** The records of one page that belong to the sub-window and were not handed out before. */
function take(logType: TtpLogType, part: Part, page: PaginatedPage): MimecastRecord[] {
  const records: MimecastRecord[] = [];
  for (const data of page.logs) {
    const time = recordTime(logType, data);
    // The next sub-window reads from `end` on (its `from` is inclusive); a record without a
    // usable time is kept wherever it comes (it cannot be timed, so it is counted invalid).
    if (!part.last && toSecond(time) >= part.end) continue;
    if (part.tracker.observe(time, recordKey(logType, data))) records.push({ logType, data });
  }
  return records;
}

/** How many sub-windows the pages left of a window are worth. */
function partsFor(wanted: number, pagesLeft: number): number {
  return Math.max(1, Math.min(wanted, Math.floor(pagesLeft / MIN_PAGES_PER_PART)));
}

/**
 * Where the sub-windows after the first begin: `parts - 1` whole seconds cutting
 * `(listed, to]` into equal spans, the first sub-window keeping at least the second it listed
 * last and the one after (its page-token chain goes on where the first page stopped).
 */
export function splitPoints(listed: number, to: number, parts: number): number[] {
  const from = toSecond(listed) + 1000;
  const points: number[] = [];
  for (let i = 1; i < parts; i++) {
    const point = toSecond(from + ((to - from) * i) / parts);
    if (point > from && point > (points.at(-1) ?? -Infinity) && point < to) points.push(point);
  }
  return points;
}
