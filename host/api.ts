/**
 * The JSON API (SPEC §5.5). Every `/api` route needs `Authorization: Bearer <admin token>`;
 * every rejection is a clear 4xx with `{ error, issues? }`, never a stack trace.
 * @module
 */
import { Hono } from "hono";
import * as v from "valibot";
import { bodyLimit } from "hono/body-limit";
import { createHash, timingSafeEqual } from "node:crypto";
import { HostError, type HostErrorCode } from "./errors.ts";
import type { Integrations } from "./integrations.ts";
import type { Registry } from "./registry.ts";
import { redriveBody, runCursor, runCursorFrom, runsQuery, statsQuery } from "./schemas.ts";
import { hourlyStats } from "./stats.ts";
import {
  cancelRun,
  checkIntegration,
  deleteIntegration,
  previewIntegration,
  redriveDeadLetters,
  startBackfill,
  startRun,
  testWebhook,
} from "./actions.ts";
import { alertRoutes } from "./api_alerts.ts";
import { DOCS_PAGE, docsFile } from "./docs.ts";
import { lagSeconds } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import type { RunDeps } from "./run.ts";
import type { Runner } from "./runner.ts";
import { overviewOf, statusFacts, statusOf } from "./status.ts";
import type { HostStore, IntegrationOverview, IntegrationRow, RunRow } from "./store/mod.ts";

/** What the API closes over. */
export interface ApiDeps extends RunDeps {
  registry: Registry;
  integrations: Integrations;
  runner: Runner;
  store: HostStore;
  adminToken: string;
  /** Aborted when the host stops; background deliveries listen to it. */
  shutdown: AbortSignal;
  /** When each integration's next scheduled run is due (the scheduler). */
  schedule?: { nextRunAt(integrationId: string): number | undefined };
}

/** The version of the HTTP API the OpenAPI document describes. */
const API_VERSION = "1.0.0";

type ErrorStatus = 400 | 404 | 409 | 413 | 415 | 422 | 500 | 502 | 503;

const STATUS: Partial<Record<HostErrorCode, ErrorStatus>> = {
  CONFIG_INVALID: 422,
  REQUEST_MALFORMED: 400,
  MEDIA_TYPE_UNSUPPORTED: 415,
  NOT_FOUND: 404,
  PLUGIN_NOT_FOUND: 409,
  RUN_IN_PROGRESS: 409,
  CONFLICT: 409,
  // The host is fine; this integration's secrets need the right key or re-entering first.
  SECRETS_UNAVAILABLE: 409,
  STORAGE_FAILED: 503,
};

const digest = (text: string) => createHash("sha256").update(text).digest();

/** True when the header carries the admin token (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? "");
  return match !== null && timingSafeEqual(digest(match[1]), digest(token));
}

/**
 * The request's JSON body: 415 when it is sent as anything but `application/json`, 400 when it
 * is not JSON. An optional body may be left out (then `{}`). The body is read first, so the size
 * limit answers before the content type is looked at.
 */
async function jsonBody(
  c: { req: { text(): Promise<string>; header(name: string): string | undefined } },
  optional = false,
): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "" && optional) return {};
  const type = (c.req.header("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw new HostError(
      "MEDIA_TYPE_UNSUPPORTED",
      `Cannot read a body of type "${
        type || "none"
      }": send JSON with Content-Type: application/json`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HostError("REQUEST_MALFORMED", "Cannot read the request body: it is not valid JSON", {
      issues: [{ path: "", message: "The body is not valid JSON" }],
    });
  }
}

/** Parses a request's body or query with its schema: every issue at once, with its dot path. */
function parsed<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  bad: { code: "CONFIG_INVALID" | "REQUEST_MALFORMED"; what: string },
): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const issues = result.issues.map((i) => ({ path: v.getDotPath(i) ?? "", message: i.message }));
  throw new HostError(
    bad.code,
    `Cannot accept the ${bad.what}: ${issues.map((i) => i.message).join("; ")}`,
    { issues },
  );
}

/** The paths a route pattern such as `/api/integrations/:id` matches. */
function pattern(path: string): RegExp {
  const escaped = path.split("/").map((part) =>
    part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  );
  return new RegExp(`^${escaped.join("/")}/?$`);
}

/** The API routes, under `/api` (mount the app at `/`). */
export function apiRoutes(deps: ApiDeps): Hono {
  const { store, registry, integrations } = deps;
  const api = new Hono().basePath("/api");

  // The description of the API and its docs page hold no data: they need no token.
  const document = openApiDocument(API_VERSION);
  api.get("/openapi.json", (c) => c.json(document));
  api.get("/docs", (c) => c.html(DOCS_PAGE));
  api.get("/docs/:file", async (c) => {
    const file = await docsFile(c.req.param("file"));
    if (!file) {
      return c.json({ error: `No docs file ${c.req.param("file")}`, code: "NOT_FOUND" }, 404);
    }
    return c.body(file.text, 200, {
      "Content-Type": file.type,
      "Cache-Control": "public, max-age=3600",
    });
  });

  api.use("*", async (c, next) => {
    if (!bearerMatches(c.req.header("Authorization"), deps.adminToken)) {
      return c.json(
        {
          error: "Missing or wrong admin token: send Authorization: Bearer <token>",
          code: "UNAUTHORIZED",
        },
        401,
        { "WWW-Authenticate": "Bearer" },
      );
    }
    await next();
  });
  api.use(
    "*",
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: (c) =>
        c.json({ error: "The request body is larger than 1 MiB", code: "BODY_TOO_LARGE" }, 413),
    }),
  );

  api.get("/plugins", (c) =>
    c.json(
      registry.list().map(({ manifest }) => ({
        id: manifest.id,
        name: manifest.name,
        version: manifest.version,
        description: manifest.description,
        configSchema: manifest.configSchema,
        schedule: manifest.schedule,
      })),
    ));
  api.get(
    "/plugins/refused",
    (c) =>
      c.json(
        registry.refused().map((r) => ({
          source: r.source,
          error: r.error.message,
          issues: r.error.issues,
        })),
      ),
  );

  api.post("/integrations", async (c) => {
    const row = await integrations.create(await jsonBody(c));
    const created = await view(deps, row);
    // A webhook secret the host generated is in this answer, and never again.
    return c.json(
      row.generatedSecret
        ? { ...created, destination: { ...created.destination, secret: row.generatedSecret } }
        : created,
      201,
    );
  });
  api.get(
    "/integrations",
    async (c) => c.json(await views(deps)),
  );
  api.get(
    "/integrations/:id",
    async (c) => c.json(await view(deps, await integrations.get(c.req.param("id")))),
  );
  api.patch("/integrations/:id", async (c) => {
    const row = await integrations.update(c.req.param("id"), await jsonBody(c));
    return c.json(await view(deps, row));
  });
  api.delete("/integrations/:id", async (c) => {
    await deleteIntegration(deps, c.req.param("id"));
    return c.body(null, 204);
  });

  api.post("/integrations/:id/check", async (c) => {
    const result = await checkIntegration(deps, c.req.param("id"));
    return c.json(result, result.error ? 502 : 200);
  });

  api.post("/integrations/:id/test-webhook", async (c) => {
    return c.json(await testWebhook(deps, c.req.param("id")));
  });

  api.post("/integrations/:id/preview", async (c) => {
    const result = await previewIntegration(deps, c.req.param("id"));
    return c.json(result, result.error ? 502 : 200);
  });

  api.post("/integrations/:id/runs", async (c) => {
    const { runId, started } = await startRun(deps, c.req.param("id"));
    return started
      ? c.json({ runId }, 202)
      : c.json({ runId, error: "A run is already in progress" }, 409);
  });
  api.post("/integrations/:id/backfill", async (c) => {
    const row = await integrations.get(c.req.param("id"));
    const { runId, started } = await startBackfill(deps, row.id, await jsonBody(c));
    return started
      ? c.json({ runId }, 202)
      : c.json({ runId, error: "A run is already in progress" }, 409);
  });
  api.get("/integrations/:id/runs", async (c) => {
    const row = await integrations.get(c.req.param("id"));
    const query = parsed(runsQuery, c.req.query(), { code: "REQUEST_MALFORMED", what: "query" });
    const { runs, next } = await runPage(store, row.id, {
      before: query.before,
      limit: query.limit ?? 20,
    });
    return c.json({ runs: runs.map(runView), next });
  });
  api.get("/integrations/:id/stats", async (c) => {
    const row = await integrations.get(c.req.param("id"));
    const query = parsed(statsQuery, c.req.query(), { code: "REQUEST_MALFORMED", what: "query" });
    const logTypes = (await store.listStreams(row.id)).map((s) => s.logType);
    return c.json(
      await hourlyStats(store, row.id, { hours: query.hours, now: deps.clock.now(), logTypes }),
    );
  });
  api.get("/runs/:runId", async (c) => {
    const run = await store.getRun(c.req.param("runId"));
    if (!run) throw new HostError("NOT_FOUND", `No run ${c.req.param("runId")}`);
    return c.json(runView(run));
  });
  api.post("/runs/:runId/cancel", async (c) => {
    return c.json(runView(await cancelRun(deps, c.req.param("runId"))));
  });

  api.get("/integrations/:id/dead-letters", async (c) => {
    const row = await integrations.get(c.req.param("id"));
    return c.json(
      (await store.listDeadLetters(row.id)).map((b) => ({
        webhookId: b.webhookId,
        alerts: b.alertCount,
        attempts: b.attempts,
        lastError: b.lastError,
        createdAt: b.createdAt,
        deadAt: b.deadAt,
        body: JSON.parse(b.body),
      })),
    );
  });
  api.post("/integrations/:id/dead-letters/redrive", async (c) => {
    const row = await integrations.get(c.req.param("id"));
    const body = parsed(redriveBody, await jsonBody(c, true), {
      code: "CONFIG_INVALID",
      what: "redrive",
    });
    const requeued = await redriveDeadLetters(deps, row.id, body.webhookIds);
    return c.json({ requeued }, 202);
  });
  api.delete("/integrations/:id/dead-letters/:webhookId", async (c) => {
    const row = await integrations.get(c.req.param("id"));
    const webhookId = c.req.param("webhookId");
    if (!await store.discardDeadLetter(row.id, webhookId)) {
      throw new HostError("NOT_FOUND", `No dead letter ${webhookId} for integration ${row.id}`);
    }
    return c.body(null, 204);
  });
  api.get("/integrations/:id/invalid-records", async (c) => {
    const row = await integrations.get(c.req.param("id"));
    return c.json(await store.listInvalid(row.id));
  });

  api.route("/alerts", alertRoutes(store));

  // Registered last, so it answers only what no route above did: a known path asked with
  // another method is a 405 naming the methods it takes, anything else a 404.
  const routes = api.routes.filter((r) => r.method !== "ALL")
    .map((r) => ({ method: r.method, path: pattern(r.path) }));
  api.all("*", (c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = [...new Set(routes.filter((r) => r.path.test(path)).map((r) => r.method))];
    if (allowed.includes("GET")) allowed.push("HEAD");
    if (allowed.length === 0) {
      return c.json({ error: `No route ${c.req.method} ${path}`, code: "NOT_FOUND" }, 404);
    }
    return c.json(
      {
        error: `Cannot ${c.req.method} ${path}: it takes ${allowed.join(", ")}`,
        code: "METHOD_NOT_ALLOWED",
      },
      405,
      { Allow: allowed.join(", ") },
    );
  });
  api.onError((error, c) => apiError(deps, error, c));
  return api;
}

/** Turns any error into a JSON answer; only HostErrors say more than "internal error". */
export function apiError(
  deps: Pick<ApiDeps, "logger" | "redactor">,
  error: unknown,
  c: { json: (body: unknown, status: ErrorStatus) => Response },
): Response {
  if (error instanceof HostError) {
    const status = STATUS[error.code] ?? 400;
    return c.json({
      error: deps.redactor.redact(error.message),
      code: error.code,
      issues: error.issues,
      hint: error.hint,
    }, status);
  }
  if ((error as { status?: number })?.status === 413) {
    return c.json({ error: "The request body is too large", code: "BODY_TOO_LARGE" }, 413);
  }
  deps.logger.error("Unhandled API error", {
    error: deps.redactor.redact(String((error as Error)?.stack ?? error)),
  });
  return c.json({ error: "Internal error; see the host's log", code: "INTERNAL" }, 500);
}

/**
 * One page of an integration's runs, newest first, from the `next` cursor of the page above
 * (`before`, already checked); `next` is null on the last page.
 */
export async function runPage(
  store: Pick<HostStore, "listRunsBefore">,
  integrationId: string,
  options: { before?: string; limit: number },
): Promise<{ runs: RunRow[]; next: string | null }> {
  const before = options.before === undefined ? undefined : runCursorFrom(options.before);
  // One more than asked tells whether a page follows.
  const rows = await store.listRunsBefore(integrationId, { before, limit: options.limit + 1 });
  const page = rows.slice(0, options.limit);
  return {
    runs: page.map((r) => r.run),
    next: rows.length > options.limit ? runCursor(page[page.length - 1].position) : null,
  };
}

/** How long a run took in milliseconds, or null while it runs. */
export function runDurationMs(run: Pick<RunRow, "startedAt" | "finishedAt">): number | null {
  if (!run.finishedAt) return null;
  const ms = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  return Number.isNaN(ms) ? null : Math.max(0, ms);
}

/** A run as the API shows it. */
export function runView(run: RunRow) {
  return {
    id: run.id,
    integrationId: run.integrationId,
    kind: run.kind,
    trigger: run.trigger,
    status: run.status,
    hostId: run.hostId,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs: runDurationMs(run),
    progress: run.progress,
    counts: run.counts,
    ...(run.backfill ? { backfill: run.backfill } : {}),
    ...(run.skipped.length > 0 ? { skipped: run.skipped } : {}),
    ...(Object.keys(run.notes).length > 0 ? { notes: run.notes } : {}),
    ...(run.error ? { error: run.error, code: run.errorCode, hint: run.hint } : {}),
  };
}

/** An integration as the API shows it: never a secret value. */
export async function view(deps: ApiDeps, row: IntegrationRow, overview?: IntegrationOverview) {
  const installed = deps.registry.get(row.pluginId);
  const known = overview ?? await overviewOf(deps, row.id);
  const lastRun = known.lastRun;
  const now = deps.clock.now();
  const secrets = await deps.integrations.secretsState(row);
  const facts = await statusFacts(deps, row, secrets.readable, known);
  const { status, reason } = statusOf(facts);
  const next = facts.enabled && facts.pluginInstalled
    ? deps.schedule?.nextRunAt(row.id)
    : undefined;
  return {
    id: row.id,
    plugin: row.pluginId,
    name: row.name,
    config: row.config,
    secretsSet: secrets.names,
    destination: {
      url: row.destinationUrl,
      secretSet: secrets.readable,
      format: row.destinationFormat,
    },
    schedule: {
      intervalSeconds: row.intervalSeconds ?? installed?.manifest.schedule.defaultIntervalSeconds ??
        null,
      enabled: row.enabled,
      // New and paused until a connection check passes (or the schedule is enabled).
      awaitingCheck: row.awaitingCheck,
    },
    status,
    statusReason: reason,
    nextRunAt: next === undefined ? null : new Date(next).toISOString(),
    paused: !installed,
    ...(installed ? {} : { pausedReason: `Plugin "${row.pluginId}" is not installed` }),
    lastError: row.lastError,
    lastHint: row.lastHint,
    lastRunAt: row.lastRunAt,
    lastSuccessAt: row.lastSuccessAt,
    // Here or on another host sharing the database.
    runningRunId: deps.runner.runningId(row.id) ??
      (lastRun?.status === "running" ? lastRun.id : null),
    lastRun: lastRun ? runView(lastRun) : null,
    streams: known.streams.map((s) => ({
      ...s,
      lagSeconds: lagSeconds(s, now),
    })),
    outboxPending: facts.outboxPending,
    deadLetters: facts.deadLetters,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Every integration's view, from one overview of them all (a few queries, however many). */
export async function views(deps: ApiDeps) {
  const [rows, overview] = await Promise.all([
    deps.store.listIntegrations(),
    deps.store.overview(),
  ]);
  return await Promise.all(rows.map((row) => view(deps, row, overview.get(row.id))));
}
