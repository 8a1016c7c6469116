/**
 * The per-log-type cursors (SPEC §3.6). `time` + `keys` is the *live* cursor: the newest second
 * fully listed, plus the keys of the records seen at that second, because Mimecast's `from` is
 * inclusive at one-second grain. `settled` trails it: every record dated before `settled` has
 * been listed at a moment when it was already older than the late-arrival window, so no late
 * record can still appear there. Between the two lies what one more read must cover.
 * Checkpoints are plain JSON; the host stores them, this file owns their meaning.
 * @module
 */
import * as v from "valibot";
import type { TtpLogType } from "./config.ts";
import { type SiemCursor, siemCursorSchema } from "./siem/cursor.ts";
import { formatIsoSecond, parseMimecastDate } from "./dates.ts";

const isoTime = v.pipe(
  v.string(),
  v.check((t) => !Number.isNaN(parseMimecastDate(t)), "time must be a date"),
);

const cursorSchema = v.object({
  time: isoTime,
  keys: v.array(v.string()),
  settled: v.optional(isoTime),
});

const checkpointSchema = v.object({
  version: v.union([v.literal(1), v.literal(2)]),
  cursors: v.object({
    url: v.optional(cursorSchema),
    attachment: v.optional(cursorSchema),
    impersonation: v.optional(cursorSchema),
    rejections: v.optional(siemCursorSchema),
  }),
});

/** One log type's position: live time (ISO, to the second), keys at it, and the settled time. */
export interface Cursor {
  time: string;
  keys: string[];
  settled: string;
}
/** The plugin's checkpoint: one cursor per log type that has run. */
export type Checkpoint = {
  version: 2;
  cursors: Partial<Record<TtpLogType, Cursor>> & { rejections?: SiemCursor };
};

/**
 * Reads a stored checkpoint; null starts fresh. A version 1 checkpoint (no `settled`) resumes
 * with `settled` at its live time: nothing before it is read again. Throws on a checkpoint this
 * plugin did not write.
 */
export function readCheckpoint(stored: unknown): Checkpoint {
  if (stored === null || stored === undefined) return { version: 2, cursors: {} };
  const parsed = v.safeParse(checkpointSchema, stored);
  if (!parsed.success) {
    throw new Error(
      `Cannot resume: the stored checkpoint is not a Mimecast cursor (${parsed.issues[0].message})`,
    );
  }
  const { rejections, ...ttp } = parsed.output.cursors;
  const cursors: Checkpoint["cursors"] = rejections ? { rejections } : {};
  for (const [logType, c] of Object.entries(ttp)) {
    if (c) {
      cursors[logType as TtpLogType] = { time: c.time, keys: c.keys, settled: c.settled ?? c.time };
    }
  }
  return { version: 2, cursors };
}

/** Floors epoch ms to the second. */
export function toSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** A cursor advancing through one pagination: it skips records already seen and moves forward. */
export class CursorTracker {
  #second: number;
  #keys: Set<string>;

  constructor(cursor: Pick<Cursor, "time" | "keys">) {
    this.#second = parseMimecastDate(cursor.time);
    this.#keys = new Set(cursor.keys);
  }

  /** The cursor time in epoch ms. */
  get timeMs(): number {
    return this.#second;
  }

  /**
   * Notes a record at `timeMs` with `key`; false when it was seen before (a duplicate to skip).
   * Records without a usable time never move the cursor and are never skipped.
   */
  observe(timeMs: number, key: string): boolean {
    if (Number.isNaN(timeMs)) return true;
    const second = toSecond(timeMs);
    if (second < this.#second) return true;
    if (second > this.#second) {
      this.#second = second;
      this.#keys = new Set();
    } else if (this.#keys.has(key)) {
      return false;
    }
    this.#keys.add(key);
    return true;
  }

  /** Moves to `timeMs` when it is newer; used once a window was listed to its end. */
  advanceTo(timeMs: number): void {
    const second = toSecond(timeMs);
    if (second > this.#second) {
      this.#second = second;
      this.#keys = new Set();
    }
  }

  /** The live part of the cursor as plain JSON. */
  toJSON(): Pick<Cursor, "time" | "keys"> {
    return { time: formatIsoSecond(this.#second), keys: [...this.#keys] };
  }
}
