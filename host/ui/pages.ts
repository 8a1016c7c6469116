/**
 * The UI's pages: the dashboard, an integration's form (generated from its plugin's schema), an
 * integration's page with its actions, and the results of a check and a preview.
 * @module
 */
import { html } from "hono/html";
import type { view } from "../api.ts";
import type { Manifest } from "../manifest.ts";
import type { RefusedManifest } from "../registry.ts";
import type { BatchRow, RunRow } from "../store/mod.ts";
import type { Alert, CheckResult } from "../types.ts";
import { type FieldState, type FormLayout, renderConfigFields } from "./form.ts";
import { age, badge, csrfField, type Html, postButton } from "./layout.ts";

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

/** The dashboard: plugins, refused manifests, integrations with status and lag. */
export function dashboardPage(
  plugins: Manifest[],
  refused: RefusedManifest[],
  integrations: IntegrationView[],
  notice?: string,
): Html {
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
              <th>Last run</th>
              <th>Last error</th>
            </tr>
          </thead>
          <tbody>${integrations.map((i) =>
            html`
              <tr data-integration="${i.id}">
                <td><a href="/integrations/${i.id}">${i.name}</a><br><span class="muted">${i
                  .plugin}</span></td>
                <td>${badge(i.status)}${i.paused
                  ? html`
                    ${badge("paused")}
                  `
                  : ""}${i.runningRunId
                  ? html`
                    ${badge("running")}
                  `
                  : ""}</td>
                <td>${i.streams.length === 0
                  ? "—"
                  : i.streams.map((s) =>
                    html`<div>${s.logType}: ${age(s.lagSeconds)} · ${s.alerts} alerts</div>`
                  )}</td>
                <td>${runSummary(i.lastRun)}</td>
                <td>${i.lastError
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
    ${badge(run.status)} <span class="muted">${run.startedAt.slice(0, 19).replace("T", " ")}</span>
    <div
      class="counts">fetched ${c.fetched} · filtered ${c.filtered} · invalid ${c
        .invalid} · alerts ${c.alerts} · delivered ${c.delivered}</div>
  `;
}

/** Host-owned fields of the form, as submitted or stored. */
export interface HostFields {
  name: string;
  destinationUrl: string;
  intervalSeconds: string;
  enabled: boolean;
  errors: Record<string, string[]>;
}

/** The integration form: host fields, then the plugin's generated fields. */
export function integrationForm(options: {
  manifest: Manifest;
  layout: FormLayout;
  state: FieldState;
  host: HostFields;
  action: string;
  csrf: string;
  editing: boolean;
  problems?: number;
}): Html {
  const { host } = options;
  const err = (name: string) =>
    html`${(host.errors[name] ?? []).map((e) => html`<p class="error" role="alert">${e}</p>`)}`;
  const cls = (name: string) => (host.errors[name]?.length ? "field invalid" : "field");
  return html`<h1>${options.editing ? "Edit" : "New"} ${options.manifest.name} integration</h1>
${
    options.problems
      ? html`<p class="alert-box" role="alert">${options.problems} field(s) need attention; see below.</p>`
      : ""
  }
<form method="post" action="${options.action}" novalidate>${csrfField(options.csrf)}
<fieldset><legend>Integration</legend>
<div class="${
    cls("name")
  }"><label for="f-name">Name *</label><input type="text" id="f-name" name="name" value="${host.name}" required>${
    err("name")
  }</div>
<div class="${
    cls("destination.url")
  }"><label for="f-destination-url">Webhook URL *</label><p class="help">Where alerts are POSTed, signed per Standard Webhooks.</p>
<input type="url" id="f-destination-url" name="destination.url" value="${host.destinationUrl}" required>${
    err("destination.url")
  }</div>
<div class="${cls("destination.secret")}"><label for="f-destination-secret">Webhook secret${
    options.editing ? "" : " *"
  }</label>
<p class="help">whsec_ and base64; your receiver verifies each request with it.${
    options.editing ? " A secret is stored: leave blank to keep it." : ""
  }</p>
<input type="password" id="f-destination-secret" name="destination.secret" autocomplete="new-password">
<button type="button" class="secondary" data-generate-secret="f-destination-secret" hidden>Generate</button>
${
    options.editing ? "" : html`
      <label
        class="checks"><input type="checkbox" name="destination.generate" value="true"> Generate one for me (shown once)</label>
    `
  }
${err("destination.secret")}</div>
<div class="${
    cls("schedule.intervalSeconds")
  }"><label for="f-interval">Run every (seconds)</label><p class="help">Blank: the plugin's default (${options.manifest.schedule.defaultIntervalSeconds} s). At least 60.</p>
<input type="number" id="f-interval" name="schedule.intervalSeconds" value="${host.intervalSeconds}">${
    err("schedule.intervalSeconds")
  }</div>
<label class="checks"><input type="checkbox" name="schedule.enabled" value="true"${
    host.enabled ? " checked" : ""
  }> Run on schedule</label>
</fieldset>
<fieldset><legend>${options.manifest.name}</legend>${
    renderConfigFields(options.layout, options.state)
  }</fieldset>
${host.errors[""] ? err("") : ""}
<div class="actions"><button>${
    options.editing ? "Save" : "Create integration"
  }</button><a class="button secondary" href="/">Cancel</a></div>
</form>`;
}

/** An integration's page: status, actions, streams, runs, dead letters, invalid records. */
export function integrationPage(options: {
  integration: IntegrationView;
  runs: RunRow[];
  deadLetters: BatchRow[];
  invalid: { runId: string; record: unknown; issues: unknown; createdAt: string }[];
  csrf: string;
  notice?: string;
  result?: Html;
}): Html {
  const i = options.integration;
  const base = `/integrations/${i.id}`;
  return html`
    ${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ""}
    <h1>${i.name} ${badge(i.status)}${i.paused
      ? html`
        ${badge("paused")}
      `
      : ""}</h1>
    ${i.pausedReason
      ? html`<p class="alert-box">${i.pausedReason}: drop its manifest into the plugins folder to resume.</p>`
      : ""}
    ${i.lastError
      ? html`<div class="alert-box" id="last-error"><strong>Last error:</strong> ${i.lastError}${
        i.lastHint ? html`<div class="help">${i.lastHint}</div>` : ""
      }</div>`
      : ""}
    <div
      class="actions">${postButton(`${base}/check`, "Test connection", options.csrf)}${postButton(
        `${base}/preview`,
        "Preview",
        options.csrf,
        "secondary",
      )}${postButton(
        `${base}/runs`,
        "Run now",
        options.csrf,
      )}<a class="button secondary" href="${base}/edit">Edit</a>${postButton(
        `${base}/delete`,
        "Delete",
        options.csrf,
        "danger",
      )}</div>
    ${options.result ?? ""}
    <div class="card">
      <div>Plugin: <strong>${i.plugin}</strong> · webhook: <code>${i.destination
        .url}</code> · every ${i.schedule.intervalSeconds ?? "—"} s${i.schedule.enabled
        ? ""
        : " (schedule off)"}</div>
      <div
        class="muted">Secrets set: ${i.secretsSet.join(", ") || "none"} · outbox: ${i
          .outboxPending} · dead letters: ${i.deadLetters}</div>
    </div>
    <h2>Log types</h2>
    ${i.streams.length === 0 ? html`<p class="muted">No alert yet.</p>` : html`
      <table id="streams">
        <thead>
          <tr>
            <th>Log type</th>
            <th>Newest alert</th>
            <th>Lag</th>
            <th>Alerts</th>
          </tr>
        </thead>
        <tbody>${i.streams.map((s) =>
          html`
            <tr>
              <td>${s.logType}</td>
              <td>${s.newestAt ?? "—"}</td>
              <td>${age(s.lagSeconds)}</td>
              <td>${s.alerts}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `}
    <h2>Runs</h2>
    ${options.runs.length === 0 ? html`<p class="muted">No run yet.</p>` : html`
      <table id="runs">
        <thead>
          <tr>
            <th>Started</th>
            <th>Status</th>
            <th>Trigger</th>
            <th>Fetched</th>
            <th>Filtered</th>
            <th>Invalid</th>
            <th>Alerts</th>
            <th>Delivered</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>${options.runs.map((r) =>
          html`
            <tr>
              <td>${r.startedAt.slice(0, 19).replace("T", " ")}</td>
              <td>${badge(r.status)}</td>
              <td>${r.trigger}</td>
              <td>${r.counts.fetched}</td>
              <td>${r.counts.filtered}</td>
              <td>${r.counts.invalid}</td>
              <td>${r.counts.alerts}</td>
              <td>${r.counts.delivered}</td>
              <td>${r.error
                ? html`<div class="error">${r.error}</div>${
                  r.hint ? html`<div class="help">${r.hint}</div>` : ""
                }`
                : ""}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `}
    <h2>Dead letters</h2>
    ${options.deadLetters.length === 0 ? html`<p class="muted">None.</p>` : html`
      ${postButton(`${base}/redrive`, `Redrive all ${options.deadLetters.length}`, options.csrf)}
      <table id="dead-letters">
        <thead>
          <tr>
            <th>Webhook id</th>
            <th>Alerts</th>
            <th>Attempts</th>
            <th>Last error</th>
          </tr>
        </thead>
        <tbody>${options.deadLetters.map((b) =>
          html`
            <tr>
              <td><code>${b.webhookId}</code></td>
              <td>${b.alertCount}</td>
              <td>${b.attempts}</td>
              <td>${b.lastError ?? ""}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `}
    <h2>Invalid records</h2>
    ${options.invalid.length === 0 ? html`<p class="muted">None.</p>` : html`
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Why</th>
            <th>Record</th>
          </tr>
        </thead>
        <tbody>${options.invalid.map((r) =>
          html`
            <tr>
              <td>${r.createdAt.slice(0, 19)}</td>
              <td>
                <pre>${JSON.stringify(r.issues, null, 1)}</pre>
              </td>
              <td>
                <pre>${JSON.stringify(r.record)}</pre>
              </td>
            </tr>
          `
        )}</tbody>
      </table>
    `}
  `;
}

/** The result of a connection check. */
export function checkResult(
  result: { ok: boolean; results: CheckResult[]; error?: string; hint?: string },
): Html {
  return html`<div class="card" id="check-result"><h2>Test connection: ${
    badge(result.ok ? "ok" : "failed")
  }</h2>
${
    result.error
      ? html`<p class="error">${result.error}</p>${
        result.hint ? html`<p class="help">${result.hint}</p>` : ""
      }`
      : ""
  }
<table><tbody>${
    result.results.map((r) =>
      html`
        <tr data-log-type="${r.logType}">
          <td>${r.logType}</td>
          <td>${badge(r.ok ? "ok" : "failed")}</td>
          <td>${r.error ? html`<div class="error">${r.error}</div>` : ""}${r.hint
            ? html`<div class="help">${r.hint}</div>`
            : ""}</td>
        </tr>
      `
    )
  }</tbody></table></div>`;
}

/** The result of a preview. */
export function previewResult(
  result: {
    alerts: Alert[];
    filtered: unknown[];
    invalid: unknown[];
    counts: Record<string, number>;
    error?: string;
  },
): Html {
  return html`<div class="card" id="preview-result"><h2>Preview</h2>
<p class="muted">What the next run would send. Nothing was delivered and no cursor moved.</p>
${result.error ? html`<p class="error">${result.error}</p>` : ""}
<p>fetched ${result.counts.fetched} · filtered ${result.counts.filtered} · invalid ${result.counts.invalid} · alerts ${result.counts.alerts}</p>
${
    result.alerts.length === 0 ? "" : html`
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Type</th>
            <th>ATT&amp;CK</th>
            <th>From → To</th>
            <th>Verdict</th>
          </tr>
        </thead>
        <tbody>${result.alerts.slice(0, 100).map((a) =>
          html`
            <tr>
              <td>${a.occurredAt}</td>
              <td>${a.alertType}<div class="muted">${a.logType}</div></td>
              <td>${a.threatId} ${a.threatName}</td>
              <td>${a.email?.from ?? ""} → ${a.email?.to ?? ""}</td>
              <td>${a.verdict}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `
  }
${
    result.filtered.length === 0 ? "" : html`
      <details>
        <summary>${result.filtered.length} filtered as clean or safe</summary>
        <pre>${JSON.stringify(result.filtered.slice(0, 50), null, 1)}</pre>
      </details>
    `
  }
${
    result.invalid.length === 0 ? "" : html`
      <details open>
        <summary>${result.invalid.length} invalid</summary>
        <pre>${JSON.stringify(result.invalid, null, 1)}</pre>
      </details>
    `
  }</div>`;
}
