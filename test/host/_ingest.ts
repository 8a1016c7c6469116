/** Shared by the crash tests: a simulator full of generated records, and the receiver's verdict. */
import { deepStrictEqual, equal } from "node:assert/strict";
import * as v from "valibot";
import {
  generateRecords,
  MimecastSimulator,
  type RateLimit,
  SIM_CLIENT,
} from "../../fixtures/simulator/mod.ts";
import { configSchema, type TtpLogType as LogType } from "../../plugin/config.ts";
import { normalize } from "../../plugin/normalize.ts";
import type { Delivered } from "./_process.ts";

/** A simulator with `perType` generated records of each log type, and the alert ids they must give. */
export function seededSimulator(
  perType: number,
  options: { start: number; stepMs: number; rateLimit?: RateLimit },
) {
  const sim = new MimecastSimulator({ rateLimit: options.rateLimit });
  sim.recordBodies = false;
  const config = v.parse(configSchema, { ...SIM_CLIENT, startFrom: "7d" });
  const expected = new Set<string>();
  for (const logType of ["url", "attachment", "impersonation"] as LogType[]) {
    const records = generateRecords(logType, perType, options);
    sim.add(logType, records);
    for (const data of records) {
      const alert = normalize({ logType, data }, { integrationId: "x", config, count: () => {} });
      if (alert) expected.add(alert.id);
    }
  }
  return { sim, expected };
}

/**
 * Asserts that every expected alert arrived and nothing else, that a redelivered batch carries the
 * same body, and that no alert came under two webhook-ids; returns the counts.
 */
export function checkDeliveries(received: Delivered[], expected: Set<string>) {
  const ids = new Set(received.flatMap((r) => r.alerts.map((a) => a.id)));
  const lost = [...expected].filter((x) => !ids.has(x));
  deepStrictEqual(lost, [], "no alert lost");
  equal(ids.size, expected.size, "nothing but the expected alerts");
  const bodyOf = new Map<string, string>();
  const webhookOf = new Map<string, string>();
  for (const r of received) {
    if (bodyOf.has(r.id)) {
      equal(bodyOf.get(r.id), r.body, `redelivery of ${r.id} carries the same body`);
    }
    bodyOf.set(r.id, r.body);
    for (const alert of r.alerts) {
      const seen = webhookOf.get(alert.id);
      if (seen) equal(seen, r.id, `alert ${alert.id} came again under another webhook-id`);
      webhookOf.set(alert.id, r.id);
    }
  }
  return {
    lost: lost.length,
    webhookRequests: received.length,
    redeliveredBatches: received.length - bodyOf.size,
    duplicateAlertDeliveries: received.reduce((n, r) => n + r.alerts.length, 0) - ids.size,
  };
}
