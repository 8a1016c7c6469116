/**
 * The web UI on the host's server (SPEC §2, §5.5): log in with the admin token, see plugins and
 * integrations, create and edit integrations through forms generated from the plugin's schema,
 * test, preview, run, and redrive dead letters. Every form post carries a CSRF token; pages work
 * without JavaScript.
 * @module
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import {
  cancelRun,
  checkIntegration,
  deleteIntegration,
  previewIntegration,
  redriveDeadLetters,
  startBackfill,
  startRun,
  testWebhook,
} from "../actions.ts";
import { type ApiDeps, bearerMatches, runPage, view, views } from "../api.ts";
import { runCursorFrom } from "../schemas.ts";
import { alertPage, alertRoutes, parseQuery } from "../api_alerts.ts";
import { alertsPage } from "./alerts_page.ts";
import { generateWebhookSecret } from "../delivery.ts";
import { HostError } from "../errors.ts";
import { DEFAULT_FORMAT } from "../formats/mod.ts";
import { secretFields } from "../manifest.ts";
import type { Issue } from "../types.ts";
import type { InstalledPlugin } from "../registry.ts";
import {
  type FieldState,
  type FormLayout,
  layoutOf,
  readConfigForm,
  type SchemaNode,
} from "./form.ts";
import { fieldErrors } from "./form_errors.ts";
import { page, pageScript, SCRIPT_PATH } from "./layout.ts";
import { alertsLastDay, hourlyStats } from "../stats.ts";
import {
  CHART_LIBRARY_PATH,
  chartLibrary,
  CHARTS_SCRIPT_PATH,
  chartsScript,
} from "./chart_assets.ts";
import { dashboardPage, loginPage } from "./dashboard.ts";
import { type HostFields, integrationForm } from "./integration_form.ts";
import {
  checkResult,
  deletePage,
  integrationPage,
  liveSection,
  previewResult,
  webhookResult,
} from "./integration_page.ts";
import { csrfMatches, type Session, Sessions } from "./session.ts";
import {
  backfillDefaults,
  backfillErrors,
  backfillForm,
  type BackfillFormState,
  readBackfillForm,
} from "./backfill_form.ts";

type Env = { Variables: { session: Session } };

/** Runs an integration's page lists at a time. */
const RUNS_PER_PAGE = 20;

/** The UI routes; `secureCookies` marks the session cookie `Secure` (HOST_SECURE_COOKIES). */
export function uiRoutes(deps: ApiDeps, options: { secureCookies?: boolean } = {}): Hono<Env> {
  const sessions = new Sessions(deps.store.sessions, deps.clock.now, {
    secure: options.secureCookies,
  });
  /**
   * Secrets typed into a form that came back with errors, per session and form, so the operator
   * does not type them again; never put into the page. Taken by the next submission of that form.
   */
  const kept = new Map<string, KeptSecrets>();
  const keptKey = (c: Context<Env>) => `${c.get("session").id} ${c.req.path}`;
  /** What was kept for this form in the last 15 minutes, if anything. */
  const keptFor = (c: Context<Env>): KeptSecrets | undefined => {
    for (const [key, value] of kept) if (Date.now() - value.at > 15 * 60_000) kept.delete(key);
    return kept.get(keptKey(c));
  };
  // One notice for a session's next page, kept with the session in the store (several hosts).
  const flashes = {
    set: (id: string, text: string) => deps.store.sessions.setFlash(id, text),
  };
  const ui = new Hono<Env>();

  ui.get(SCRIPT_PATH, (c) =>
    c.body(pageScript(), 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "no-cache",
    }));
  ui.get(CHARTS_SCRIPT_PATH, (c) =>
    c.body(chartsScript(), 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "no-cache",
    }));
  // Its path names its version: a new version is a new path, so a year of caching is safe.
  ui.get(CHART_LIBRARY_PATH, async (c) =>
    c.body(await chartLibrary(), 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "public, max-age=31536000, immutable",
    }));
  ui.get("/login", (c) => c.html(page("Log in", loginPage())));
  ui.post("/login", async (c) => {
    // A JSON or broken body is a bad request, not a server error.
    const form = await c.req.formData().catch(() => undefined);
    if (!form) {
      return c.html(
        page("Log in", loginPage("Send the login form (the admin token in the token field).")),
        400,
      );
    }
    if (!bearerMatches(`Bearer ${String(form.get("token") ?? "")}`, deps.adminToken)) {
      return c.html(page("Log in", loginPage("That is not the admin token.")), 401);
    }
    await sessions.create(c);
    return c.redirect("/", 303);
  });

  // The pages below need a session; posts also need the session's CSRF token.
  const guard: MiddlewareHandler<Env> = async (c, next) => {
    const session = await sessions.get(c);
    if (!session) {
      if (c.req.method === "GET") return c.redirect("/login", 303);
      return c.html(page("Log in", loginPage("Your session ended; log in again.")), 401);
    }
    if (c.req.method === "POST") {
      const form = await c.req.raw.clone().formData().catch(() => undefined);
      if (!form || !csrfMatches(session, form.get("_csrf"))) {
        return c.html(
          page(
            "Forbidden",
            "The form's security token is missing or stale. Go back, reload the page and try again.",
          ),
          403,
        );
      }
    }
    c.set("session", session);
    await next();
  };
  for (const path of ["/", "/logout", "/plugins/*", "/integrations/*", "/alerts", "/alerts/*"]) {
    ui.use(path, guard);
  }

  const render = (
    c: Context<Env>,
    title: string,
    body: Parameters<typeof page>[1],
    status: 200 | 401 | 404 | 409 | 422 = 200,
  ) =>
    // Pages behind the login show operator data, and once a generated webhook secret: never cached.
    c.html(page(title, body, { csrf: c.get("session").csrf, loggedIn: true }), status, {
      "Cache-Control": "no-store",
    });
  const takeFlash = (c: Context<Env>) => deps.store.sessions.takeFlash(c.get("session").id);

  ui.post("/logout", async (c) => {
    await sessions.destroy(c);
    return c.redirect("/login", 303);
  });

  ui.get("/", async (c) => {
    const integrations = await views(deps);
    return render(
      c,
      "Integrations",
      dashboardPage(
        deps.registry.list().map((p) => p.manifest),
        deps.registry.refused(),
        integrations,
        await takeFlash(c),
        await alertsLastDay(deps.store, deps.clock.now()),
      ),
    );
  });

  ui.get("/plugins/:plugin/new", (c) => {
    const installed = deps.registry.get(c.req.param("plugin"));
    if (!installed) {
      return render(c, "Not found", `No plugin "${c.req.param("plugin")}" is installed.`, 404);
    }
    const host = {
      name: "",
      destinationUrl: "",
      destinationFormat: DEFAULT_FORMAT,
      intervalSeconds: "",
      // New integrations start paused until Test connection passes (SPEC §5.8).
      enabled: false,
      errors: {},
    };
    return render(
      c,
      "New integration",
      formOf(c, { installed, state: { values: {}, errors: {} }, host }),
    );
  });

  ui.post("/plugins/:plugin/new", async (c) => {
    const installed = deps.registry.get(c.req.param("plugin"));
    if (!installed) {
      return render(c, "Not found", `No plugin "${c.req.param("plugin")}" is installed.`, 404);
    }
    const form = await c.req.formData();
    const layout = layoutOf(installed.manifest.configSchema as SchemaNode);
    const { config, raw } = readConfigForm(layout, form);
    const host = hostFields(form);
    host.destinationFormat ||= DEFAULT_FORMAT;
    const before = keptFor(c);
    const typed = String(form.get("destination.secret") ?? "") || before?.destination || "";
    const generated = form.get("destination.generate") === "true" && !typed
      ? generateWebhookSecret()
      : undefined;
    const secret = generated ?? typed;
    const secrets = withKept(installed, config, before);
    try {
      const row = await deps.integrations.create({
        plugin: installed.manifest.id,
        name: host.name,
        config,
        destination: { url: host.destinationUrl, secret, format: host.destinationFormat },
        schedule: scheduleOf(host, true),
      });
      kept.delete(keptKey(c));
      const schedule = row.enabled
        ? "Its schedule is on."
        : "It is paused until Test connection passes (then its schedule starts), or until you start the schedule; Run now works meanwhile.";
      await flashes.set(
        c.get("session").id,
        generated
          ? `Integration created. ${schedule} Its webhook secret, shown only now: ${generated}`
          : `Integration created. ${schedule}`,
      );
      return c.redirect(`/integrations/${row.id}`, 303);
    } catch (error) {
      if (!(error instanceof HostError) || error.code !== "CONFIG_INVALID") throw error;
      const { configErrors, hostErrors } = splitIssues(error.issues, layout, raw);
      const keeping = { config: secrets, destination: secret || undefined, at: Date.now() };
      kept.set(keptKey(c), keeping);
      const state = {
        values: raw,
        errors: configErrors,
        secretsSet: Object.keys(secrets),
        secretsKept: Object.keys(secrets),
      };
      const page = formOf(c, {
        installed,
        state,
        host: { ...host, errors: hostErrors },
        problems: error.issues.length,
        keptDestinationSecret: keeping.destination !== undefined,
      });
      return render(c, "New integration", page, 422);
    }
  });

  ui.get(
    "/integrations/:id",
    async (c) => render(c, "Integration", await integrationView(c, await takeFlash(c))),
  );

  /** A check or preview the master key cannot open the secrets for: the page says so. */
  const unreadable = async (c: Context<Env>, error: unknown) => {
    if (!(error instanceof HostError) || error.code !== "SECRETS_UNAVAILABLE") throw error;
    return render(c, "Integration", await integrationView(c, error.message), 409);
  };
  ui.post("/integrations/:id/check", async (c) => {
    try {
      const result = await checkIntegration(deps, c.req.param("id"));
      return render(c, "Test connection", await integrationView(c, undefined, checkResult(result)));
    } catch (error) {
      return await unreadable(c, error);
    }
  });
  ui.post("/integrations/:id/test-webhook", async (c) => {
    try {
      const result = await testWebhook(deps, c.req.param("id"));
      return render(
        c,
        "Send test event",
        await integrationView(c, undefined, webhookResult(result)),
      );
    } catch (error) {
      return await unreadable(c, error);
    }
  });
  ui.post("/integrations/:id/preview", async (c) => {
    try {
      const result = await previewIntegration(deps, c.req.param("id"));
      return render(c, "Preview", await integrationView(c, undefined, previewResult(result)));
    } catch (error) {
      return await unreadable(c, error);
    }
  });
  ui.post("/integrations/:id/runs", async (c) => {
    const id = c.req.param("id");
    try {
      const { runId, started } = await startRun(deps, id);
      await flashes.set(
        c.get("session").id,
        started ? `Run ${runId} started.` : `Run ${runId} is already in progress.`,
      );
    } catch (error) {
      if (!(error instanceof HostError) || error.code !== "PLUGIN_NOT_FOUND") throw error;
      await flashes.set(c.get("session").id, `${error.message}. ${error.hint ?? ""}`);
    }
    return c.redirect(`/integrations/${id}`, 303);
  });
  ui.post("/integrations/:id/schedule/enable", async (c) => {
    const row = await deps.integrations.get(c.req.param("id"));
    await deps.store.updateIntegration(row.id, { enabled: true, awaitingCheck: false });
    await flashes.set(c.get("session").id, "The schedule is on.");
    return c.redirect(`/integrations/${row.id}`, 303);
  });

  ui.post("/integrations/:id/backfill", async (c) => {
    const id = (await deps.integrations.get(c.req.param("id"))).id;
    const { request, state } = readBackfillForm(await c.req.formData());
    try {
      const { runId, started } = await startBackfill(deps, id, request);
      await flashes.set(
        c.get("session").id,
        started
          ? `Backfill ${runId} started: ${request.from} to ${request.to}.`
          : `Run ${runId} is already in progress: wait for it or cancel it, then start the backfill.`,
      );
    } catch (error) {
      if (!(error instanceof HostError)) throw error;
      if (error.code === "CONFIG_INVALID") {
        const again = { ...state, errors: backfillErrors(error.issues) };
        const notice = `The backfill was not started: ${
          error.issues?.length ?? 1
        } problem(s) below.`;
        return render(c, "Backfill", await integrationView(c, notice, undefined, again), 422);
      }
      if (error.code !== "PLUGIN_NOT_FOUND") throw error;
      await flashes.set(c.get("session").id, `${error.message}. ${error.hint ?? ""}`);
    }
    return c.redirect(`/integrations/${id}`, 303);
  });
  ui.post("/integrations/:id/redrive", async (c) => {
    const id = c.req.param("id");
    const requeued = await redriveDeadLetters(deps, id);
    await flashes.set(c.get("session").id, `${requeued} dead letter(s) requeued for delivery.`);
    return c.redirect(`/integrations/${id}`, 303);
  });
  // The live section alone, for the page script's polling.
  ui.get("/integrations/:id/live", async (c) => {
    const integration = await view(deps, await deps.integrations.get(c.req.param("id")));
    return c.html(liveSection(integration), 200, { "Cache-Control": "no-store" });
  });
  ui.post("/integrations/:id/dead-letters/:webhookId/redrive", async (c) => {
    const id = c.req.param("id");
    const requeued = await redriveDeadLetters(deps, id, [c.req.param("webhookId")]);
    await flashes.set(c.get("session").id, `${requeued} dead letter(s) requeued for delivery.`);
    return c.redirect(`/integrations/${id}`, 303);
  });
  ui.post("/integrations/:id/dead-letters/:webhookId/discard", async (c) => {
    const id = (await deps.integrations.get(c.req.param("id"))).id;
    const webhookId = c.req.param("webhookId");
    const discarded = await deps.store.discardDeadLetter(id, webhookId);
    await flashes.set(
      c.get("session").id,
      discarded ? `Dead letter ${webhookId} discarded.` : `No dead letter ${webhookId}.`,
    );
    return c.redirect(`/integrations/${id}`, 303);
  });
  // The Alerts page, and its exports (the API's handler, behind the session).
  ui.get("/alerts", async (c) => {
    const raw = Object.fromEntries(
      Object.entries(c.req.query()).filter(([, value]) => value !== ""),
    );
    const integrations = (await deps.store.listIntegrations()).map((r) => ({
      id: r.id,
      name: r.name,
    }));
    const shown = { query: raw, integrations, keptDays: deps.alertRetentionDays };
    const query = parseQuery(raw);
    if (typeof query === "string") {
      return render(c, "Alerts", alertsPage({ ...shown, alerts: [], next: null, error: query }));
    }
    const { alerts, next } = await alertPage(deps.store, query);
    return render(c, "Alerts", alertsPage({ ...shown, alerts, next }));
  });
  ui.route("/alerts/data", alertRoutes(deps.store));
  ui.get("/integrations/:id/delete", async (c) => {
    const id = c.req.param("id");
    const integration = await view(deps, await deps.integrations.get(id));
    const runs = (await deps.store.listRuns(id, 100_000)).length;
    return render(c, "Delete", deletePage(integration, runs, c.get("session").csrf));
  });
  ui.post("/integrations/:id/delete", async (c) => {
    // Only from the page that names what is lost: a bare post asks first.
    const form = await c.req.parseBody();
    if (form.confirm !== "yes") return c.redirect(`/integrations/${c.req.param("id")}/delete`, 303);
    const row = await deleteIntegration(deps, c.req.param("id"));
    await flashes.set(c.get("session").id, `Integration "${row.name}" deleted.`);
    return c.redirect("/", 303);
  });
  ui.post("/runs/:runId/cancel", async (c) => {
    const run = await cancelRun(deps, c.req.param("runId"));
    await flashes.set(c.get("session").id, `Run ${run.id} cancelled; what it stored is kept.`);
    return c.redirect(`/integrations/${run.integrationId}`, 303);
  });

  ui.get("/integrations/:id/edit", async (c) => {
    const row = await deps.integrations.get(c.req.param("id"));
    const installed = deps.registry.get(row.pluginId);
    if (!installed) {
      const why = `Plugin "${row.pluginId}" is not installed; install it to edit this integration.`;
      return render(c, "Paused", why, 409);
    }
    const secrets = await deps.integrations.secretsState(row);
    const state = { values: row.config, errors: {}, secretsSet: secrets.names };
    const host = {
      name: row.name,
      destinationUrl: row.destinationUrl,
      destinationFormat: row.destinationFormat,
      intervalSeconds: row.intervalSeconds === null ? "" : String(row.intervalSeconds),
      enabled: row.enabled,
      errors: {},
    };
    return render(
      c,
      "Edit integration",
      formOf(c, {
        installed,
        state,
        host,
        editId: row.id,
        secretsUnreadable: !secrets.readable,
        awaitingCheck: row.awaitingCheck,
      }),
    );
  });
  ui.post("/integrations/:id/edit", async (c) => {
    const row = await deps.integrations.get(c.req.param("id"));
    const installed = deps.registry.get(row.pluginId);
    if (!installed) return render(c, "Paused", `Plugin "${row.pluginId}" is not installed.`, 409);
    const form = await c.req.formData();
    const layout = layoutOf(installed.manifest.configSchema as SchemaNode);
    const { config, raw } = readConfigForm(layout, form);
    const host = hostFields(form);
    host.destinationFormat ||= row.destinationFormat;
    const before = keptFor(c);
    const secret = String(form.get("destination.secret") ?? "") || before?.destination || "";
    const typedSecrets = withKept(installed, config, before);
    try {
      await deps.integrations.update(row.id, {
        name: host.name,
        config,
        destination: {
          url: host.destinationUrl,
          format: host.destinationFormat,
          ...(secret ? { secret } : {}),
        },
        schedule: scheduleOf(host, row.awaitingCheck),
      });
      kept.delete(keptKey(c));
      await flashes.set(c.get("session").id, "Saved.");
      return c.redirect(`/integrations/${row.id}`, 303);
    } catch (error) {
      if (!(error instanceof HostError) || error.code !== "CONFIG_INVALID") throw error;
      const { configErrors, hostErrors } = splitIssues(error.issues, layout, raw);
      const secrets = await deps.integrations.secretsState(row);
      kept.set(keptKey(c), {
        config: typedSecrets,
        destination: secret || undefined,
        at: Date.now(),
      });
      const state = {
        values: raw,
        errors: configErrors,
        secretsSet: [...new Set([...secrets.names, ...Object.keys(typedSecrets)])],
        secretsKept: Object.keys(typedSecrets),
      };
      const page = formOf(c, {
        installed,
        state,
        host: { ...host, errors: hostErrors },
        problems: error.issues.length,
        editId: row.id,
        secretsUnreadable: !secrets.readable,
        keptDestinationSecret: secret !== "",
        awaitingCheck: row.awaitingCheck,
      });
      return render(c, "Edit integration", page, 422);
    }
  });

  ui.onError((error, c) => {
    if (error instanceof HostError && error.code === "NOT_FOUND") {
      return c.html(page("Not found", error.message), 404);
    }
    deps.logger.error("Unhandled UI error", {
      error: deps.redactor.redact(String((error as Error)?.stack ?? error)),
    });
    return c.html(page("Error", "Something went wrong; the host's log has the details."), 500);
  });

  /**
   * The integration form for a new integration, or for editing `editId`; `secretsUnreadable` asks
   * for every secret again.
   */
  function formOf(
    c: Context<Env>,
    options: {
      installed: InstalledPlugin;
      state: FieldState;
      host: HostFields;
      problems?: number;
      editId?: string;
      secretsUnreadable?: boolean;
      keptDestinationSecret?: boolean;
      awaitingCheck?: boolean;
    },
  ) {
    const { installed, editId } = options;
    return integrationForm({
      manifest: installed.manifest,
      layout: layoutOf(installed.manifest.configSchema as SchemaNode),
      state: options.state,
      host: options.host,
      action: editId ? `/integrations/${editId}/edit` : `/plugins/${installed.manifest.id}/new`,
      csrf: c.get("session").csrf,
      editing: editId !== undefined,
      problems: options.problems ?? 0,
      secretsUnreadable: options.secretsUnreadable,
      keptDestinationSecret: options.keptDestinationSecret,
      awaitingCheck: options.awaitingCheck,
    });
  }

  async function integrationView(
    c: Context<Env>,
    notice?: string,
    result?: Parameters<typeof integrationPage>[0]["result"],
    backfill?: BackfillFormState,
  ) {
    const row = await deps.integrations.get(c.req.param("id")!);
    // Older runs without JavaScript: a plain link with `?runsBefore=<cursor>` (a stale or
    // mangled one shows the newest runs).
    const asked = c.req.query("runsBefore");
    const runsBefore = asked && runCursorFrom(asked) ? asked : undefined;
    const runs = await runPage(deps.store, row.id, { before: runsBefore, limit: RUNS_PER_PAGE });
    const integration = await view(deps, row);
    const manifest = deps.registry.get(row.pluginId)?.manifest;
    return integrationPage({
      integration,
      stats: await hourlyStats(deps.store, row.id, {
        now: deps.clock.now(),
        logTypes: integration.streams.map((s) => s.logType),
      }),
      backfill: backfillForm({
        action: `/integrations/${row.id}/backfill`,
        csrf: c.get("session").csrf,
        manifest,
        row,
        state: backfill ??
          (manifest
            ? backfillDefaults(manifest, row, deps.clock.now())
            : { logTypes: [], from: "", to: "", redeliver: false, errors: {} }),
        running: integration.runningRunId !== null,
      }),
      runs: runs.runs,
      runsPage: { next: runs.next, older: runsBefore !== undefined },
      deadLetters: await deps.store.listDeadLetters(row.id),
      invalid: await deps.store.listInvalid(row.id, 10),
      csrf: c.get("session").csrf,
      notice,
      result,
    });
  }

  return ui;
}

/** What a form sent back with errors keeps of the secrets typed into it. */
interface KeptSecrets {
  config: Record<string, string>;
  destination?: string;
  at: number;
}

/**
 * Fills the config's secret fields left blank with those kept from the last try, and returns the
 * secrets the config now holds (to keep again if this try fails too).
 */
function withKept(
  installed: InstalledPlugin,
  config: Record<string, unknown>,
  before?: KeptSecrets,
): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const name of secretFields(installed.manifest.configSchema)) {
    const typed = config[name];
    if ((typed === undefined || typed === "") && before?.config[name]) {
      config[name] = before.config[name];
    }
    if (typeof config[name] === "string" && config[name] !== "") {
      secrets[name] = config[name] as string;
    }
  }
  return secrets;
}

function hostFields(form: FormData): HostFields {
  return {
    name: String(form.get("name") ?? ""),
    destinationUrl: String(form.get("destination.url") ?? ""),
    // Empty when the form sent none (a page from before formats): create uses the default,
    // edit keeps the stored one.
    destinationFormat: String(form.get("destination.format") ?? ""),
    intervalSeconds: String(form.get("schedule.intervalSeconds") ?? ""),
    enabled: form.get("schedule.enabled") === "true",
    errors: {},
  };
}

/**
 * The schedule a form asks for. An unticked box on an integration still waiting for its first
 * passing check (`waiting`) leaves `enabled` out, so it keeps waiting instead of being off for good.
 */
function scheduleOf(host: HostFields, waiting: boolean) {
  const interval = host.intervalSeconds.trim();
  return {
    ...(interval ? { intervalSeconds: Number(interval) } : {}),
    ...(host.enabled || !waiting ? { enabled: host.enabled } : {}),
  };
}

/**
 * Sorts issues into the plugin's fields (by top-level name, a list's line named) and the host's
 * fields.
 */
function splitIssues(issues: Issue[], layout: FormLayout, raw: Record<string, unknown>) {
  const isConfig = (issue: Issue) => issue.path === "config" || issue.path.startsWith("config.");
  const configErrors = fieldErrors(layout, raw, issues.filter(isConfig));
  const hostErrors: Record<string, string[]> = {};
  for (const issue of issues.filter((i) => !isConfig(i))) {
    const name = issue.path.startsWith("destination.") || issue.path.startsWith("schedule.")
      ? issue.path.split(".").slice(0, 2).join(".")
      : issue.path;
    (hostErrors[name] ??= []).push(issue.message);
  }
  return { configErrors, hostErrors };
}
