/**
 * The console's chart data (SPEC §5.8), database-neutral parts: hours and the shape of one stored
 * hour. Each store keeps them in its own table (`./sqlite/stream_hours.ts`, `./postgres/`).
 * @module
 */
/** An hour in epoch milliseconds. */
export const HOUR_MS = 3_600_000;

/** The start of the UTC hour `ms` falls in. */
export function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** One stored hour of one log type. */
export interface StreamHour {
  logType: string;
  hourMs: number;
  alerts: number;
  lagSeconds: number | null;
}
