/**
 * What the contract suite's steps build on: a fake clock's start, integrations, alerts and pages
 * with sensible defaults, and the fixture each step gets.
 * @module
 */
import type { HostStore, NewIntegration } from "../../../host/store/contract.ts";
import type { AlertWrite, PageWrite } from "../../../host/store/rows.ts";
import { SqliteStore } from "../../../host/store/sqlite/mod.ts";
import type { FakeClock } from "../../_helpers.ts";

/** Opens a fresh, empty store whose stamps come from `now`. */
export type OpenStore = (now: () => number) => Promise<HostStore>;

/** The fake clock's start: 2026-03-01T12:00:00Z. */
export const T0 = Date.parse("2026-03-01T12:00:00.000Z");

/** A new integration with sensible defaults. */
export function integration(id: string, fields: Partial<NewIntegration> = {}): NewIntegration {
  return {
    id,
    pluginId: "mimecast",
    name: `Tenant ${id}`,
    config: { region: "eu", logTypes: ["ttp-url"] },
    secrets: "sealed",
    destinationUrl: "https://siem.example/hook",
    destinationFormat: "alerts",
    intervalSeconds: 300,
    enabled: true,
    awaitingCheck: false,
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    ...fields,
  };
}

/** An alert of a page. */
export function alert(
  id: string,
  options: { stream?: string; at?: string | null; summary?: AlertWrite["summary"] } = {},
): AlertWrite {
  return {
    id,
    stream: options.stream ?? "ttp-url",
    occurredAt: options.at === undefined ? "2026-03-01T11:00:00.000Z" : options.at,
    json: JSON.stringify({ id }),
    summary: options.summary ?? {},
  };
}

/** A page of `alerts` for run `runId` of integration `i1`. */
export function page(alerts: AlertWrite[], fields: Partial<PageWrite> = {}): PageWrite {
  return {
    integrationId: "i1",
    runId: "r1",
    alerts,
    envelope: { prefix: '{"alerts":[', suffix: "]}" },
    batchSize: 2,
    checkpoint: { cursor: alerts.length },
    invalid: [],
    listed: [],
    skipped: [],
    counts: { fetched: alerts.length, filtered: 0, invalid: 0, drift: 0 },
    notes: {},
    ...fields,
  };
}

/** A store with integration `i1` and its running run `r1`, and the clock it stamps with. */
export interface Fixture {
  store: HostStore;
  clock: FakeClock;
}

/** A step's body: it gets a fresh store holding `i1` and run `r1`. */
export type Step = (f: Fixture) => Promise<void>;

/** The webhook bodies of an integration's pending batches, oldest first. */
export async function pendingBodies(store: HostStore, integrationId = "i1"): Promise<string[]> {
  const bodies: string[] = [];
  for (
    let b = await store.nextPending(integrationId);
    b;
    b = await store.nextPending(integrationId, b.seq)
  ) {
    bodies.push(b.body);
  }
  return bodies;
}

/**
 * An in-memory SQLite store stamped by `clock`, holding integrations i1 and i2, each with a run
 * `run-<id>` going (manual unless `run` says otherwise).
 */
export async function sqliteWithRuns(
  clock: { ms: number },
  run: (integrationId: string) => Partial<Parameters<HostStore["insertRun"]>[0]> = () => ({}),
): Promise<SqliteStore> {
  const store = new SqliteStore(":memory:", () => clock.ms);
  const at = new Date(clock.ms).toISOString();
  for (const id of ["i1", "i2"]) {
    await store.insertIntegration(
      integration(id, {
        name: id,
        config: {},
        intervalSeconds: null,
        createdAt: at,
        updatedAt: at,
      }),
    );
    await store.insertRun({
      id: `run-${id}`,
      integrationId: id,
      trigger: "manual",
      startedAt: at,
      ...run(id),
    });
  }
  return store;
}
