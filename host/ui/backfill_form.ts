/**
 * The integration page's **Backfill** form (SPEC §5.3, §5.8): the log types to replay, a span in
 * UTC and whether to send again what was already delivered. A plain POST form with the CSRF
 * token, so it works without JavaScript; errors come back next to the field they concern.
 * @module
 */
import { html } from "hono/html";
import type { BackfillRequest } from "../backfill.ts";
import type { Manifest } from "../manifest.ts";
import type { IntegrationRow } from "../store/mod.ts";
import type { Issue } from "../types.ts";
import { csrfField, type Html } from "./layout.ts";

/** What the form shows: the values last sent (or the defaults) and the issues per field. */
export interface BackfillFormState {
  logTypes: string[];
  from: string;
  to: string;
  redeliver: boolean;
  errors: Record<string, string[]>;
}

/** The integration's log types; a config without the field: those a backfill may name. */
function configuredLogTypes(row: Pick<IntegrationRow, "config">, fallback: string[]): string[] {
  return Array.isArray(row.config.logTypes) ? row.config.logTypes.map(String) : fallback;
}

/** `YYYY-MM-DDTHH:MM` in UTC, as a `datetime-local` input shows it. */
function inputTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

/** The form's first state: the replayable log types of the integration, the last 24 hours. */
export function backfillDefaults(
  manifest: Manifest,
  row: Pick<IntegrationRow, "config">,
  now: number,
): BackfillFormState {
  const replayable = manifest.backfill?.logTypes ?? [];
  const configured = configuredLogTypes(row, replayable);
  const to = Math.floor(now / 60_000) * 60_000;
  return {
    logTypes: replayable.filter((t) => configured.includes(t)),
    from: inputTime(to - 86_400_000),
    to: inputTime(to),
    redeliver: false,
    errors: {},
  };
}

/**
 * Reads a submitted form into a backfill request and the state to show again. A time typed
 * without a zone (what `datetime-local` sends) is UTC.
 */
export function readBackfillForm(
  form: FormData,
): { request: BackfillRequest; state: BackfillFormState } {
  const utc = (value: FormDataEntryValue | null) => {
    const text = String(value ?? "").trim();
    return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? `${text}Z` : text;
  };
  const logTypes = form.getAll("logTypes").map(String);
  const state = {
    logTypes,
    from: String(form.get("from") ?? ""),
    to: String(form.get("to") ?? ""),
    redeliver: form.get("redeliver") === "true",
    errors: {},
  };
  return {
    request: {
      logTypes,
      from: utc(form.get("from")),
      to: utc(form.get("to")),
      redeliver: state.redeliver,
    },
    state,
  };
}

/** Files a backfill's issues under the form's fields (`logTypes.1` under `logTypes`). */
export function backfillErrors(issues: Issue[] = []): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  for (const { path, message } of issues) {
    const field = ["logTypes", "from", "to", "redeliver"].find((f) => path.split(".")[0] === f) ??
      "";
    (errors[field] ??= []).push(message);
  }
  return errors;
}

/** The Backfill card; `manifest.backfill` absent: a line saying the plugin cannot replay. */
export function backfillForm(options: {
  action: string;
  csrf: string;
  manifest: Manifest | undefined;
  row: Pick<IntegrationRow, "config">;
  state: BackfillFormState;
  running: boolean;
}): Html {
  const { manifest, state } = options;
  const backfill = manifest?.backfill;
  if (!backfill) {
    return html`
      <section id="backfill" class="card">
        <h2>Backfill</h2>
        <p class="muted">This integration's plugin cannot replay a past span.</p>
      </section>
    `;
  }
  const configured = configuredLogTypes(options.row, backfill.logTypes);
  const picked = new Set(state.logTypes);
  const errors = (field: string) =>
    (state.errors[field] ?? []).map((e) => html`<p class="error" role="alert">${e}</p>`);
  const invalid = (field: string) => (state.errors[field]?.length ?? 0) > 0;
  const aria = (field: string) =>
    invalid(field) ? html`aria-invalid="true" aria-describedby="backfill-${field}-error"` : "";
  const field = (name: "from" | "to", label: string) =>
    html`<div class="field${
      invalid(name) ? " invalid" : ""
    }"><label for="backfill-${name}">${label}</label>
<input type="datetime-local" id="backfill-${name}" name="${name}" value="${
      state[name]
    }" step="1" required ${aria(name)}><div id="backfill-${name}-error">${
      errors(name)
    }</div></div>`;
  return html`
    <section id="backfill" class="card">
      <h2>Backfill</h2>
      <p
        class="help">Reads a past span again (Mimecast keeps ${backfill
          .retentionDays} days) without moving the live cursors. Alerts already delivered are
        not sent again unless you tick <em>Redeliver</em>. A backfill is a run of its own: it shows
        its progress above and can be cancelled; it is not resumed after a restart.</p>
      <form method="post" action="${options.action}" id="backfill-form">${csrfField(options.csrf)}
        <fieldset class="field${invalid("logTypes") ? " invalid" : ""}"${invalid("logTypes")
          ? html`
            aria-invalid="true"
          `
          : ""}>
          <legend>Log types</legend>
          <div class="checks">${configured.map((logType) => {
            const why = backfill.notReplayable[logType];
            const can = backfill.logTypes.includes(logType);
            return html`
              <label
                title="${why ??
                  ""}"><input type="checkbox" name="logTypes" value="${logType}"${can &&
                    picked.has(logType)
                  ? " checked"
                  : ""}${can ? "" : " disabled"}> ${logType}${can ? "" : html`
                  <span class="muted">(cannot be replayed)</span>
                `}</label>
            `;
          })}</div>
          ${configured.filter((t) => backfill.notReplayable[t]).map((t) =>
            html`<p class="help">${t}: ${backfill.notReplayable[t]}.</p>`
          )}
          <div id="backfill-logTypes-error">${errors("logTypes")}</div>
        </fieldset>
        ${field("from", "From (UTC)")}${field("to", "To (UTC)")}
        <div class="field"><label><input type="checkbox" name="redeliver" value="true"${state
            .redeliver
          ? " checked"
          : ""}> Redeliver: send again what was already delivered (new webhook ids, <code>replay: true</code>)</label></div>
        ${errors("")}
        <button${options.running ? " disabled" : ""}>Start backfill</button>${options.running
          ? html`
            <span class="muted">A run is going on: wait for it or cancel it first.</span>
          `
          : ""}
      </form>
    </section>
  `;
}
