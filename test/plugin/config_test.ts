import { deepStrictEqual, equal } from "node:assert/strict";
import * as v from "valibot";
import { configSchema, durationMs } from "../../plugin/config.ts";

const issues = (input: unknown) => {
  const result = v.safeParse(configSchema, input);
  return result.success ? [] : result.issues.map((i) => `${v.getDotPath(i)}: ${i.message}`);
};

Deno.test("configSchema defaults to API 2.0, the global gateway, the three TTP log types, 24h, 30 min late arrivals", () => {
  const config = v.parse(configSchema, { clientId: "id", clientSecret: "secret" });
  deepStrictEqual(config, {
    apiVersion: "2.0",
    baseUrl: "https://api.services.mimecast.com",
    clientId: "id",
    clientSecret: "secret",
    logTypes: ["url", "attachment", "impersonation"],
    startFrom: "24h",
    lagSeconds: 60,
    lateArrivalMinutes: 30,
    maxPagesPerRun: 5000,
    concurrentCalls: 8,
    rejectionRules: [],
    internalDomains: [],
    internalNetworks: [],
    mapping: [],
  });
});

Deno.test("configSchema requires the fields of the chosen API version and ignores the others", () => {
  deepStrictEqual(issues({ apiVersion: "2.0", applicationId: "x" }), [
    'clientId: Invalid key: Expected "clientId" but received undefined',
    'clientSecret: Invalid key: Expected "clientSecret" but received undefined',
  ]);
  const v1 = issues({
    apiVersion: "1.0",
    clientId: "ignored",
    baseUrl: "https://eu-api.mimecast.com",
  });
  deepStrictEqual(v1.map((i) => i.split(":")[0]), [
    "applicationId",
    "applicationKey",
    "accessKey",
    "secretKey",
  ]);
  const ok = v.parse(configSchema, {
    apiVersion: "1.0",
    baseUrl: "https://eu-api.mimecast.com/",
    applicationId: "ca16c415-658f-4c87-8fb6-e3e6957771dc",
    applicationKey: "k",
    accessKey: "a",
    secretKey: "c2VjcmV0",
    clientId: "ignored",
  });
  equal("clientId" in ok, false);
  equal(ok.baseUrl, "https://eu-api.mimecast.com");
});

Deno.test("configSchema lists every bad field with a message that says what to do", () => {
  const found = issues({
    clientId: "id",
    clientSecret: "s",
    baseUrl: "ftp://api.services.mimecast.com",
    logTypes: ["url", "url", "dlp"],
    startFrom: "31d",
    internalDomains: ["not a domain"],
    internalNetworks: ["10.0.0.0/33"],
    mapping: [{ alertType: "X", threatId: "bogus", threatName: "Y" }],
  });
  deepStrictEqual(found.map((i) => i.split(":")[0]), [
    "baseUrl",
    "logTypes.2",
    "startFrom",
    "internalDomains.0",
    "internalNetworks.0",
    "mapping.0.threatId",
  ]);
  equal(found.some((i) => i.includes("Mimecast keeps TTP logs 30 days: enter 30d or less")), true);
  equal(
    issues({ clientId: "id", clientSecret: "s", logTypes: ["url", "url"] })[0],
    "logTypes.1: Each log type may appear once",
  );
  equal(
    issues({ clientId: "id", clientSecret: "s", logTypes: [] })[0],
    "logTypes: Choose at least one log type",
  );
});

Deno.test("a duration that is none gets the one message that says how to write it, not a false limit", () => {
  const found = issues({ clientId: "id", clientSecret: "s", startFrom: "7 days" });
  deepStrictEqual(found, [
    "startFrom: Enter a number followed by m, h or d (minutes, hours, days), such as 90m, 24h or 7d",
  ]);
  deepStrictEqual(issues({ clientId: "id", clientSecret: "s", startFrom: "30d" }), []);
});

Deno.test("durationMs() reads minutes, hours and days", () => {
  equal(durationMs("90m"), 5_400_000);
  equal(durationMs("24h"), 86_400_000);
  equal(durationMs("7d"), 604_800_000);
  equal(Number.isNaN(durationMs("7w")), true);
});
