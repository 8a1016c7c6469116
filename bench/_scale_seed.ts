/**
 * Seeding bench/scale.ts's database while its host is down: many integrations cloned from two
 * created through the API (so their config was validated and their secrets sealed by the host
 * itself, once), and when each last ran, which is what the scheduler reckons their next run from.
 * Everything goes through the storage contract (`HostStore`), never SQL.
 * @module
 */
import type { HostStore, IntegrationRow } from "../host/store/mod.ts";

/** The ids of the seeded integrations: active ones (records keep arriving) first, then idle ones. */
export interface Seeded {
  active: string[];
  idle: string[];
}

/**
 * Inserts `count` enabled integrations at `intervalSeconds`, the first `activeCount` copies of
 * `activeTemplate`, the rest of `idleTemplate`; each has one finished scheduled run ending `now`
 * (so none is due for 0.9 of an interval, and the scheduler reads a newest run for each, as it
 * does for any integration that has run).
 */
export async function seedIntegrations(
  store: HostStore,
  options: {
    count: number;
    activeCount: number;
    activeTemplate: IntegrationRow;
    idleTemplate: IntegrationRow;
    intervalSeconds: number;
    now: number;
  },
): Promise<Seeded> {
  const seeded: Seeded = { active: [], idle: [] };
  const at = new Date(options.now).toISOString();
  for (let i = 0; i < options.count; i++) {
    const active = i < options.activeCount;
    const { lastError: _e, lastHint: _h, lastRunAt: _r, lastSuccessAt: _s, ...template } = active
      ? options.activeTemplate
      : options.idleTemplate;
    const id = crypto.randomUUID();
    await store.insertIntegration({
      ...template,
      id,
      name: `scale ${active ? "active" : "idle"} ${String(i).padStart(5, "0")}`,
      intervalSeconds: options.intervalSeconds,
      enabled: true,
      awaitingCheck: false,
    });
    const runId = crypto.randomUUID();
    await store.insertRun({ id: runId, integrationId: id, trigger: "schedule", startedAt: at });
    await store.finishRun(runId, { status: "succeeded" });
    await store.setOutcome(id, { error: null, hint: null, at, success: true });
    (active ? seeded.active : seeded.idle).push(id);
  }
  return seeded;
}

/** Sets when each of `ids` last ran (which makes them due, or not, on the host's next start). */
export async function setLastRun(store: HostStore, ids: string[], at: (i: number) => number) {
  for (const [i, id] of ids.entries()) {
    await store.setOutcome(id, {
      error: null,
      hint: null,
      at: new Date(at(i)).toISOString(),
      success: true,
    });
  }
}
