/**
 * Streams of pages read side by side (SPEC §3.2). `race` pulls several async generators at once,
 * each with one page being read ahead, and yields their pages in the order they arrive. On it:
 * `interleave` merges the log types of an integration (each log type is a stream with its own
 * page-token chain and its own cursor), and ./subwindows.ts merges the sub-windows of one log
 * type's backlog. Each page handed out by `interleave` carries the cursors of the pages handed
 * out before it plus its own: a checkpoint never claims a page the host has not been given. The
 * streams share the run's client, so they share its rate budget (./budget.ts).
 * @module
 */
import type { Page } from "../host/types.ts";
import type { Checkpoint } from "./cursor.ts";
import type { MimecastRecord } from "./records.ts";

type Stream = AsyncGenerator<Page<MimecastRecord, Checkpoint>>;

interface Pending<T> {
  index: number;
  stream: AsyncGenerator<T>;
  next: Promise<{ pending: Pending<T>; step: IteratorResult<T> }>;
}

/**
 * Yields the values of every stream as they arrive, tagged with the stream's index; a stream is
 * asked for its next value as soon as its last one is taken, so its next read overlaps the
 * caller's work. A stream that fails stops there: with `failFast` the others are stopped and the
 * failure is thrown at once; otherwise the others go on to their end, and then the first failure
 * is thrown. Stopping early (a `break` in the caller) stops every stream. `stop` is aborted
 * whenever the race ends before its streams did, so their calls in flight end at once instead of
 * being waited for (with their retries).
 */
export async function* race<T>(
  streams: AsyncGenerator<T>[],
  options: { failFast: boolean; stop?: AbortController },
): AsyncGenerator<{ index: number; value: T }> {
  const pull = (index: number, stream: AsyncGenerator<T>): Pending<T> => {
    const entry = { index, stream } as Pending<T>;
    entry.next = stream.next().then((step) => ({ pending: entry, step }));
    entry.next.catch(() => {}); // observed in the race
    return entry;
  };
  const live = new Set(streams.map((stream, index) => pull(index, stream)));
  const failures: unknown[] = [];
  try {
    while (live.size > 0) {
      const settled = await Promise.race(
        [...live].map((p) => p.next.catch((error) => ({ pending: p, error }))),
      );
      live.delete(settled.pending);
      if ("error" in settled) {
        if (options.failFast) throw settled.error;
        failures.push(settled.error);
        continue;
      }
      const { pending, step } = settled;
      if (step.done) continue;
      live.add(pull(pending.index, pending.stream));
      yield { index: pending.index, value: step.value };
    }
    if (failures.length > 0) throw failures[0];
  } finally {
    if (live.size > 0) options.stop?.abort(new Error("the other streams stopped"));
    await Promise.allSettled([...live].map((p) => p.next));
    await Promise.allSettled([...live].map((p) => p.stream.return(undefined)));
  }
}

/**
 * Interleaves the streams of `start` (one per log type, keyed by the cursor each one writes).
 * A stream that fails stops there (its cursor stays at its last page handed out); the others go
 * on to their end, and then the first failure is the run's: a log type the API refuses holds up
 * no other.
 */
export async function* interleave(
  start: Checkpoint,
  streams: [key: keyof Checkpoint["cursors"], stream: Stream][],
): AsyncGenerator<Page<MimecastRecord, Checkpoint>> {
  const handedOut: Checkpoint = structuredClone(start);
  const pages = race(streams.map(([, stream]) => stream), { failFast: false });
  for await (const { index, value: page } of pages) {
    const key = streams[index][0];
    const cursor = page.checkpoint.cursors[key];
    if (cursor !== undefined) {
      (handedOut.cursors as Record<string, unknown>)[key] = cursor;
    }
    yield { ...page, checkpoint: structuredClone(handedOut) };
  }
}
