import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { generatedConfigSchema } from "../../../build.ts";
import type { Manifest } from "../../../host/manifest.ts";
import { layoutOf, readConfigForm, type SchemaNode } from "../../../host/ui/form.ts";
import { fieldErrors } from "../../../host/ui/form_errors.ts";
import { integrationForm } from "../../../host/ui/integration_form.ts";

const manifest = JSON.parse(
  await Deno.readTextFile(new URL("../../../manifest.json", import.meta.url)),
);

const layout = layoutOf(generatedConfigSchema() as SchemaNode);

Deno.test("layoutOf() finds the apiVersion switch, the per-version fields and the shared ones", () => {
  equal(layout.discriminator?.name, "apiVersion");
  equal(layout.discriminator?.default, "2.0");
  deepStrictEqual(layout.branches.get("2.0")!.map((f) => f.name), [
    "baseUrl",
    "clientId",
    "clientSecret",
  ]);
  deepStrictEqual(layout.branches.get("1.0")!.map((f) => f.name), [
    "baseUrl",
    "applicationId",
    "applicationKey",
    "accessKey",
    "secretKey",
  ]);
  deepStrictEqual(layout.common.map((f) => f.name), [
    "logTypes",
    "startFrom",
    "lagSeconds",
    "lateArrivalMinutes",
    "maxPagesPerRun",
    "concurrentCalls",
    "rejectionRules",
    "internalDomains",
    "internalNetworks",
    "mapping",
  ]);
});

Deno.test("readConfigForm() keeps only the chosen version's fields and converts by type", () => {
  const form = new FormData();
  form.set("config.apiVersion", "1.0");
  form.set("config.baseUrl@2.0", "https://ignored.example");
  form.set("config.baseUrl@1.0", "https://eu-api.mimecast.com");
  form.set("config.applicationId@1.0", "ca16c415-658f-4c87-8fb6-e3e6957771dc");
  form.append("config.logTypes", "url");
  form.append("config.logTypes", "impersonation");
  form.set("config.startFrom", "");
  form.set("config.lagSeconds", "120");
  form.set("config.internalDomains", "acme.example\n\n  other.example ");
  form.set("config.mapping", "User Click | T1204.001 | Malicious Link\n");
  form.set("config.rejectionRules", "IP Found in RBL | IP Temporarily Blacklisted\n");
  const { config } = readConfigForm(layout, form);
  deepStrictEqual(config, {
    apiVersion: "1.0",
    baseUrl: "https://eu-api.mimecast.com",
    applicationId: "ca16c415-658f-4c87-8fb6-e3e6957771dc",
    logTypes: ["url", "impersonation"],
    lagSeconds: 120,
    internalDomains: ["acme.example", "other.example"],
    mapping: [{ alertType: "User Click", threatId: "T1204.001", threatName: "Malicious Link" }],
    rejectionRules: [{ match: "IP Found in RBL", alertType: "IP Temporarily Blacklisted" }],
  });
});

Deno.test("fieldErrors() names the line of a list item and the column of a row, in plain words", () => {
  const raw = {
    apiVersion: "2.0",
    internalDomains: "acme.example\n\nfoo\nok.example, bad one",
    mapping: "User Click | T1204.001 | Malicious Link\n\nMalicious Link | bogus | Phishing",
  };
  const errors = fieldErrors(layout, raw, [
    { path: "config.internalDomains.1", message: "Enter a domain such as example.com" },
    { path: "config.internalDomains.3", message: "Enter a domain such as example.com" },
    {
      path: "config.mapping.1.threatId",
      message: "Use a MITRE ATT&CK id such as T1598.003 or TA0001",
    },
    { path: "config.clientId", message: "Client ID is required" },
  ]);
  deepStrictEqual(errors, {
    internalDomains: [
      "Line 3: ‘foo’ is not valid — enter a domain such as example.com",
      "Line 4: ‘bad one’ is not valid — enter a domain such as example.com",
    ],
    mapping: [
      "Line 3, threatId: ‘bogus’ is not valid — use a MITRE ATT&CK id such as T1598.003 or TA0001",
    ],
    clientId: ["Client ID is required"],
  });
});

/** The generated form for a new integration, sent back with these errors. */
function renderedWith(errors: Record<string, string[]>, hostErrors: Record<string, string[]> = {}) {
  const values = { apiVersion: "2.0", internalDomains: "acme.example\n\nfoo" };
  return String(integrationForm({
    manifest: manifest as Manifest,
    layout,
    state: { values, errors, secretsSet: ["clientSecret"], secretsKept: ["clientSecret"] },
    host: {
      name: "x",
      destinationUrl: "",
      destinationFormat: "alerts",
      intervalSeconds: "",
      enabled: false,
      errors: hostErrors,
    },
    action: "/plugins/mimecast/new",
    csrf: "token",
    editing: false,
    problems: Object.values({ ...errors, ...hostErrors }).flat().length,
    keptDestinationSecret: true,
  }));
}

/** The attributes of the element with this id, or undefined when there is none. */
const elementWithId = (page: string, id: string) =>
  new RegExp(`<(\\w+)\\s[^>]*\\bid="${id.replace(/[.]/g, "\\.")}"[^>]*>`).exec(page);

Deno.test("an invalid field has aria-invalid and aria-describedby naming its message; the summary links to it", () => {
  const page = renderedWith(
    { internalDomains: ["Line 3: ‘foo’ is not valid — enter a domain such as example.com"] },
    { "destination.url": ["Enter the webhook's URL"] },
  );
  for (const [id, tag] of [["f-internalDomains", "textarea"], ["f-destination-url", "input"]]) {
    const control = elementWithId(page, id);
    ok(control, id);
    equal(control[1], tag);
    match(control[0], /aria-invalid="true"/);
    const described = /aria-describedby="([^"]+)"/.exec(control[0])?.[1];
    equal(described, `${id}-error`);
    ok(elementWithId(page, described), `no element ${described}`);
    // The summary at the top links to the field.
    ok(page.includes(`<a href="#${id}">`), `no summary link to ${id}`);
  }
  match(page, /Line 3: ‘foo’ is not valid — enter a domain such as example\.com/);
  ok(page.indexOf('id="error-summary"') < page.indexOf("<form"));
  // Valid fields claim nothing.
  equal(/aria-invalid/.test(elementWithId(page, "f-name")![0]), false);
  // A secret typed before is kept by the host, never put into the page.
  match(elementWithId(page, "f-clientSecret-2_0")![0], /placeholder="kept/);
  equal(/value=/.test(elementWithId(page, "f-clientSecret-2_0")![0]), false);
});

Deno.test("every label points at a form control that exists; the log types are a fieldset with a legend", () => {
  const page = renderedWith({ logTypes: ["Choose at least one log type"] });
  const targets = [...page.matchAll(/<label[^>]*\sfor="([^"]+)"/g)].map((m) => m[1]);
  ok(targets.length > 10);
  for (const id of targets) {
    const element = elementWithId(page, id);
    ok(element, `label for="${id}" points at nothing`);
    ok(["input", "select", "textarea"].includes(element[1]), `label for="${id}" → <${element[1]}>`);
  }
  match(page, /<fieldset class="field checks invalid" id="f-logTypes"><legend>Log types<\/legend>/);
  ok(page.includes('<a href="#f-logTypes">Log types</a>: Choose at least one log type'));
  match(elementWithId(page, "f-logTypes-0")![0], /aria-invalid="true"/);
});
