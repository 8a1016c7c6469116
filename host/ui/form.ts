/**
 * Forms generated from a plugin's JSON Schema (no hand-written form per plugin), and the reverse:
 * a submitted form back into a config object. A `oneOf` whose branches share a `const` property
 * (the Mimecast `apiVersion`) becomes a select plus one fieldset per branch; fields that are the
 * same in every branch are shown once.
 * @module
 */
import { html } from "hono/html";
import type { Html } from "./layout.ts";

/** A JSON Schema node, as much of it as forms use. */
export interface SchemaNode {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  examples?: unknown[];
  writeOnly?: boolean;
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
}

/** A field to render: where it lives, its schema, and whether it is required there. */
interface Field {
  name: string;
  schema: SchemaNode;
  required: boolean;
  /** The branch's discriminator value, or undefined for a field common to every branch. */
  branch?: string;
}

/** The form's layout: the discriminator (if any), common fields, and fields per branch. */
export interface FormLayout {
  discriminator?: {
    name: string;
    title: string;
    options: { value: string; label: string }[];
    default?: string;
  };
  common: Field[];
  branches: Map<string, Field[]>;
}

/** Works out the layout of a config schema. */
export function layoutOf(schema: SchemaNode): FormLayout {
  const branches = schema.oneOf ?? schema.anyOf;
  if (!branches) {
    return { common: fieldsOf(schema), branches: new Map() };
  }
  const key = Object.keys(branches[0].properties ?? {}).find((k) =>
    branches.every((b) => b.properties?.[k]?.const !== undefined)
  );
  if (!key) return { common: fieldsOf(branches[0]), branches: new Map() };
  const discriminator = {
    name: key,
    title: branches.map((b) => b.properties![key].title).find(Boolean) ?? titleOf(key),
    options: branches.map((b) => {
      const p = b.properties![key];
      return {
        value: String(p.const),
        label: p.description ? `${p.description}` : String(p.const),
      };
    }),
    default: branches.map((b) => b.properties![key]).find((p) => p.default !== undefined)
      ?.default as string | undefined,
  };
  const perBranch = branches.map((b) => fieldsOf(b).filter((f) => f.name !== key));
  const same = (f: Field) =>
    perBranch.every((fields) =>
      fields.some((g) => g.name === f.name && JSON.stringify(g) === JSON.stringify(f))
    );
  const common = perBranch[0].filter(same);
  const map = new Map<string, Field[]>();
  branches.forEach((b, i) => {
    const value = String(b.properties![key].const);
    map.set(
      value,
      perBranch[i].filter((f) => !common.some((c) => c.name === f.name)).map((f) => ({
        ...f,
        branch: value,
      })),
    );
  });
  return { discriminator, common, branches: map };
}

function fieldsOf(schema: SchemaNode): Field[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    schema: s,
    required: required.has(name),
  }));
}

/** What a field shows: a submitted or stored value, and its error. */
export interface FieldState {
  values: Record<string, unknown>;
  errors: Record<string, string[]>;
  /** Secret fields that hold a stored value ("set"). */
  secretsSet?: string[];
  /** Secret fields whose typed value the host kept from a try that came back with errors. */
  secretsKept?: string[];
}

/** The input name of a field: `config.<name>`, suffixed `@<branch>` inside a branch. */
export function inputName(field: { name: string; branch?: string }): string {
  return `config.${field.name}${field.branch === undefined ? "" : `@${field.branch}`}`;
}

/** Renders the plugin part of a form. */
export function renderConfigFields(layout: FormLayout, state: FieldState): Html {
  const chosen = chosenBranch(layout, state.values);
  return html`${
    layout.discriminator
      ? html`<div class="field"><label for="f-${layout.discriminator.name}">${layout.discriminator.title}</label>
<select id="f-${layout.discriminator.name}" name="config.${layout.discriminator.name}" data-discriminator>${
        layout.discriminator.options.map((o) =>
          html`
            <option value="${o.value}" ${o.value === chosen ? " selected" : ""}>${o.label}</option>
          `
        )
      }</select>${
        errorsOf(state, layout.discriminator.name, `f-${layout.discriminator.name}`)
      }</div>`
      : ""
  }
${
    [...layout.branches].map(([value, fields]) =>
      html`<fieldset data-branch="${value}"><legend>${
        layout.discriminator!.title
      } ${value}</legend>${fields.map((f) => renderField(f, state, value === chosen))}</fieldset>`
    )
  }
${layout.common.map((f) => renderField(f, state, true))}`;
}

function titleOf(name: string, schema?: SchemaNode): string {
  return schema?.title ?? name.replace(/([A-Z])/g, " $1").replace(/^./, (c) => c.toUpperCase());
}

/** The id of a field's control: `f-<name>`, suffixed with its branch inside one. */
function idOf(field: { name: string; branch?: string }): string {
  return `f-${field.name}${field.branch ? `-${field.branch.replace(/\W/g, "_")}` : ""}`;
}

/** Where the error summary links to for a field, and its title: in the chosen branch, or common. */
export function fieldAnchor(
  layout: FormLayout,
  name: string,
  chosen: string,
): { id: string; title: string } {
  if (layout.discriminator?.name === name) {
    return { id: `f-${name}`, title: layout.discriminator.title };
  }
  const field = [...(layout.branches.get(chosen) ?? []), ...layout.common].find((f) =>
    f.name === name
  );
  return field
    ? { id: idOf(field), title: titleOf(field.name, field.schema) }
    : { id: "config-fields", title: titleOf(name) };
}

/** The discriminator value a form shows: the submitted or stored one, else the default. */
export function chosenBranch(layout: FormLayout, values: Record<string, unknown>): string {
  return String(
    values[layout.discriminator?.name ?? ""] ?? layout.discriminator?.default ??
      layout.discriminator?.options[0]?.value ?? "",
  );
}

/** The error messages under a field, with the id its control's `aria-describedby` names. */
function errorsOf(state: FieldState, name: string, id: string): Html {
  const errors = state.errors[name] ?? [];
  if (errors.length === 0) return html``;
  return html`<div class="errors" id="${id}-error">${
    errors.map((e) => html`<p class="error" role="alert">${e}</p>`)
  }</div>`;
}

function renderField(field: Field, state: FieldState, active: boolean): Html {
  const { schema } = field;
  const id = idOf(field);
  const name = inputName(field);
  const value = active ? state.values[field.name] : undefined;
  const shown = value ?? schema.default;
  const invalid = active && (state.errors[field.name]?.length ?? 0) > 0;
  // Each invalid control says so, and names its message (WCAG 3.3.1).
  const aria = invalid
    ? html`
      aria-invalid="true" aria-describedby="${id}-error"
    `
    : "";
  const req = field.required && !(schema.writeOnly && state.secretsSet?.includes(field.name));
  const reqAttr = req
    ? html`
      data-required${field.branch === undefined
        ? html`
          required
        `
        : ""}
    `
    : "";
  const title = html`${titleOf(field.name, schema)}${req ? " *" : ""}`;
  const help = schema.description ? html`<p class="help">${schema.description}</p>` : "";
  const errors = active ? errorsOf(state, field.name, id) : "";
  if (schema.type === "array" && schema.items?.enum) {
    // A group of checkboxes has no one control a label could point at: a fieldset names it.
    const picked = new Set((Array.isArray(shown) ? shown : []).map(String));
    return html`<fieldset class="field checks${
      invalid ? " invalid" : ""
    }" id="${id}"><legend>${title}</legend>
${help}${
      schema.items.enum.map((o, i) =>
        html`
          <label
            for="${id}-${i}"><input type="checkbox" id="${id}-${i}" name="${name}" value="${String(
              o,
            )}"${picked.has(String(o)) ? " checked" : ""} ${aria}> ${String(o)}</label>
        `
      )
    }${errors}</fieldset>`;
  }
  let control: Html;
  if (schema.writeOnly) {
    const set = state.secretsSet?.includes(field.name);
    const kept = state.secretsKept?.includes(field.name);
    control = html`
      <input type="password" id="${id}" name="${name}" autocomplete="new-password"
        placeholder="${kept
          ? "kept — leave blank to keep what you typed"
          : set
          ? "set — leave blank to keep"
          : ""}" ${kept ? html`data-kept` : ""} ${reqAttr} ${aria}>
      ${kept
        ? html`<p class="help">What you typed is kept by the host (never shown): leave blank to keep it.</p>`
        : set
        ? html`<p class="help">A value is stored. Type a new one to replace it.</p>`
        : ""}
    `;
  } else if (schema.enum) {
    control = html`
      <select id="${id}" name="${name}" ${reqAttr} ${aria}>${schema.enum.map((o) =>
        html`<option${String(o) === String(shown) ? " selected" : ""}>${String(o)}</option>`
      )}</select>
    `;
  } else if (schema.type === "array" && schema.items?.type === "object") {
    const columns = Object.keys(schema.items.properties ?? {});
    const text = Array.isArray(shown)
      ? shown.map((row) =>
        columns.map((c) => String((row as Record<string, unknown>)[c] ?? "")).join(" | ")
      ).join("\n")
      : String(shown ?? "");
    control = html`
      <textarea id="${id}" name="${name}" placeholder="${columns.join(" | ")}"
        ${aria}>${text}</textarea>
      <p class="help">One row per line: ${columns.join(" | ")}</p>
    `;
  } else if (schema.type === "array") {
    const text = Array.isArray(shown) ? shown.join("\n") : String(shown ?? "");
    control = html`
      <textarea id="${id}" name="${name}" ${aria}>${text}</textarea>
      <p class="help">One per line.</p>
    `;
  } else if (schema.type === "number" || schema.type === "integer") {
    control = html`
      <input type="number" id="${id}" name="${name}" value="${shown === undefined
        ? ""
        : String(shown)}" ${reqAttr}
        ${aria}>
    `;
  } else if (schema.type === "boolean") {
    control = html`
      <input type="checkbox" id="${id}" name="${name}" value="true" ${shown === true ||
          shown === "true"
        ? " checked"
        : ""} ${aria}>
    `;
  } else {
    const list = schema.examples?.length ? `${id}-options` : undefined;
    control = html`
      <input type="text" id="${id}" name="${name}" value="${shown === undefined
        ? ""
        : String(shown)}"
        ${list
          ? html`
            list="${list}"
          `
          : ""}${reqAttr} ${aria}>${list
          ? html`<datalist id="${list}">${
            schema.examples!.map((e) => html`<option value="${String(e)}">`)
          }</datalist>`
          : ""}
    `;
  }
  return html`<div class="field${invalid ? " invalid" : ""}"><label for="${id}">${title}</label>
${help}${control}${errors}</div>`;
}

/**
 * The items of a one-per-line list as the form reads them, each with its line (from 1): blank
 * lines are skipped, and a plain list also takes commas, so item 3 need not be line 3.
 */
export function listItems(text: string, commas: boolean): { text: string; line: number }[] {
  return text.split(/\r?\n/).flatMap((line, i) =>
    (commas ? line.split(",") : [line]).map((t) => ({ text: t.trim(), line: i + 1 }))
  ).filter((item) => item.text !== "");
}

/**
 * Reads the plugin part of a submitted form into a config object: only the chosen branch's
 * fields, each converted by its schema type; empty inputs are left out so defaults apply.
 */
export function readConfigForm(
  layout: FormLayout,
  form: FormData,
): { config: Record<string, unknown>; raw: Record<string, unknown> } {
  const config: Record<string, unknown> = {};
  const raw: Record<string, unknown> = {};
  let fields = layout.common;
  if (layout.discriminator) {
    const chosen = String(
      form.get(`config.${layout.discriminator.name}`) ?? layout.discriminator.default ?? "",
    );
    config[layout.discriminator.name] = chosen;
    raw[layout.discriminator.name] = chosen;
    fields = [...(layout.branches.get(chosen) ?? []), ...fields];
  }
  for (const field of fields) {
    const name = inputName(field);
    const { schema } = field;
    if (schema.type === "array" && schema.items?.enum) {
      const values = form.getAll(name).map(String);
      raw[field.name] = values;
      config[field.name] = values;
      continue;
    }
    const text = String(form.get(name) ?? "");
    if (schema.type === "boolean") {
      config[field.name] = text === "true";
      raw[field.name] = text === "true";
      continue;
    }
    raw[field.name] = text;
    if (text.trim() === "") continue;
    if (schema.type === "array" && schema.items?.type === "object") {
      const columns = Object.keys(schema.items.properties ?? {});
      config[field.name] = listItems(text, false).map(({ text: line }) =>
        Object.fromEntries(
          line.split("|").map((c, i) => [columns[i] ?? `column${i + 1}`, c.trim()]),
        )
      );
    } else if (schema.type === "array") {
      config[field.name] = listItems(text, true).map((item) => item.text);
    } else if (schema.type === "number" || schema.type === "integer") {
      config[field.name] = Number(text);
    } else {
      config[field.name] = text;
    }
  }
  return { config, raw };
}
