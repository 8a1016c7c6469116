/**
 * An integration's page (status, actions, log types, runs, dead letters, invalid records) and the
 * results of a connection check and a preview.
 * @module
 */
import { html } from "hono/html";
import type { WebhookProbe } from "../delivery.ts";
import type { BatchRow, RunRow } from "../store/mod.ts";
import {
  DESTINATION_FORMATS,
  type DestinationFormat,
  type DetectionFinding,
  isDestinationFormat,
} from "../formats/mod.ts";
import type { Alert, CheckResult } from "../types.ts";
import type { HourlyStats } from "../stats.ts";
import { integrationCharts } from "./charts.ts";
import type { IntegrationView } from "./dashboard.ts";
import { age, badge, csrfField, type Html, postButton, when } from "./layout.ts";

/** An integration's page: status, actions, streams, runs, dead letters, invalid records. */
export function integrationPage(options: {
  integration: IntegrationView;
  /** Alerts and lag per hour, for the charts; none, no charts. */
  stats?: HourlyStats;
  runs: RunRow[];
  /** The runs' paging: the cursor of the older ones, and whether this is an older page. */
  runsPage?: { next: string | null; older: boolean };
  deadLetters: BatchRow[];
  invalid: { runId: string; record: unknown; issues: unknown; createdAt: string }[];
  csrf: string;
  notice?: string;
  result?: Html;
  /** The Backfill form (./backfill_form.ts). */
  backfill?: Html;
}): Html {
  const i = options.integration;
  const base = `/integrations/${i.id}`;
  return html`
    ${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ""}
    <h1>${i.name} ${badge(i.status)}</h1>
    <p class="help" id="status-reason">${i.statusReason}${i.nextRunAt
      ? html`
        · next run ${when(i.nextRunAt)}
      `
      : ""}</p>
    ${i.pausedReason
      ? html`<p class="alert-box">${i.pausedReason}: drop its manifest into the plugins folder to resume.</p>`
      : ""}
    ${i.schedule.awaitingCheck && !i.schedule.enabled
      ? html`
        <div class="alert-box"
          id="awaiting-check"><strong>Paused until Test connection passes:</strong> a new integration's schedule starts by itself once every log type passes the check, or when you start it. Run now works meanwhile.<div
            class="actions">${postButton(
              `${base}/check`,
              "Test connection",
              options.csrf,
            )}${postButton(
              `${base}/schedule/enable`,
              "Start the schedule now",
              options.csrf,
              "secondary",
            )}</div></div>
      `
      : ""}
    ${i.status === "secrets-unreadable"
      ? html`
        <div class="alert-box" id="secrets-unreadable"
          role="alert"><strong>Secrets unreadable:</strong> this host's master key cannot open the stored secrets, so runs, checks and previews fail.<div class="help">Restart the host with the key they were sealed with, or <a href="${base}/edit">enter them again</a> (every secret field and the webhook secret).</div></div>
      `
      : ""}
    ${i.lastError
      ? html`<div class="alert-box" id="last-error"><strong>Last error:</strong> ${i.lastError}${
        i.lastHint ? html`<div class="help">${i.lastHint}</div>` : ""
      }</div>`
      : ""}
    <div
      class="actions">${postButton(`${base}/check`, "Test connection", options.csrf)}${postButton(
        `${base}/test-webhook`,
        "Send test event",
        options.csrf,
        "secondary",
      )}${postButton(
        `${base}/preview`,
        "Preview",
        options.csrf,
        "secondary",
      )}${i.runningRunId
        ? postButton(`/runs/${i.runningRunId}/cancel`, "Cancel run", options.csrf, "danger")
        : postButton(
          `${base}/runs`,
          "Run now",
          options.csrf,
        )}<a class="button secondary" href="${base}/edit">Edit</a><a class="button danger" href="${base}/delete">Delete…</a></div>
    ${liveSection(i)}
    ${options.result ?? ""}
    <div class="card">
      <div>Plugin: <strong>${i.plugin}</strong> · webhook: <code>${i.destination
        .url}</code> (<span id="destination-format">${formatLabel(
          i.destination.format,
        )}</span>) · every ${i.schedule.intervalSeconds ?? "—"} s${i.schedule.enabled
        ? ""
        : " (schedule off)"}</div>
      <div
        class="muted">Secrets set: ${i.secretsSet.join(", ") || "none"} · outbox: ${i
          .outboxPending} · dead letters: ${i.deadLetters}</div>
    </div>
    <h2>Log types</h2>
    ${i.streams.length === 0 ? html`<p class="muted">Nothing received yet.</p>` : html`
      <table id="streams">
        <thead>
          <tr>
            <th>Log type</th>
            <th>Received up to</th>
            <th>Lag</th>
            <th>Newest alert</th>
            <th>Alerts</th>
          </tr>
        </thead>
        <tbody>${i.streams.map((s) =>
          html`
            <tr>
              <td>${s.logType}${s.skipped
                ? html`<div class="error">Not read: ${s.skipped.from} to ${s.skipped.to}. ${s.skipped.reason}</div>`
                : ""}</td>
              <td>${when(s.listedAt)}</td>
              <td>${age(s.lagSeconds)}</td>
              <td>${when(s.newestAt)}</td>
              <td>${s.alerts}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `}
    ${options.stats ? integrationCharts(options.stats) : ""}
    ${options.backfill ?? ""}
    <h2 id="run-history">Runs</h2>
    ${options.runs.length === 0 ? html`<p class="muted">No run yet.</p>` : html`
      <table id="runs">
        <thead>
          <tr>
            <th>Started</th>
            <th>Took</th>
            <th>Status</th>
            <th>Trigger</th>
            <th>Fetched</th>
            <th>Filtered</th>
            <th>Invalid</th>
            <th>Alerts</th>
            <th>Duplicates</th>
            <th>Delivered</th>
            <th>Error, notes</th>
          </tr>
        </thead>
        <tbody>${options.runs.map((r) =>
          html`
            <tr data-run-id="${r.id}">
              <td>${when(r.startedAt)}</td>
              <td class="duration">${r.finishedAt
                ? durationText(Date.parse(r.finishedAt) - Date.parse(r.startedAt))
                : "running"}</td>
              <td>${badge(r.status)}</td>
              <td>${r.backfill
                ? html`backfill<div class="muted">${
                  r.backfill.logTypes.join(", ")
                } · ${r.backfill.from} to ${r.backfill.to}${
                  r.backfill.redeliver ? " · redeliver" : ""
                }</div>`
                : r.trigger}</td>
              <td>${r.counts.fetched}</td>
              <td>${r.counts.filtered}</td>
              <td>${r.counts.invalid}</td>
              <td>${r.counts.alerts}</td>
              <td>${r.counts.duplicates}</td>
              <td>${r.counts.delivered}</td>
              <td>${r.error
                ? html`<div class="error">${r.error}</div>${
                  r.hint ? html`<div class="help">${r.hint}</div>` : ""
                }`
                : ""}${r.skipped.map((s) =>
                  html`<div class="error">Not read: ${s.stream} ${s.from} to ${s.to}. ${s.reason}</div>`
                )}${runNotes(r.notes)}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `}
    ${runsPager(base, options.runsPage)}
    <h2>Dead letters</h2>
    ${options.deadLetters.length === 0 ? html`<p class="muted">None.</p>` : html`
      ${postButton(`${base}/redrive`, `Redrive all ${options.deadLetters.length}`, options.csrf)}
      <table id="dead-letters">
        <thead>
          <tr>
            <th>Webhook id</th>
            <th>Alerts</th>
            <th>Attempts</th>
            <th>Dead since</th>
            <th>Last error (with the receiver's answer)</th>
            <th></th>
          </tr>
        </thead>
        <tbody>${options.deadLetters.map((b) =>
          html`
            <tr data-webhook-id="${b.webhookId}">
              <td><code>${b.webhookId}</code></td>
              <td>${b.alertCount}</td>
              <td>${b.attempts}</td>
              <td>${when(b.deadAt)}</td>
              <td>${b.lastError ?? ""}</td>
              <td class="actions">${postButton(
                `${base}/dead-letters/${b.webhookId}/redrive`,
                "Redrive",
                options.csrf,
                "secondary",
              )}${postButton(
                `${base}/dead-letters/${b.webhookId}/discard`,
                "Discard",
                options.csrf,
                "danger",
              )}</td>
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
              <td>${when(r.createdAt)}</td>
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
/** What the webhook receiver answered to a test event. */
export function webhookResult(result: WebhookProbe): Html {
  return html`<div class="card" id="webhook-result"><h2>Send test event: ${
    badge(result.ok ? "ok" : "failed")
  }</h2>
<p>${
    result.status === undefined
      ? html`<span class="error">${result.error}</span>`
      : html`The receiver answered <strong>${result.status}</strong> in ${result.ms} ms.`
  } <span
      class="muted">webhook-id ${result.webhookId}</span></p>
${result.excerpt ? html`<pre class="excerpt">${result.excerpt}</pre>` : ""}</div>`;
}

export function checkResult(
  result: {
    ok: boolean;
    results: CheckResult[];
    error?: string;
    hint?: string;
    note?: string;
    scheduleEnabled?: boolean;
  },
): Html {
  return html`<div class="card" id="check-result"><h2>Test connection: ${
    badge(result.ok ? "ok" : "failed")
  }</h2>
${
    result.scheduleEnabled
      ? html`<p id="schedule-enabled" role="status">Every log type passed: the schedule is now on.</p>`
      : ""
  }${result.note ? html`<p class="help">${result.note}</p>` : ""}
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

/** The links between pages of the run history: plain links, so they work without JavaScript. */
function runsPager(base: string, paging?: { next: string | null; older: boolean }): Html | "" {
  if (!paging || (!paging.next && !paging.older)) return "";
  return html`<nav class="actions" id="runs-pager" aria-label="Run history pages">${
    paging.older ? html`<a href="${base}#run-history">Newest runs</a>` : ""
  }${
    paging.next
      ? html`<a id="older-runs" href="${base}?runsBefore=${
        encodeURIComponent(paging.next)
      }#run-history">Older runs</a>`
      : ""
  }</nav>`;
}

/** A run's length in words: "850 ms", "12.3 s", "4 min 5 s", "2 h 3 min". */
export function durationText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function formatLabel(format: string): string {
  return isDestinationFormat(format) ? DESTINATION_FORMATS[format] : format;
}

/** How many alerts the preview shows as JSON. */
const PREVIEW_JSON = 5;

/** One row of the preview's table, whichever format the alerts are in. */
interface PreviewRow {
  when: string;
  type: string;
  logType: string;
  attack: string;
  from: string;
  to: string;
  verdict: string;
}

function previewRow(item: unknown, format: DestinationFormat): PreviewRow {
  if (format === "ocsf") {
    const f = item as DetectionFinding;
    const attack = f.finding_info.attacks?.[0];
    const mitre = attack?.sub_technique ?? attack?.technique ?? attack?.tactic;
    const mail = f.evidences?.[0]?.email;
    return {
      when: new Date(f.time).toISOString().replace(".000Z", "Z"),
      type: f.finding_info.title,
      logType: String(f.unmapped.logType ?? ""),
      attack: mitre ? `${mitre.uid} ${mitre.name ?? ""}` : "",
      from: mail?.from ?? "",
      to: mail?.to?.join(", ") ?? "",
      verdict: `${String(f.unmapped.verdict ?? "")} · ${f.severity}`,
    };
  }
  const a = item as Alert;
  return {
    when: a.occurredAt,
    type: a.alertType,
    logType: a.logType,
    attack: `${a.threatId} ${a.threatName}`,
    from: a.email?.from ?? "",
    to: a.email?.to ?? "",
    verdict: a.verdict,
  };
}

/** The result of a preview. */
export function previewResult(
  result: {
    format: DestinationFormat;
    alerts: unknown[];
    filtered: unknown[];
    invalid: unknown[];
    counts: Record<string, number>;
    error?: string;
  },
): Html {
  const rows = result.alerts.slice(0, 100).map((a) => previewRow(a, result.format));
  return html`<div class="card" id="preview-result"><h2>Preview</h2>
<p class="muted">What the next run would send, as ${
    DESTINATION_FORMATS[result.format]
  }. Nothing was delivered and no cursor moved.</p>
${result.error ? html`<p class="error">${result.error}</p>` : ""}
<p>fetched ${result.counts.fetched} · filtered ${result.counts.filtered} · invalid ${result.counts.invalid} · alerts ${result.counts.alerts}</p>
${
    rows.length === 0 ? "" : html`
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
        <tbody>${rows.map((r) =>
          html`
            <tr>
              <td>${r.when}</td>
              <td>${r.type}<div class="muted">${r.logType}</div></td>
              <td>${r.attack}</td>
              <td>${r.from} → ${r.to}</td>
              <td>${r.verdict}</td>
            </tr>
          `
        )}</tbody>
      </table>
      <details id="preview-json">
        <summary>The JSON of the first ${Math.min(
          result.alerts.length,
          PREVIEW_JSON,
        )}, exactly as the webhook body's <code>alerts</code> would carry them</summary>
        <pre>${JSON.stringify(result.alerts.slice(0, PREVIEW_JSON), null, 2)}</pre>
      </details>
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

/** What deleting an integration loses, and the button that does it. */
export function deletePage(
  i: { id: string; name: string; outboxPending: number; deadLetters: number },
  runs: number,
  csrf: string,
): Html {
  const base = `/integrations/${i.id}`;
  return html`
    <h1>Delete ${i.name}?</h1>
    <div class="card" id="delete-loses">
      <p>Deleting it removes, for good:</p>
      <ul>
        <li><strong>${i
          .outboxPending}</strong> batch(es) waiting in the outbox, never to be delivered</li>
        <li><strong>${i.deadLetters}</strong> dead letter(s), which can no longer be redriven</li>
        <li><strong>${runs}</strong> run(s) of history, its invalid records and its log types' progress</li>
        <li>its checkpoint: created again, it starts over from its <em>startFrom</em></li>
        <li>its config and sealed secrets</li>
      </ul>
      <p class="help">Alerts already delivered stay with the receiver. A running run is cancelled
        first. To stop it for a while instead, turn its schedule off in <a href="${base}/edit">Edit</a>.</p>
      <div class="actions">
        <form method="post" action="${base}/delete">${csrfField(csrf)}<input type="hidden"
            name="confirm" value="yes"><button class="danger">Delete ${i.name}</button></form>
        <a class="button secondary" href="${base}">Keep it</a>
      </div>
    </div>
  `;
}

/**
 * The running run's progress, per log type (SPEC §5.8): polled by the page script every second
 * (from `/integrations/:id/live`), and without JavaScript the page reloads itself while a run
 * goes on. Without a run it says so, and polling stops.
 */
export function liveSection(i: IntegrationView): Html {
  const run = i.runningRunId && i.lastRun?.id === i.runningRunId ? i.lastRun : undefined;
  if (!run) {
    return html`
      <section id="live" class="card">
        <h2>Now</h2>
        <p class="muted">No run is going on.</p>
      </section>
    `;
  }
  // A backfill's progress is its own run's, over its span; a live run's is the streams'.
  const rows = run.backfill
    ? run.backfill.logTypes.map((logType) => {
      const at = run.progress[logType] ?? null;
      const left = at ? (Date.parse(run.backfill!.to) - Date.parse(at)) / 1000 : null;
      return { logType, listedAt: at, behind: left === null ? null : Math.max(0, left) };
    })
    : i.streams.map((s) => ({ logType: s.logType, listedAt: s.listedAt, behind: s.lagSeconds }));
  return html`
    <section id="live" class="card" data-running="${run.id}"
      data-live="/integrations/${i
        .id}/live" aria-live="polite">
      <noscript><meta http-equiv="refresh" content="2"></noscript>
      <h2>Now: ${run.backfill ? "backfill" : "run"} ${badge(
        "running",
      )} <span class="muted">started ${when(
        run.startedAt,
      )}</span></h2>
      ${run.backfill
        ? html`<p class="muted" id="live-span">Replaying ${run.backfill.from} to ${run.backfill.to}${
          run.backfill.redeliver ? ", redelivering" : ""
        }</p>`
        : ""}
      <p
        id="live-counts">fetched <strong>${run.counts.fetched}</strong> · alerts <strong>${run
          .counts
          .alerts}</strong> · delivered <strong>${run.counts.delivered}</strong> · filtered ${run
          .counts
          .filtered} · duplicates ${run.counts.duplicates} · invalid ${run.counts.invalid}</p>
      <table>
        <thead>
          <tr>
            <th>Log type</th>
            <th>Received up to</th>
            <th>${run.backfill ? "Left of the span" : "Behind now"}</th>
          </tr>
        </thead>
        <tbody>${rows.map((s) =>
          html`
            <tr data-log-type="${s.logType}">
              <td>${s.logType}</td>
              <td>${when(s.listedAt)}</td>
              <td>${age(s.behind)}</td>
            </tr>
          `
        )}</tbody>
      </table>
    </section>
  `;
}

/** What a run's normalize counted by name (e.g. which rejections alerted), folded: it can be long. */
function runNotes(notes: Record<string, number>): Html | string {
  const entries = Object.entries(notes);
  if (entries.length === 0) return "";
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return html`
    <details
      class="notes"><summary class="muted">${entries
        .length} note(s), ${total} record(s)</summary>${entries.map(([name, n]) =>
          html`<div class="muted">${name}: ${n}</div>`
        )}</details>
  `;
}
