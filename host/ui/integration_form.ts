/**
 * The integration form: the host's own fields, then the plugin's fields generated from its schema.
 * @module
 */
import { html } from "hono/html";
import { DESTINATION_FORMATS } from "../formats/mod.ts";
import type { Manifest } from "../manifest.ts";
import {
  chosenBranch,
  fieldAnchor,
  type FieldState,
  type FormLayout,
  renderConfigFields,
} from "./form.ts";
import { csrfField, type Html } from "./layout.ts";

/** Host-owned fields of the form, as submitted or stored. */
export interface HostFields {
  name: string;
  destinationUrl: string;
  /** `alerts` or `ocsf` (SPEC §4). */
  destinationFormat: string;
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
  /** The stored secrets cannot be opened with this host's master key: every one is asked again. */
  secretsUnreadable?: boolean;
  /** The webhook secret typed (or generated) before a validation error, kept by the host. */
  keptDestinationSecret?: boolean;
  /** New, paused until a connection check passes: left unticked, the schedule keeps waiting. */
  awaitingCheck?: boolean;
}): Html {
  const { host } = options;
  // Editing keeps the stored webhook secret when left blank, unless it cannot be read; so does
  // a form sent back with errors, which keeps what was typed (never in the page).
  const keepsSecret = options.keptDestinationSecret ||
    (options.editing && !options.secretsUnreadable);
  const err = (name: string) =>
    host.errors[name]?.length
      ? html`<div class="errors" id="${HOST_IDS[name] ?? "form"}-error">${
        host.errors[name].map((e) => html`<p class="error" role="alert">${e}</p>`)
      }</div>`
      : "";
  const cls = (name: string) => (host.errors[name]?.length ? "field invalid" : "field");
  // An invalid control says so and names its message.
  const aria = (name: string) =>
    host.errors[name]?.length
      ? html`
        aria-invalid="true" aria-describedby="${HOST_IDS[name]}-error"
      `
      : "";
  return html`<h1>${options.editing ? "Edit" : "New"} ${options.manifest.name} integration</h1>
${options.problems ? errorSummary(options) : ""}${
    options.secretsUnreadable
      ? html`
        <p class="alert-box"
          id="secrets-unreadable">This host's master key cannot read the stored secrets. Enter every secret again (the fields marked *, the webhook secret included) and save; nothing else is lost.</p>
      `
      : ""
  }
<form method="post" action="${options.action}" id="form" novalidate>${csrfField(options.csrf)}
<fieldset><legend>Integration</legend>
<div class="${
    cls("name")
  }"><label for="f-name">Name *</label><input type="text" id="f-name" name="name" value="${host.name}" required ${
    aria("name")
  }>${err("name")}</div>
<div class="${
    cls("destination.url")
  }"><label for="f-destination-url">Webhook URL *</label><p class="help">Where alerts are POSTed, signed per Standard Webhooks.</p>
<input type="url" id="f-destination-url" name="destination.url" value="${host.destinationUrl}" required ${
    aria("destination.url")
  }>${err("destination.url")}</div>
<div class="${cls("destination.secret")}"><label for="f-destination-secret">Webhook secret${
    keepsSecret ? "" : " *"
  }</label>
<p class="help">whsec_ and base64; your receiver verifies each request with it.${
    options.keptDestinationSecret
      ? " The secret you entered is kept: leave blank to keep it."
      : keepsSecret
      ? " A secret is stored: leave blank to keep it."
      : ""
  }</p>
<input type="password" id="f-destination-secret" name="destination.secret" autocomplete="new-password"${
    options.keptDestinationSecret
      ? html`
        placeholder="kept — leave blank to keep what you typed" data-kept
      `
      : ""
  } ${aria("destination.secret")}>
<button type="button" class="secondary" data-generate-secret="f-destination-secret" hidden>Generate</button>
${
    options.editing ? "" : html`
      <label
        class="checks"><input type="checkbox" name="destination.generate" value="true"> Generate one for me (shown once)</label>
    `
  }
${err("destination.secret")}</div>
<div class="${
    cls("destination.format")
  }"><label for="f-destination-format">Webhook format</label><p class="help">The shape of each alert in the webhook body: Mimecast's alert JSON, or an OCSF Detection Finding for security data lakes.</p>
<select id="f-destination-format" name="destination.format" ${aria("destination.format")}>${
    Object.entries(DESTINATION_FORMATS).map(([value, label]) =>
      html`
        <option value="${value}" ${value === host.destinationFormat
          ? " selected"
          : ""}>${label}</option>
      `
    )
  }</select>${err("destination.format")}</div>
<div class="${
    cls("schedule.intervalSeconds")
  }"><label for="f-interval">Run every (seconds)</label><p class="help">Blank: the plugin's default (${options.manifest.schedule.defaultIntervalSeconds} s). At least 60.</p>
<input type="number" id="f-interval" name="schedule.intervalSeconds" value="${host.intervalSeconds}" ${
    aria("schedule.intervalSeconds")
  }>${err("schedule.intervalSeconds")}</div>
<label class="checks"><input type="checkbox" name="schedule.enabled" value="true"${
    host.enabled ? " checked" : ""
  }> ${
    !options.editing || options.awaitingCheck
      ? "Start the schedule now (left unticked, it starts after the first passing Test connection)"
      : "Run on schedule"
  }</label>
</fieldset>
<fieldset id="config-fields"><legend>${options.manifest.name}</legend>${
    renderConfigFields(options.layout, options.state)
  }</fieldset>
${host.errors[""] ? err("") : ""}
<div class="actions"><button>${
    options.editing ? "Save" : "Create integration"
  }</button><a class="button secondary" href="/">Cancel</a></div>
</form>`;
}

/** The ids of the host's own fields' controls, by their issue path. */
const HOST_IDS: Record<string, string> = {
  name: "f-name",
  "destination.url": "f-destination-url",
  "destination.secret": "f-destination-secret",
  "destination.format": "f-destination-format",
  "schedule.intervalSeconds": "f-interval",
  "schedule.enabled": "f-interval",
};

const HOST_TITLES: Record<string, string> = {
  name: "Name",
  "destination.url": "Webhook URL",
  "destination.secret": "Webhook secret",
  "destination.format": "Webhook format",
  "schedule.intervalSeconds": "Run every (seconds)",
  "schedule.enabled": "Schedule",
};

/**
 * The summary atop a form sent back with errors: how many need attention, and each message as
 * a link to its field, so a keyboard or screen reader user gets there in one step.
 */
function errorSummary(
  options: { layout: FormLayout; state: FieldState; host: HostFields; problems?: number },
): Html {
  const chosen = chosenBranch(options.layout, options.state.values);
  const items = [
    ...Object.entries(options.host.errors).map(([name, messages]) => ({
      id: HOST_IDS[name] ?? "form",
      title: HOST_TITLES[name] ?? (name || "The form"),
      messages,
    })),
    ...Object.entries(options.state.errors).map(([name, messages]) => ({
      ...(name ? fieldAnchor(options.layout, name, chosen) : {
        id: "config-fields",
        title: "The plugin's settings",
      }),
      messages,
    })),
  ];
  return html`
    <div class="alert-box" role="alert" id="error-summary">
      <p><strong>${options
        .problems} problem(s) to fix before saving:</strong></p>
      <ul>${items.flatMap((item) =>
        item.messages.map((message) =>
          html`<li><a href="#${item.id}">${item.title}</a>: ${message}</li>`
        )
      )}</ul>
    </div>
  `;
}
