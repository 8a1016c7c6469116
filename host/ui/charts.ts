/**
 * The console's charts as HTML (SPEC §5.8): a canvas per chart whose numbers ride in its
 * `data-series` attribute as JSON (the CSP allows no inline script), drawn by the chart script,
 * and beside it the same numbers as text, so they are there without JavaScript and for screen
 * readers. A chart's box stays hidden until the script shows it: without JavaScript no empty box.
 * @module
 */
import { html } from "hono/html";
import type { HourlyStats } from "../stats.ts";
import { age, type Html } from "./layout.ts";

/** One hour's label as the tables show it: `2026-11-26 03:00`. */
function hourLabel(iso: string): string {
  return `${iso.slice(0, 13).replace("T", " ")}:00`;
}

/** Seconds as minutes with one decimal, for the lag chart's axis. */
function minutes(seconds: number | null): number | null {
  return seconds === null ? null : Math.round(seconds / 6) / 10;
}

/** The integration page's charts: alerts stored per hour and lag per hour, per log type. */
export function integrationCharts(stats: HourlyStats): Html {
  const days = Math.round(stats.hours.length / 24);
  const span = days >= 2 ? `${days} days` : `${stats.hours.length} hours`;
  const from = stats.hours[0];
  const total = (alerts: number[]) => alerts.reduce((sum, n) => sum + n, 0);
  const totals = stats.logTypes.map((s) => `${s.logType} ${total(s.alerts)}`).join(", ");
  const alertSeries = JSON.stringify({
    from,
    series: stats.logTypes.map((s) => ({ label: s.logType, data: s.alerts })),
  });
  const lagSeries = JSON.stringify({
    from,
    series: stats.logTypes.map((s) => ({ label: s.logType, data: s.lagSeconds.map(minutes) })),
  });
  // The table lists the hours that hold something, newest first; the rest are zeros and gaps.
  const rows = stats.hours.map((hour, i) => ({ hour, i })).filter(({ i }) =>
    stats.logTypes.some((s) => s.alerts[i] > 0 || s.lagSeconds[i] !== null)
  ).reverse();
  return html`
    <section id="charts" class="card">
      <h2>Alerts and lag, last ${span}</h2>
      ${stats.logTypes.length === 0
        ? html`<p class="muted">Nothing stored and no run ended in the last ${span}.</p>`
        : html`
          <h3>Alerts stored per hour</h3>
          <p
            class="help">By log type, in the UTC hour the host stored them (what arrived and was queued for the webhook), not the hour they occurred: a late or backfilled alert counts when it came in.</p>
          <div class="chart" hidden>
            <canvas id="alerts-chart" data-chart="alerts"
              data-series="${alertSeries}" role="img"
              aria-label="Alerts stored per hour over the last ${span}, stacked by log type; in all: ${totals}. The numbers per hour are in the table below."></canvas>
          </div>
          <h3>Lag at the end of runs</h3>
          <p
            class="help">How far behind now each log type was received up to when a run ended, the largest in each hour, in minutes. A gap is an hour in which no run ended.</p>
          <div class="chart" hidden>
            <canvas id="lag-chart" data-chart="lag"
              data-series="${lagSeries}" role="img"
              aria-label="Lag at the end of runs per hour over the last ${span}, by log type. The numbers per hour are in the table below."></canvas>
          </div>
          <details id="chart-numbers">
            <summary>The numbers per hour (${totals})</summary>
            ${rows.length === 0
              ? html`<p class="muted">Every hour is empty: no alert stored, no run ended.</p>`
              : html`
                <table id="chart-table">
                  <thead>
                    <tr>
                      <th>Hour (UTC)</th>${stats.logTypes.map((s) =>
                        html`<th>${s.logType} alerts</th>`
                      )}${stats.logTypes.map((s) => html`<th>${s.logType} lag</th>`)}
                    </tr>
                  </thead>
                  <tbody>${rows.map(({ hour, i }) =>
                    html`
                      <tr data-hour="${hour}">
                        <td>${hourLabel(hour)}</td>${stats.logTypes.map((s) =>
                          html`<td>${s.alerts[i]}</td>`
                        )}${stats.logTypes.map((s) => html`<td>${age(s.lagSeconds[i])}</td>`)}
                      </tr>
                    `
                  )}</tbody>
                </table>
                <p class="help">Hours with no alert stored and no run ended are left out.</p>
              `}
          </details>
        `}
    </section>
  `;
}

/**
 * The dashboard's cell for one integration: its alerts in the last 24 hours, and a small chart of
 * them per hour (oldest first), with the hourly numbers as text for screen readers.
 */
export function daySparkline(from: string, alerts: number[]): Html {
  const total = alerts.reduce((sum, n) => sum + n, 0);
  return html`
    <div class="day"><strong class="day-total">${total}</strong> <span class="muted">in 24 h</span>
      <div class="spark" hidden><canvas data-chart="spark" data-series="${JSON.stringify({
        from,
        alerts,
      })}" aria-hidden="true"></canvas></div>
      <span class="sr-only">Per hour, oldest first: ${alerts.join(", ")}</span></div>
  `;
}
