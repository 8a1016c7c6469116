import { deepStrictEqual, equal } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { integrationBody, NOW, testHost } from "./_host.ts";

Deno.test("the scheduler starts due integrations once, honours enabled and interval, and jitters", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 10, { start: NOW - 3_600_000 }));
    const a = (await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { intervalSeconds: 600, enabled: true } },
    })).json()).id;
    const off = (await (await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), name: "Paused", schedule: { enabled: false } },
    })).json()).id;
    // First sight: due within 10 s (spread so a fleet of integrations does not fire together).
    deepStrictEqual(await t.host.scheduler.tick(), []);
    t.clock.advance(10_001);
    deepStrictEqual(await t.host.scheduler.tick(), [a]);
    deepStrictEqual(
      await t.host.scheduler.tick(),
      [],
      "not twice while running, nor before the interval",
    );
    await t.host.runner.settled(a);
    t.clock.advance(539_000); // 0.9 × 600 s is the earliest jittered time
    deepStrictEqual(await t.host.scheduler.tick(), []);
    t.clock.advance(121_000); // 1.1 × 600 s is the latest
    deepStrictEqual(await t.host.scheduler.tick(), [a]);
    await t.host.runner.settled(a);
    const { runs } = await (await t.request(`/api/integrations/${a}/runs`)).json();
    deepStrictEqual(runs.map((r: { trigger: string; status: string }) => [r.trigger, r.status]), [[
      "schedule",
      "succeeded",
    ], ["schedule", "succeeded"]]);
    equal((await (await t.request(`/api/integrations/${off}/runs`)).json()).runs.length, 0);
  } finally {
    await t.close();
  }
});
