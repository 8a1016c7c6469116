/**
 * The Alerts page (SPEC §5.8): the alerts that were sent, newest first, searched and filtered as
 * `GET /api/alerts` does, a page at a time, each with its full JSON, and the same selection
 * exported as CSV or NDJSON.
 * @module
 */
import { html } from "hono/html";
import type { StoredAlert } from "../store/mod.ts";
import { type Html, when } from "./layout.ts";

/** The Alerts page for a selection. */
export function alertsPage(options: {
  query: Record<string, string>;
  alerts: StoredAlert[];
  next: string | null;
  integrations: { id: string; name: string }[];
  error?: string;
  /** HOST_ALERT_RETENTION_DAYS; 0 when the host keeps no alerts. */
  keptDays?: number;
}): Html {
  const q = options.query;
  const names = new Map(options.integrations.map((i) => [i.id, i.name]));
  const selection = new URLSearchParams(
    Object.entries(q).filter(([k, v]) => v !== "" && k !== "before"),
  );
  const exportLink = (format: string) => {
    const params = new URLSearchParams(selection);
    params.set("format", format);
    return `/alerts/data?${params}`;
  };
  const nextLink = () => {
    const params = new URLSearchParams(selection);
    params.set("before", options.next!);
    return `/alerts?${params}`;
  };
  return html`
    <h1>Alerts</h1>
    <form method="get" action="/alerts" class="card" id="alert-search">
      <label for="a-q">Search</label>
      <p class="help">Sender, recipient, subject, URL, file name or hash; any letter case.</p>
      <input type="text" id="a-q" name="q" value="${q.q ?? ""}">
      <label for="a-integration">Integration</label>
      <select id="a-integration" name="integrationId"><option value="">All</option>${options
        .integrations.map((i) =>
          html`
            <option value="${i.id}" ${q.integrationId === i.id ? " selected" : ""}>${i
              .name}</option>
          `
        )}</select>
      <label for="a-log-type">Log type</label>
      <select id="a-log-type" name="logType"><option value="">All</option>${[
        "url",
        "attachment",
        "impersonation",
        "rejections",
      ].map((t) => html`<option${q.logType === t ? " selected" : ""}>${t}</option>`)}</select>
      <label for="a-from">From (UTC, ISO)</label>
      <input type="text" id="a-from" name="from" value="${q.from ??
        ""}" placeholder="2025-03-04T00:00:00Z">
      <label for="a-to">To (UTC, ISO, excluded)</label>
      <input type="text" id="a-to" name="to" value="${q.to ?? ""}">
      <div
        class="actions"><button>Search</button><a class="button secondary" href="${exportLink(
          "csv",
        )}">Export CSV</a><a class="button secondary" href="${exportLink(
          "ndjson",
        )}">Export NDJSON</a></div>
    </form>
    ${options.error ? html`<p class="alert-box" role="alert">${options.error}</p>` : ""}
    ${options.keptDays === 0
      ? html`<p class="alert-box" id="alerts-not-kept">This host keeps no alerts
        (HOST_ALERT_RETENTION_DAYS=0): every alert is delivered to its webhook and none is kept
        here; set a number of days and restart the host to keep and search them again.</p>`
      : ""}
    ${options.alerts.length === 0
      ? html`<p class="muted" id="no-alerts">No alert matches.</p>`
      : html`
        <table id="alerts">
          <thead>
            <tr>
              <th>Occurred</th>
              <th>Integration</th>
              <th>Log type</th>
              <th>Alert type</th>
              <th>Technique</th>
              <th>From → to</th>
              <th>Subject</th>
              <th></th>
            </tr>
          </thead>
          <tbody>${options.alerts.map((a) =>
            html`
              <tr data-alert-id="${a.id}">
                <td>${when(new Date(a.occurredMs).toISOString())}</td>
                <td>${names.get(a.integrationId) ?? a.integrationId}</td>
                <td>${a.logType}</td>
                <td>${a.alertType ?? ""}</td>
                <td>${a.threatId ?? ""}</td>
                <td>${a.sender ?? ""} → ${a.recipient ?? ""}</td>
                <td>${a.subject ?? ""}</td>
                <td>
                  <details>
                    <summary>JSON</summary>
                    <pre>${JSON.stringify(JSON.parse(a.json), null, 2)}</pre>
                  </details>
                </td>
              </tr>
            `
          )}</tbody>
        </table>
      `}
    ${options.next
      ? html`<p><a class="button secondary" id="next-page" href="${nextLink()}">Older alerts</a></p>`
      : ""}
  `;
}
