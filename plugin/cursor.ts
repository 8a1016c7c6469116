/**
 * The per-log-type cursor (SPEC §3.6): the newest record second fully received, plus the keys of
 * the records seen at that second, because Mimecast's `from` is inclusive at one-second grain.
 * Checkpoints are plain JSON; the host stores them, this file owns their meaning.
 * @module
 */
import * as v from "valibot";
import { LOG_TYPES, type LogType } from "./config.ts";
import { formatIsoSecond, parseMimecastDate } from "./dates.ts";

const cursorSchema = v.object({
  time: v.pipe(
    v.string(),
    v.check((t) => !Number.isNaN(parseMimecastDate(t)), "time must be a date"),
  ),
  keys: v.array(v.string()),
});

const checkpointSchema = v.object({
  version: v.literal(1),
  cursors: v.record(v.picklist(LOG_TYPES), cursorSchema),
});

/** One log type's position: ISO time to the second, and the record keys seen at that second. */
export type Cursor = v.InferOutput<typeof cursorSchema>;
/** The plugin's checkpoint: one cursor per log type that has run. */
export type Checkpoint = { version: 1; cursors: Partial<Record<LogType, Cursor>> };

/** Reads a stored checkpoint; null starts fresh. Throws on a checkpoint this plugin did not write. */
export function readCheckpoint(stored: unknown): Checkpoint {
  if (stored === null || stored === undefined) return { version: 1, cursors: {} };
  const parsed = v.safeParse(checkpointSchema, stored);
  if (!parsed.success) {
    throw new Error(
      `Cannot resume: the stored checkpoint is not a Mimecast cursor (${parsed.issues[0].message})`,
    );
  }
  return parsed.output as Checkpoint;
}

/** A cursor advancing through one pagination: it skips records already seen and moves forward. */
export class CursorTracker {
  #second: number;
  #keys: Set<string>;

  constructor(cursor: Cursor) {
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
    const second = Math.floor(timeMs / 1000) * 1000;
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
  settle(timeMs: number): void {
    const second = Math.floor(timeMs / 1000) * 1000;
    if (second > this.#second) {
      this.#second = second;
      this.#keys = new Set();
    }
  }

  /** The cursor as plain JSON. */
  toJSON(): Cursor {
    return { time: formatIsoSecond(this.#second), keys: [...this.#keys] };
  }
}
