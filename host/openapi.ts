/**
 * The OpenAPI 3.1 document of the HTTP API (SPEC §5.5). Request bodies and queries are generated
 * from the valibot schemas that validate them, so the document cannot drift from what the API
 * accepts; the table below only names the routes and what each may answer.
 * @module
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { createSchema, updateSchema } from "./integrations.ts";
import { alertsQuery, backfillBody, redriveBody, runsQuery, statsQuery } from "./schemas.ts";

/** One route as the document describes it. */
interface Route {
  method: "get" | "post" | "patch" | "delete";
  path: string;
  summary: string;
  /** More than the summary says, when there is more. */
  description?: string;
  /** Success status and what it means. */
  ok: [number, string];
  body?: { schema: v.GenericSchema; optional?: boolean };
  query?: v.GenericSchema;
  /** Error statuses beyond the ones every route of its kind has. */
  errors?: number[];
  /** Public routes need no token. */
  public?: boolean;
}

/** Every route the host serves outside the UI; a test checks it against the app's own list. */
export const ROUTES: Route[] = [
  {
    method: "get",
    path: "/healthz",
    summary: "Health",
    ok: [200, "Healthy"],
    errors: [503],
    public: true,
  },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    ok: [200, "Metrics text"],
    public: true,
  },
  {
    method: "get",
    path: "/api/openapi.json",
    summary: "This document",
    ok: [200, "OpenAPI 3.1"],
    public: true,
  },
  {
    method: "get",
    path: "/api/docs",
    summary: "Browsable API docs",
    ok: [200, "HTML page"],
    public: true,
  },
  {
    method: "get",
    path: "/api/docs/{file}",
    summary: "Assets of the docs page",
    ok: [200, "A file"],
    public: true,
  },
  { method: "get", path: "/api/plugins", summary: "Installed plugins", ok: [200, "Plugins"] },
  {
    method: "get",
    path: "/api/plugins/refused",
    summary: "Refused manifests",
    ok: [200, "Refusals"],
  },
  {
    method: "post",
    path: "/api/integrations",
    summary: "Create an integration",
    description:
      "A new integration starts paused (status `paused`, `schedule.awaitingCheck: true`): nothing is scheduled until a connection check passes for every log type, which turns its schedule on once. `schedule.enabled: true` schedules it at once; `schedule.enabled: false` keeps it off until it is turned on, whatever a check says. A run started by hand works while it is paused.",
    ok: [201, "Created, secrets omitted"],
    body: { schema: createSchema },
  },
  {
    method: "get",
    path: "/api/integrations",
    summary: "List integrations",
    ok: [200, "Integrations"],
  },
  {
    method: "get",
    path: "/api/integrations/{id}",
    summary: "Read an integration",
    ok: [200, "The integration"],
  },
  {
    method: "patch",
    path: "/api/integrations/{id}",
    summary: "Update an integration (omitted secrets keep their value)",
    ok: [200, "The integration"],
    body: { schema: updateSchema },
    errors: [409],
  },
  {
    method: "delete",
    path: "/api/integrations/{id}",
    summary: "Delete an integration",
    ok: [204, "Deleted"],
  },
  {
    method: "post",
    path: "/api/integrations/{id}/check",
    summary: "Test the connection per log type",
    description:
      "`{ ok, results: [{ logType, ok, error?, hint? }], scheduleEnabled? }`. On a new integration still paused for its first passing check, a pass for every log type turns its schedule on (`scheduleEnabled: true`); a later failing check does not pause it again.",
    ok: [200, "Results"],
    errors: [409, 502],
  },
  {
    method: "post",
    path: "/api/integrations/{id}/preview",
    summary: "What a run would send, delivering nothing",
    ok: [200, "Alerts and what was filtered"],
    errors: [409, 502],
  },
  {
    method: "post",
    path: "/api/integrations/{id}/test-webhook",
    summary: "Send one signed test event to the webhook and report the answer",
    ok: [200, "{ ok, status, ms, excerpt, webhookId }"],
    errors: [409],
  },
  {
    method: "post",
    path: "/api/integrations/{id}/runs",
    summary: "Start a run now",
    ok: [202, "{ runId }"],
    errors: [409],
  },
  {
    method: "post",
    path: "/api/integrations/{id}/backfill",
    summary: "Replay a past span as a run of kind backfill (live cursors untouched)",
    ok: [202, "{ runId }"],
    body: { schema: backfillBody },
    errors: [409],
  },
  {
    method: "get",
    path: "/api/integrations/{id}/runs",
    summary: "Runs, newest first, one page at a time",
    description:
      "`{ runs, next }`: each run with its `durationMs` (null while it runs); `next` is the cursor to pass as `before` for the older runs, null on the last page. `limit` is 1 to 100 (default 20). A `limit` or `before` that is not one answers 400 with `code: REQUEST_MALFORMED` and `issues`.",
    ok: [200, "{ runs, next }"],
    query: runsQuery,
  },
  {
    method: "get",
    path: "/api/integrations/{id}/stats",
    summary: "Alerts stored per hour and lag per hour, per log type",
    ok: [200, "{ hours, logTypes: [{ logType, alerts, lagSeconds }] }"],
    query: statsQuery,
  },
  { method: "get", path: "/api/runs/{runId}", summary: "Read a run", ok: [200, "The run"] },
  {
    method: "post",
    path: "/api/runs/{runId}/cancel",
    summary: "Cancel a running run",
    ok: [200, "The run"],
    errors: [409],
  },
  {
    method: "get",
    path: "/api/integrations/{id}/dead-letters",
    summary: "Dead letters",
    ok: [200, "Batches"],
  },
  {
    method: "post",
    path: "/api/integrations/{id}/dead-letters/redrive",
    summary: "Requeue all dead letters, or the ones named",
    ok: [202, "{ requeued }"],
    body: { schema: redriveBody, optional: true },
  },
  {
    method: "delete",
    path: "/api/integrations/{id}/dead-letters/{webhookId}",
    summary: "Discard one dead letter for good",
    ok: [204, "Discarded"],
  },
  {
    method: "get",
    path: "/api/alerts",
    summary:
      "Stored alerts, newest first, filtered and paged, or exported as NDJSON or CSV (none when HOST_ALERT_RETENTION_DAYS is 0)",
    ok: [200, "{ alerts, next }, or the export"],
    query: alertsQuery,
  },
  {
    method: "get",
    path: "/api/integrations/{id}/invalid-records",
    summary: "Records that did not fit, with reasons",
    ok: [200, "Records"],
  },
];

const ERRORS: Record<number, string> = {
  400: "The body is not JSON, or a query parameter is wrong",
  401: "Missing or wrong admin token",
  404: "No such integration or run",
  405: "The path takes other methods (see Allow)",
  409: "Conflicts with the current state",
  413: "The body is larger than 1 MiB",
  415: "The body is not sent as application/json",
  422: "The body does not validate: issues name each field",
  500: "Internal error",
  502: "The plugin's service failed",
  503: "The database or data folder is unavailable",
};

function jsonSchema(schema: v.GenericSchema): Record<string, unknown> {
  const { $schema: _, ...json } = toJsonSchema(schema, {
    errorMode: "ignore",
    target: "draft-2020-12",
  }) as Record<string, unknown>;
  return json;
}

function operation(route: Route) {
  const params = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
  const errors = new Set(route.errors ?? []);
  if (!route.public) [401, 405, 500].forEach((s) => errors.add(s));
  if (params.length > 0 && route.path.startsWith("/api/")) errors.add(404);
  if (route.body) [400, 413, 415, 422].forEach((s) => errors.add(s));
  if (route.query) errors.add(400);
  const query = route.query ? jsonSchema(route.query) : undefined;
  const queryProps = (query?.properties ?? {}) as Record<string, Record<string, unknown>>;
  return {
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.public ? { security: [] } : {}),
    parameters: [
      ...params.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
      ...Object.entries(queryProps).map(([name, schema]) => ({
        name,
        in: "query",
        required: ((query?.required ?? []) as string[]).includes(name),
        schema,
      })),
    ],
    ...(route.body
      ? {
        requestBody: {
          required: !route.body.optional,
          content: { "application/json": { schema: jsonSchema(route.body.schema) } },
        },
      }
      : {}),
    responses: {
      [route.ok[0]]: { description: route.ok[1] },
      ...Object.fromEntries(
        [...errors].sort().map((status) => [status, { $ref: `#/components/responses/${status}` }]),
      ),
    },
  };
}

/** The OpenAPI 3.1 document of the host's HTTP API. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) (paths[route.path] ??= {})[route.method] = operation(route);
  return {
    openapi: "3.1.0",
    info: { title: "Mimecast alerts integration host", version },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: { type: "string" },
            code: { type: "string" },
            hint: { type: "string" },
            issues: {
              type: "array",
              items: {
                type: "object",
                required: ["path", "message"],
                properties: { path: { type: "string" }, message: { type: "string" } },
              },
            },
          },
        },
      },
      responses: Object.fromEntries(
        Object.entries(ERRORS).map(([status, description]) => [status, {
          description,
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        }]),
      ),
    },
  };
}
