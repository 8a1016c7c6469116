/**
 * The UI's login page and dashboard: plugins, refused manifests, and integrations with their
 * status, lag per log type, last run and last error.
 * @module
 */
import { html } from "hono/html";
import type { view } from "../api.ts";
import type { Manifest } from "../manifest.ts";
import type { RefusedManifest } from "../registry.ts";
import { daySparkline } from "./charts.ts";
import { age, badge, type Html, when } from "./layout.ts";

/** An integration as the API shows it. */
export type IntegrationView = Awaited<ReturnType<typeof view>>;

/** The login form. */
export function loginPage(error?: string): Html {
  return html`
    <h1>Log in</h1>
    <div class="card">
      <form method="post" action="/login">
    ${error ? html`<p class="error" role="alert">${error}</p>` : ""}
    <label for="token">Admin token</label><p class="help">Printed when the host first started; also in the data folder's admin.token.</p>
    <input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
    <div class="actions"><button>Log in</button></div></form>
    </div>
  `;
}

/** Every integration's alerts per hour over the last 24 hours (stats.ts's alertsLastDay). */
export interface LastDay {
  /** The first hour, as an ISO time. */
  from: string;
  /** Per integration id, 24 counts, oldest first; an integration absent had none. */
  byIntegration: Map<string, number[]>;
}

/** The dashboard: plugins, refused manifests, integrations with status, lag and their day. */
export function dashboardPage(
  plugins: Manifest[],
  refused: RefusedManifest[],
  integrations: IntegrationView[],
  notice?: string,
  lastDay: LastDay = { from: new Date().toISOString(), byIntegration: new Map() },
): Html {
  const day = (id: string) => lastDay.byIntegration.get(id) ?? new Array<number>(24).fill(0);
  return html`${notice ? html`<p class="notice">${notice}</p>` : ""}<h1>Integrations</h1>
${
    integrations.length === 0
      ? html`<p class="muted">No integration yet. Create one from an installed plugin below.</p>`
      : html`
        <table id="integrations">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Lag per log type</th>
              <th>Alerts, last 24 h</th>
              <th>Last run</th>
              <th>Last error</th>
            </tr>
          </thead>
          <tbody>${integrations.map((i) =>
            html`
              <tr data-integration="${i.id}">
                <td><a href="/integrations/${i.id}">${i.name}</a><br><span class="muted">${i
                  .plugin}</span></td>
                <td>${badge(i.status)}<div class="help">${i.statusReason}</div></td>
                <td>${i.streams.length === 0
                  ? "—"
                  : i.streams.map((s) =>
                    html`<div>${s.logType}: ${age(s.lagSeconds)} · ${s.alerts} alerts</div>`
                  )}</td>
                <td>${daySparkline(lastDay.from, day(i.id))}</td>
                <td>${runSummary(i.lastRun)}</td>
                <td>${i.status === "secrets-unreadable"
                  ? html`
                    <div class="error">The stored secrets cannot be read with this master key.</div>
                    <div class="help"><a href="/integrations/${i
                      .id}/edit">Enter them again</a></div>
                  `
                  : ""}${i.lastError
                  ? html`<div class="error">${i.lastError}</div>${
                    i.lastHint ? html`<div class="help">${i.lastHint}</div>` : ""
                  }`
                  : "—"}</td>
              </tr>
            `
          )}</tbody>
        </table>
      `
  }
<h2>Installed plugins</h2>
${
    plugins.length === 0
      ? html`
        <p
          class="muted">None. Drop a plugin folder (manifest.json with its bundle) into the plugins folder.</p>
      `
      : html`
        <table>
          <tbody>${plugins.map((p) =>
            html`
              <tr>
                <td><strong>${p.name}</strong> <span class="muted">${p.id} ${p
                  .version}</span><div class="help">${p.description}</div></td>
                <td><a class="button" href="/plugins/${p.id}/new">New integration</a></td>
              </tr>
            `
          )}</tbody>
        </table>
      `
  }
${
    refused.length > 0
      ? html`<h2>Refused manifests</h2>${
        refused.map((r) =>
          html`<div class="alert-box"><strong>${r.source}</strong><div>${r.error.message}</div>${
            r.error.hint ? html`<div class="help">${r.error.hint}</div>` : ""
          }</div>`
        )
      }`
      : ""
  }`;
}

function runSummary(run: IntegrationView["lastRun"]): Html {
  if (!run) return html`<span class="muted">never</span>`;
  const c = run.counts;
  return html`
    ${badge(run.status)} <span class="muted">${when(run.startedAt)}</span>
    <div
      class="counts">fetched ${c.fetched} · filtered ${c.filtered} · invalid ${c
        .invalid} · alerts ${c.alerts} · delivered ${c.delivered}</div>
  `;
}
