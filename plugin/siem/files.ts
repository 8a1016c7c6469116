/**
 * What the API 1.0 and 2.0 readers share: pages of events cut from a file as it streams, resumed
 * after `done` events, and the span a damaged file leaves unread.
 * @module
 */
import type { SkippedSpan } from "../../host/types.ts";
import { formatIsoSecond } from "../dates.ts";
import type { SiemCursor } from "./cursor.ts";
import { chunksOf, CorruptFileError } from "./decode.ts";

/** Events per page handed to the host. */
export const EVENTS_PER_PAGE = 100;

/** A stalled download fails after this long without data. */
export const IDLE_MS = 60_000;

/** One page of the rejections stream: its events and the cursor true once they are stored. */
export interface SiemPage {
  events: Record<string, unknown>[];
  cursor: SiemCursor;
  skipped?: SkippedSpan[];
}

/**
 * Streams one file's events in pages, skipping the first `skip` (stored before a crash). The
 * cursor of each page is `at(done)`, `done` counting the file's events so far; the last page,
 * possibly empty, carries `after` (the position past this file). A damaged file ends with the
 * events read before the damage and a skipped span naming the file.
 */
export async function* filePages(
  body: ReadableStream<Uint8Array>,
  options: {
    name: string;
    /** When the file was written (epoch ms), for the skipped span; NaN when unknown. */
    time: number;
    skip: number;
    decode: (chunks: AsyncIterable<Uint8Array>) => AsyncIterable<Record<string, unknown>>;
    at: (done: number) => SiemCursor;
    after: SiemCursor;
    signal: AbortSignal;
  },
): AsyncGenerator<SiemPage> {
  let done = 0;
  let batch: Record<string, unknown>[] = [];
  let skipped: SkippedSpan[] | undefined;
  try {
    const chunks = chunksOf(body, { idleMs: IDLE_MS, signal: options.signal, what: options.name });
    for await (const event of options.decode(chunks)) {
      done++;
      if (done <= options.skip) continue;
      batch.push(event);
      if (batch.length === EVENTS_PER_PAGE) {
        yield { events: batch, cursor: options.at(done) };
        batch = [];
      }
    }
  } catch (error) {
    if (!(error instanceof CorruptFileError)) throw error;
    const when = formatIsoSecond(Number.isNaN(options.time) ? Date.now() : options.time);
    skipped = [{
      stream: "rejections",
      from: when,
      to: when,
      reason:
        `Mimecast's file ${options.name} is damaged (${error.message}): the ${done} events before the damage were read, the rest of the file could not be`,
    }];
  }
  yield { events: batch, cursor: options.after, ...(skipped ? { skipped } : {}) };
}

/** A SIEM file name's time, `receipt_20211018093329655.json` → epoch ms; NaN when it has none. */
export function fileTime(name: string): number {
  const m = /_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})?/.exec(name);
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +(m[7] ?? 0));
}
