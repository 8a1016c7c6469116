/**
 * Prometheus text for `/metrics`: run outcomes and record counts summed from the run history
 * (so they survive restarts), delivery counters, dead letters, and per-integration lag. It reads
 * nothing itself: the store's totals come from a few set-based queries (`HostStore.totals`).
 * @module
 */
import type { DeliveryStats } from "./delivery.ts";
import { lagSeconds } from "./status.ts";
import type { StoreTotals } from "./store/mod.ts";

export { lagSeconds };

const esc = (value: string) =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** One integration as the metrics show it: its streams (for lag) and its status. */
export interface IntegrationMetrics {
  id: string;
  status: string;
  streams: { logType: string; newestAt: string | null; listedAt: string | null }[];
}

/** Renders the metrics page. */
export function renderMetrics(
  totals: StoreTotals,
  delivery: DeliveryStats,
  now: number,
  integrations: IntegrationMetrics[] = [],
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
  metric(
    "host_runs_total",
    "counter",
    "Runs by status.",
    Object.entries(totals.runsByStatus).map(([status, n]) => [{ status }, n]),
  );
  const sums = totals.records;
  metric("host_records_total", "counter", "Records fetched from plugins, by outcome.", [
    [{ outcome: "fetched" }, sums.fetched],
    [{ outcome: "filtered" }, sums.filtered],
    [{ outcome: "invalid" }, sums.invalid],
    [{ outcome: "drift" }, sums.drift],
    [{ outcome: "duplicate" }, sums.duplicates],
  ]);
  metric("host_alerts_total", "counter", "Alerts stored in the outbox.", [[
    {},
    sums.alerts,
  ]]);
  metric("host_alerts_delivered_total", "counter", "Alerts delivered to webhooks.", [[
    {},
    sums.delivered,
  ]]);
  metric("host_webhook_requests_total", "counter", "Webhook requests since start.", [[
    {},
    delivery.requests,
  ]]);
  metric("host_webhook_retries_total", "counter", "Webhook retries since start.", [[
    {},
    delivery.retries,
  ]]);
  metric(
    "host_dead_letters",
    "gauge",
    "Batches in the dead-letter store.",
    integrations.map((i) => [{ integration: i.id }, totals.outbox[i.id]?.dead ?? 0]),
  );
  metric(
    "host_outbox_pending",
    "gauge",
    "Batches waiting for delivery.",
    integrations.map((i) => [{ integration: i.id }, totals.outbox[i.id]?.pending ?? 0]),
  );
  const lag: [Record<string, string>, number][] = [];
  for (const i of integrations) {
    for (const s of i.streams) {
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
    integrations.map((i) => [{ integration: i.id, status: i.status }, 1]),
  );
  return lines.join("\n") + "\n";
}
