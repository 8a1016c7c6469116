/**
 * The late-arrival guarantee at the boundary a user relies on, the webhook bodies (SPEC §3.6,
 * §5.3): over runs every 5 minutes, with the host stopped in the middle of one run and started
 * again on the same data folder, every record that appeared up to `lateArrivalMinutes` after its
 * own date reaches the receiver exactly once, no alert id travels under two webhook-ids, and a
 * record later than that is not fetched.
 */
import { equal, ok } from "node:assert/strict";
import { generateRecords, MimecastSimulator } from "../../fixtures/simulator/mod.ts";
import { parseMimecastDate } from "../../plugin/dates.ts";
import { alertId } from "../../plugin/normalize.ts";
import { FakeClock } from "../_helpers.ts";
import { integrationBody, NOW, type Received, testHost, WEBHOOK_SECRET } from "./_host.ts";

const MIN = 60_000;

const mimecastDate = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "+0000");

Deno.test("late records reach the webhook exactly once across runs and a restart mid-run; later than H they do not", async () => {
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({ now: clock.now });
  sim.recordBodies = false;
  // A busy url log (a malicious click every 30 s, each visible at its date) and a quiet
  // attachment log with nothing on time.
  const busy = generateRecords("url", 240, { start: NOW - 30 * MIN, stepMs: 30_000 });
  for (const r of busy) {
    sim.add("url", [{ ...r, scanResult: "malicious" }], parseMimecastDate(String(r.date)));
  }
  const late: {
    logType: "url" | "attachment";
    record: Record<string, unknown>;
    minutes: number;
  }[] = [];
  const addLate = (logType: "url" | "attachment", date: number, minutes: number) => {
    const [r] = generateRecords(logType, 1, { start: date, offset: 500_000 + late.length });
    const record = logType === "url"
      ? { ...r, date: mimecastDate(date), scanResult: "malicious" }
      : { ...r, date: mimecastDate(date), result: "malicious" };
    sim.add(logType, [record], date + minutes * MIN);
    late.push({ logType, record, minutes });
  };
  addLate("url", NOW + 8 * MIN + 30_000, 2);
  addLate("url", NOW + 12 * MIN, 10);
  addLate("url", NOW + 21 * MIN, 20);
  addLate("attachment", NOW + 9 * MIN, 5);
  addLate("attachment", NOW + 14 * MIN + 10_000, 20);
  addLate("attachment", NOW + 16 * MIN, 30);
  addLate("url", NOW + 15 * MIN, 45); // later than H = 30: not fetched

  let t = await testHost({ clock, sim });
  const received: Received[] = [];
  try {
    const created = await t.request("/api/integrations", {
      method: "POST",
      json: {
        ...integrationBody("2.0", { logTypes: ["url", "attachment"], startFrom: "1h" }),
        schedule: { enabled: false },
      },
    });
    const { id } = await created.json();
    for (let minute = 0; minute <= 90; minute += 5) {
      clock.ms = NOW + minute * MIN;
      if (minute === 40) {
        // Stop the host in the middle of a run (its Mimecast call hangs), then start it again
        // on the same data folder, as after a crash.
        sim.inject({ kind: "hang", path: "/api/ttp/attachment/get-logs" });
        await t.request(`/api/integrations/${id}/runs`, { method: "POST" });
        await new Promise((r) => setTimeout(r, 50));
        received.push(...t.receiver.received);
        await t.close({ keep: true });
        t = await testHost({ clock, sim, dir: t.dir, masterKey: t.masterKey });
        const deadline = Date.now() + 5000;
        while ((await (await t.request("/api/plugins")).json()).length === 0) {
          ok(Date.now() < deadline, "the plugin is installed again");
          await new Promise((r) => setTimeout(r, 20));
        }
        continue;
      }
      const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
        .json();
      await t.host.runner.settled(id);
      const run = await (await t.request(`/api/runs/${runId}`)).json();
      equal(run.status, "succeeded", JSON.stringify(run));
    }
    received.push(...t.receiver.received);
    t.receiver.received = received;
    t.receiver.verifyAll(WEBHOOK_SECRET);

    const sentUnder = new Map<string, Set<string>>();
    for (const r of received) {
      for (const alert of r.json.alerts) {
        if (!sentUnder.has(alert.id)) sentUnder.set(alert.id, new Set());
        sentUnder.get(alert.id)!.add(r.id);
      }
    }
    const times = (id: string) => received.flatMap((r) => r.json.alerts).filter((a) => a.id === id);
    for (const { logType, record, minutes } of late) {
      const id = alertId(logType, record);
      equal(times(id).length, minutes <= 30 ? 1 : 0, `${logType} ${minutes} min late`);
    }
    for (const ids of sentUnder.values()) equal(ids.size, 1, "one webhook-id per alert id");
    // Every on-time click up to the last run's window arrived once (a redelivery after the
    // restart would carry its same webhook-id, counted once above).
    const lastTo = NOW + 89 * MIN;
    const onTime = busy.filter((r) => parseMimecastDate(String(r.date)) <= lastTo);
    for (const r of onTime) ok(sentUnder.has(alertId("url", r)));
    equal(sentUnder.size, onTime.length + late.filter((l) => l.minutes <= 30).length);
    // The re-reads brought alerts back; the runs and /metrics count them as duplicates.
    const { runs } = await (await t.request(`/api/integrations/${id}/runs?limit=100`)).json();
    const duplicates = runs.reduce(
      (n: number, r: { counts: { duplicates: number } }) => n + r.counts.duplicates,
      0,
    );
    ok(duplicates > 0);
    const metrics = await (await t.request("/metrics")).text();
    ok(metrics.includes(`host_records_total{outcome="duplicate"} ${duplicates}`), metrics);
    console.log(
      `late arrival at the webhook: ${sentUnder.size} alerts in ${received.length} webhook requests over 18 runs and a restart; late 2, 5, 10, 20, 30 min delivered once, 45 min not fetched; ${sim.logCalls} Mimecast calls`,
    );
  } finally {
    await t.close();
  }
});
