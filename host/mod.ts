/**
 * The integration host: plugins from a watched folder, integrations with sealed secrets, runs on
 * a schedule or on demand, alerts delivered as signed webhooks from a SQLite outbox, and the
 * HTTP API. `createHost` wires the pieces once; `main.ts` reads the settings and serves it.
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { apiError, apiRoutes } from "./api.ts";
import { systemClock } from "./clock.ts";
import { Delivery, type DeliveryPolicy } from "./delivery.ts";
import { Integrations } from "./integrations.ts";
import { createLogger } from "./logger.ts";
import { renderMetrics } from "./metrics.ts";
import { statusFacts, statusOf } from "./status.ts";
import { limitedFetch } from "./net.ts";
import type { SourceLimits } from "./plugin_source.ts";
import { Registry } from "./registry.ts";
import type { SandboxLimits } from "./sandbox/mod.ts";
import { pruneStoredAlerts, runOnce } from "./run.ts";
import { LEASE_SECONDS, Runner } from "./runner.ts";
import { Scheduler } from "./scheduler.ts";
import { Redactor, SecretBox, SECRETS_UNREADABLE_HINT } from "./secrets.ts";
import { type HostStore, sqliteStore } from "./store/mod.ts";
import { uiRoutes } from "./ui/mod.ts";
import type { Clock, Logger } from "./types.ts";

export { HostError } from "./errors.ts";
export { describeDatabase, openStore } from "./store/mod.ts";
export type { Alert, Plugin, PluginContext } from "./types.ts";

/** What a host is made from. */
export interface HostOptions {
  dataDir: string;
  pluginsDir: string;
  adminToken: string;
  masterKey: Uint8Array;
  /** The master key before a rotation: what was sealed under it is sealed again at start. */
  previousMasterKey?: Uint8Array;
  allowLoopback?: boolean;
  /** Session cookies marked `Secure` (HOST_SECURE_COOKIES). */
  secureCookies?: boolean;
  /** Days stored alerts are kept for `GET /api/alerts` (HOST_ALERT_RETENTION_DAYS, default 30). */
  alertRetentionDays?: number;
  clock?: Clock;
  /** The network, for plugins and webhooks (tests pass a fake). */
  fetch?: typeof fetch;
  logWrite?: (line: string) => void;
  delivery?: Partial<DeliveryPolicy>;
  batchSize?: number;
  scanIntervalMs?: number;
  /** Size and time limits on manifests and their entries (tests shorten them). */
  sourceLimits?: Partial<SourceLimits>;
  /** The limits of plugin sandboxes: time per call, memory (tests shorten them). */
  sandboxLimits?: Partial<SandboxLimits>;
  tickMs?: number;
  /** The store, already open (`openStore`); by default SQLite in `dataDir`. */
  store?: HostStore;
  /** The host's name in runs it records and leases it holds (HOST_ID). */
  hostId?: string;
  /** How long a lease on an integration lasts without renewal (HOST_LEASE_SECONDS, 30). */
  leaseSeconds?: number;
  /** The most scheduled runs going at once on this host (HOST_MAX_RUNS, 8). */
  maxRuns?: number;
  /**
   * Several hosts share the store (HOST_DATABASE_URL): at start only runs whose lease expired are
   * marked interrupted (never another host's live run), and every scheduler tick does the same.
   */
  shared?: boolean;
}

/** A wired host. */
export interface Host {
  app: Hono;
  store: HostStore;
  registry: Registry;
  runner: Runner;
  scheduler: Scheduler;
  delivery: Delivery;
  integrations: Integrations;
  redactor: Redactor;
  logger: Logger;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the host; nothing runs until `start()`. */
export function createHost(options: HostOptions): Host {
  const clock = options.clock ?? systemClock;
  const net = options.fetch ?? fetch;
  const redactor = new Redactor();
  const logger = createLogger(redactor, { write: options.logWrite });
  const store = options.store ?? sqliteStore(options.dataDir, clock.now);
  const allowLoopback = options.allowLoopback ?? false;
  const registry = new Registry({
    dir: options.pluginsDir,
    logger,
    fetch: net,
    allowLoopback,
    limits: options.sourceLimits,
    sandboxLimits: options.sandboxLimits,
  });
  const box = new SecretBox(options.masterKey, options.previousMasterKey);
  const integrations = new Integrations({ store, registry, box, redactor, allowLoopback });
  const delivery = new Delivery({
    store,
    fetch: net,
    allowLoopback,
    clock,
    logger,
    policy: options.delivery,
  });
  const runDeps = {
    store,
    registry,
    integrations,
    delivery,
    redactor,
    clock,
    logger,
    batchSize: options.batchSize,
    alertRetentionDays: options.alertRetentionDays,
    pluginFetch: (installed: { manifest: { id: string; permissions: { net: string[] } } }) =>
      limitedFetch(installed.manifest.id, installed.manifest.permissions.net, allowLoopback, net),
  };
  const runner = new Runner({
    store,
    clock,
    hostId: options.hostId,
    leaseSeconds: options.leaseSeconds,
    logger,
    execute: (id, runId, signal, lease) => runOnce(runDeps, id, runId, signal, lease),
  });
  const scheduler = new Scheduler({
    store,
    registry,
    runner,
    clock,
    logger,
    shared: options.shared,
    retryMs: (options.leaseSeconds ?? LEASE_SECONDS) * 1000,
    maxConcurrent: options.maxRuns,
  });

  const shutdown = new AbortController();
  const app = new Hono();
  // SPEC §5.5: nosniff everywhere; pages with a CSP that allows no inline script and no framing.
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      xFrameOptions: "DENY",
    }),
  );
  // Every body, API or form, is read whole: cap it before anything reads it.
  app.use(
    "*",
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: (c) =>
        c.json({ error: "The request body is larger than 1 MiB", code: "BODY_TOO_LARGE" }, 413),
    }),
  );
  app.get("/healthz", async (c) => {
    const reason = await store.problem();
    return reason ? c.json({ status: "unavailable", reason }, 503) : c.json({ status: "ok" });
  });
  app.get("/metrics", async (c) => {
    const [rows, overview] = await Promise.all([store.listIntegrations(), store.overview()]);
    const integrations = await Promise.all(rows.map(async (row) => {
      const known = overview.get(row.id);
      return {
        id: row.id,
        status: statusOf(await statusFacts({ ...runDeps, runner }, row, undefined, known)).status,
        streams: known?.streams ?? [],
      };
    }));
    const totals = await store.totals();
    return c.text(renderMetrics(totals, delivery.stats, clock.now(), integrations), 200, {
      "Content-Type": "text/plain; version=0.0.4",
    });
  });
  const apiDeps = {
    ...runDeps,
    runner,
    adminToken: options.adminToken,
    shutdown: shutdown.signal,
    schedule: scheduler,
  };
  app.route("/", apiRoutes(apiDeps));
  app.route("/", uiRoutes(apiDeps, { secureCookies: options.secureCookies }));
  app.notFound((c) =>
    c.json({
      error: `No route ${c.req.method} ${new URL(c.req.url).pathname}`,
      code: "NOT_FOUND",
    }, 404)
  );
  app.onError((error, c) => apiError({ logger, redactor }, error, c));

  return {
    app,
    store,
    registry,
    runner,
    scheduler,
    delivery,
    integrations,
    redactor,
    logger,
    async start() {
      const interrupted = await store.failInterruptedRuns({ expiredOnly: options.shared });
      await pruneStoredAlerts(runDeps);
      if (interrupted > 0) {
        logger.warn("Runs left running by a crash were marked failed", { count: interrupted });
      }
      const { resealed, unreadable } = await integrations.learnSecrets();
      if (resealed > 0) {
        logger.info(
          `Re-sealed ${resealed} integration${
            resealed === 1 ? "'s" : "s'"
          } secrets under the new master key`,
          { count: resealed },
        );
      }
      if (box.rotating && unreadable.length === 0) {
        logger.info(
          "Every integration's secrets are sealed under the current master key: remove HOST_MASTER_KEY_PREVIOUS",
        );
      }
      if (unreadable.length > 0) {
        logger.error(
          `Cannot open the stored secrets of ${unreadable.length} integration(s) with this master key: ${
            unreadable.map((row) => `${row.id} "${row.name}"`).join(", ")
          }. They show secrets-unreadable and their runs fail until this is fixed`,
          {
            integrations: unreadable.map(({ id, name }) => ({ id, name })),
            hint: SECRETS_UNREADABLE_HINT,
          },
        );
      }
      await registry.start(options.scanIntervalMs ?? 1000);
      // Deliver what a crash left in the outbox, without waiting for the next run.
      for (const id of await store.integrationsWithPending()) {
        const row = await store.getIntegration(id);
        const installed = row && registry.get(row.pluginId);
        if (!row || !installed) continue;
        // Under the integration's lease: with several hosts, one delivers it, in order.
        runner.exclusive(id, async () => {
          const destination = await integrations.destination(row);
          await delivery.drain(id, () => Promise.resolve(destination), shutdown.signal);
        })
          .then((started) => started?.done)
          .catch((error) =>
            !shutdown.signal.aborted &&
            logger.warn("Outbox delivery stopped", {
              integrationId: id,
              error: redactor.redact(String(error)),
            })
          );
      }
      scheduler.start(options.tickMs ?? 1000);
    },
    async stop() {
      shutdown.abort(new Error("the host is shutting down"));
      scheduler.stop();
      await registry.stop();
      await runner.stopAll();
      await delivery.settle();
      await store.close();
    },
  };
}
