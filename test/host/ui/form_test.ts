import { deepStrictEqual, equal } from "node:assert/strict";
import { generatedConfigSchema } from "../../../build.ts";
import { layoutOf, readConfigForm, type SchemaNode } from "../../../host/ui/form.ts";

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
