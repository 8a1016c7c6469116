/**
 * Prometheus text for `/metrics`: run outcomes and record counts summed from the run history
 * (so they survive restarts), delivery counters, dead letters, and per-integration lag.
 * @module
 */
import type { DeliveryStats } from "./delivery.ts";
import { lagSeconds } from "./status.ts";
import type { Store } from "./store/mod.ts";

export { lagSeconds };

const esc = (value: string) =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** Renders the metrics page. */
export function renderMetrics(
  store: Store,
  delivery: DeliveryStats,
  now: number,
  statuses: { integration: string; status: string }[] = [],
): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: string,
    help: string,
    samples: [Record<string, string>, number][],
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(",");
      lines.push(`${name}${l ? `{${l}}` : ""} ${value}`);
    }
  };
  const runs = store.db.prepare("SELECT status, COUNT(*) AS n FROM runs GROUP BY status").all() as {
    status: string;
    n: number;
  }[];
  metric(
    "host_runs_total",
    "counter",
    "Runs by status.",
    runs.map((r) => [{ status: r.status }, Number(r.n)]),
  );
  const sums = store.db.prepare(
    "SELECT COALESCE(SUM(fetched),0) AS fetched, COALESCE(SUM(filtered),0) AS filtered, COALESCE(SUM(invalid),0) AS invalid, COALESCE(SUM(drift),0) AS drift, COALESCE(SUM(duplicates),0) AS duplicates, COALESCE(SUM(alerts),0) AS alerts, COALESCE(SUM(delivered),0) AS delivered FROM runs",
  ).get() as Record<string, number>;
  metric("host_records_total", "counter", "Records fetched from plugins, by outcome.", [
    [{ outcome: "fetched" }, Number(sums.fetched)],
    [{ outcome: "filtered" }, Number(sums.filtered)],
    [{ outcome: "invalid" }, Number(sums.invalid)],
    [{ outcome: "drift" }, Number(sums.drift)],
    [{ outcome: "duplicate" }, Number(sums.duplicates)],
  ]);
  metric("host_alerts_total", "counter", "Alerts stored in the outbox.", [[
    {},
    Number(sums.alerts),
  ]]);
  metric("host_alerts_delivered_total", "counter", "Alerts delivered to webhooks.", [[
    {},
    Number(sums.delivered),
  ]]);
  metric("host_webhook_requests_total", "counter", "Webhook requests since start.", [[
    {},
    delivery.requests,
  ]]);
  metric("host_webhook_retries_total", "counter", "Webhook retries since start.", [[
    {},
    delivery.retries,
  ]]);
  const integrations = store.listIntegrations();
  metric(
    "host_dead_letters",
    "gauge",
    "Batches in the dead-letter store.",
    integrations.map((i) => [{ integration: i.id }, store.deadLetterCount(i.id)]),
  );
  metric(
    "host_outbox_pending",
    "gauge",
    "Batches waiting for delivery.",
    integrations.map((i) => [{ integration: i.id }, store.pendingCount(i.id)]),
  );
  const lag: [Record<string, string>, number][] = [];
  for (const i of integrations) {
    for (const s of store.listStreams(i.id)) {
      const seconds = lagSeconds(s, now);
      if (seconds !== null) lag.push([{ integration: i.id, log_type: s.logType }, seconds]);
    }
  }
  metric(
    "host_integration_lag_seconds",
    "gauge",
    "How far behind now each log type is fully received (or its newest alert's age).",
    lag,
  );
  metric(
    "host_integration_status",
    "gauge",
    "Each integration's status (1 for the one it has now), as the API and the console show it.",
    statuses.map((s) => [{ integration: s.integration, status: s.status }, 1]),
  );
  return lines.join("\n") + "\n";
}
