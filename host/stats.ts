/**
 * The numbers behind the console's charts and `GET /api/integrations/:id/stats` (SPEC §5.8):
 * alerts stored per hour per log type, and the lag at the end of runs per hour, over a bounded
 * window of whole UTC hours ending with the current one. Hours with nothing stored are zeros
 * (alerts) or null (no run ended in them, so no lag was seen).
 * @module
 */
import { type HostStore, HOUR_MS, hourOf } from "./store/mod.ts";

/** Hours a chart shows unless asked otherwise: a week. */
export const DEFAULT_HOURS = 168;

/** The longest window that can be asked for: the default alert retention, 30 days. */
export const MAX_HOURS = 720;

/** One integration's hourly numbers. */
export interface HourlyStats {
  /** The start of each hour, oldest first, as ISO times (UTC); the last is the current hour. */
  hours: string[];
  /** Per log type, one number per hour. */
  logTypes: {
    logType: string;
    /** Alerts stored in the hour (the time the host stored them, not the time they occurred). */
    alerts: number[];
    /** The largest lag at the end of a run in the hour, in seconds; null when no run ended. */
    lagSeconds: (number | null)[];
  }[];
}

/** The first hour (epoch ms) of a window of `hours` hours ending with the one `now` is in. */
function windowStart(now: number, hours: number): number {
  return hourOf(now) - (hours - 1) * HOUR_MS;
}

/**
 * An integration's alerts per hour and lag per hour over the last `hours` hours. `logTypes` are
 * shown even without a stored hour (a log type read but quiet is a row of zeros).
 */
export async function hourlyStats(
  store: Pick<HostStore, "hours">,
  integrationId: string,
  options: { hours?: number; now: number; logTypes?: string[] },
): Promise<HourlyStats> {
  const hours = Math.min(Math.max(1, Math.trunc(options.hours ?? DEFAULT_HOURS)), MAX_HOURS);
  const from = windowStart(options.now, hours);
  const rows = await store.hours.list(integrationId, from, from + hours * HOUR_MS);
  const names = [...new Set([...(options.logTypes ?? []), ...rows.map((r) => r.logType)])].sort();
  const series = new Map(names.map((logType) => [logType, {
    logType,
    alerts: new Array<number>(hours).fill(0),
    lagSeconds: new Array<number | null>(hours).fill(null),
  }]));
  for (const row of rows) {
    const s = series.get(row.logType)!;
    const i = (row.hourMs - from) / HOUR_MS;
    s.alerts[i] = row.alerts;
    s.lagSeconds[i] = row.lagSeconds;
  }
  return {
    hours: Array.from({ length: hours }, (_, i) => new Date(from + i * HOUR_MS).toISOString()),
    logTypes: [...series.values()],
  };
}

/**
 * Every integration's alerts per hour over the last 24 hours, all log types together, oldest
 * first: one grouped query however many integrations there are. Integrations with no alert in
 * the window are absent (their day is 24 zeros).
 */
export async function alertsLastDay(
  store: Pick<HostStore, "hours">,
  now: number,
): Promise<{ from: string; byIntegration: Map<string, number[]> }> {
  const from = windowStart(now, 24);
  const byIntegration = new Map<string, number[]>();
  for (const row of await store.hours.alertsByIntegration(from, from + 24 * HOUR_MS)) {
    let day = byIntegration.get(row.integrationId);
    if (!day) byIntegration.set(row.integrationId, day = new Array<number>(24).fill(0));
    day[(row.hourMs - from) / HOUR_MS] = row.alerts;
  }
  return { from: new Date(from).toISOString(), byIntegration };
}
