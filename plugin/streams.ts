/**
 * The log types of an integration fetched concurrently (SPEC §3.2): each log type is a stream of
 * pages with its own page-token chain, and every stream has one request in flight, so a run takes
 * about as long as its longest stream instead of the sum of all. Pages are handed out in the order
 * they arrive. Each stream writes only its own cursor, and each page handed out carries the
 * cursors of the pages handed out before it plus its own: a checkpoint never claims a page the
 * host has not been given. The streams share the run's client, so a 429 on one pauses them all.
 * @module
 */
import type { Page } from "../host/types.ts";
import type { Checkpoint } from "./cursor.ts";
import type { MimecastRecord } from "./records.ts";

type Stream = AsyncGenerator<Page<MimecastRecord, Checkpoint>>;

interface Pending {
  key: keyof Checkpoint["cursors"];
  stream: Stream;
  next: Promise<{ pending: Pending; step: IteratorResult<Page<MimecastRecord, Checkpoint>> }>;
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
  const pull = (pending: Omit<Pending, "next">): Pending => {
    const entry = pending as Pending;
    entry.next = pending.stream.next().then((step) => ({ pending: entry, step }));
    entry.next.catch(() => {}); // observed in the race
    return entry;
  };
  const live = new Set(streams.map(([key, stream]) => pull({ key, stream })));
  const failures: unknown[] = [];
  try {
    while (live.size > 0) {
      const settled = await Promise.race(
        [...live].map((p) => p.next.catch((error) => ({ pending: p, error }))),
      );
      live.delete(settled.pending);
      if ("error" in settled) {
        failures.push(settled.error);
        continue;
      }
      const { pending, step } = settled;
      if (step.done) continue;
      // Ask this stream for its next page now: its request overlaps the host's work on this one.
      live.add(pull(pending));
      const page = step.value;
      const cursor = page.checkpoint.cursors[pending.key];
      if (cursor !== undefined) {
        (handedOut.cursors as Record<string, unknown>)[pending.key] = cursor;
      }
      yield { ...page, checkpoint: structuredClone(handedOut) };
    }
    if (failures.length > 0) throw failures[0];
  } finally {
    await Promise.allSettled([...live].map((p) => p.stream.return(undefined)));
  }
}
