import { deepStrictEqual, equal, rejects } from "node:assert/strict";
import * as v from "valibot";
import { MimecastSimulator, SIM_CLIENT, SIM_KEYS } from "../../fixtures/simulator/mod.ts";
import { configSchema } from "../../plugin/config.ts";
import { MimecastError } from "../../plugin/errors.ts";
import { plugin } from "../../plugin/mod.ts";
import { drive, FakeClock, newState, pluginContext } from "../_helpers.ts";

const DIR = new URL("../../fixtures/mimecast/", import.meta.url);
const CASES = ["url_clicks", "attachment_sandbox", "impersonation_detections"] as const;
const NOW = Date.UTC(2025, 2, 4, 12, 0, 0);

async function load(name: string) {
  const fixture = JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, DIR)));
  const golden = JSON.parse(await Deno.readTextFile(new URL(`${name}.expected.json`, DIR)));
  return { fixture, golden };
}

const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);

for (const apiVersion of ["2.0", "1.0"] as const) {
  Deno.test(`the plugin pulls all three log types over API ${apiVersion}, survives faults, resumes, and matches the golden alerts`, async () => {
    const clock = new FakeClock(NOW);
    const sim = new MimecastSimulator({ now: clock.now, maxPageSize: 2 });
    const expected = [];
    let filtered = 0;
    for (const name of CASES) {
      const { fixture, golden } = await load(name);
      sim.add(fixture.logType, fixture.records);
      expected.push(...golden.alerts);
      filtered += golden.filtered.length;
    }
    const config = v.parse(configSchema, {
      apiVersion,
      baseUrl: "http://127.0.0.1",
      ...(apiVersion === "2.0" ? SIM_CLIENT : SIM_KEYS),
      startFrom: "7d",
      internalDomains: ["acme-corp.example"],
      mapping: [{
        alertType: "Impersonation Attempt",
        threatId: "T1656",
        threatName: "Impersonation",
      }],
    });
    const options = { config, fetch: sim.fetch, clock, integrationId: "int-golden" };

    // Run 1: a 5xx burst and a 429 are absorbed; the attachment endpoint refuses for good, which
    // fails the run once the other log types, fetched beside it, have read what they could.
    sim.inject({ kind: "5xx", path: "/api/ttp/url/get-logs", times: 2 });
    sim.inject({ kind: "429", path: "/api/ttp/url/get-logs", resetMs: 2000 });
    sim.inject({ kind: "fail", path: "/api/ttp/attachment/get-logs", times: 1 });
    const state = newState();
    await rejects(drive(state, options), MimecastError);
    const afterFault = state.alerts.length;
    equal(afterFault > 0, true, "alerts stored before the fault");
    deepStrictEqual(
      new Set(state.alerts.map((a) => a.logType)),
      new Set(["url", "impersonation"]),
      "the log types beside the failing one were read",
    );

    // Run 2: resumes from the stored checkpoint and finishes.
    clock.advance(60_000);
    await drive(state, options);
    // Run 3: nothing new, nothing again.
    clock.advance(60_000);
    await drive(state, options);

    equal(new Set(state.alerts.map((a) => a.id)).size, state.alerts.length, "no duplicates");
    deepStrictEqual(JSON.parse(JSON.stringify(state.alerts)).sort(byId), [...expected].sort(byId));
    equal(state.filtered, filtered);
  });
}

Deno.test("check() reports per log type what works and what the operator should fix", async () => {
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({ now: clock.now, permissions: ["url"] });
  const config = v.parse(configSchema, {
    apiVersion: "2.0",
    baseUrl: "http://127.0.0.1",
    ...SIM_CLIENT,
  });
  const results = await plugin.check(pluginContext({ config, fetch: sim.fetch, clock }));
  deepStrictEqual(results.map((r) => [r.logType, r.ok]), [["url", true], ["attachment", false], [
    "impersonation",
    false,
  ]]);
  equal(
    /Monitoring > URL Protection \/ Attachment \/ Impersonation Protection Logs > Read/.test(
      results[1].hint!,
    ),
    true,
  );

  const badSecret = v.parse(configSchema, { ...config, clientSecret: "nope" });
  const denied = await plugin.check(pluginContext({ config: badSecret, fetch: sim.fetch, clock }));
  equal(denied.every((r) => !r.ok && /client ID and client secret/.test(r.hint!)), true);
  equal(JSON.stringify(denied).includes("nope"), false);
});
