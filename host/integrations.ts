/**
 * Integrations: a plugin, its config (secrets split off and sealed), a webhook destination and a
 * schedule (a new one starts paused until a connection check passes, unless the request enables
 * it). Input is validated as a whole, every issue named by a dot path such as `config.baseUrl`;
 * secrets are write-only: an update that omits one keeps it.
 * @module
 */
import * as v from "valibot";
import { generateWebhookSecret, isWebhookSecret } from "./delivery.ts";
import { HostError } from "./errors.ts";
import { DEFAULT_FORMAT, DESTINATION_FORMATS, type DestinationFormat } from "./formats/mod.ts";
import { fieldTitle, secretFields } from "./manifest.ts";
import { strictObject } from "./schemas.ts";
import { pluginUrlProblem, webhookUrlProblem } from "./net.ts";
import type { InstalledPlugin, Registry } from "./registry.ts";
import type { Sandbox } from "./sandbox/mod.ts";
import type { Redactor, SecretBox } from "./secrets.ts";
import type { HostStore, IntegrationRow } from "./store/mod.ts";
import type { Issue } from "./types.ts";

/** What is sealed per integration. */
interface Sealed {
  config: Record<string, unknown>;
  destinationSecret: string;
}

const scheduleSchema = strictObject({
  intervalSeconds: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(60, "intervalSeconds must be at least 60"),
      v.maxValue(86_400, "intervalSeconds must be at most 86400"),
    ),
  ),
  enabled: v.optional(v.boolean()),
}, "schedule");

const formatSchema = v.picklist(
  Object.keys(DESTINATION_FORMATS) as DestinationFormat[],
  `destination.format must be ${
    Object.keys(DESTINATION_FORMATS).map((f) => `"${f}"`).join(" or ")
  } (leave it out for "${DEFAULT_FORMAT}")`,
);

/** Text without control characters: a NUL would be stored whole and read back cut short. */
const printable = (what: string) =>
  v.check(
    (text: string) => {
      for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code < 0x20 || code === 0x7f) return false;
      }
      return true;
    },
    `${what} may not contain control characters (such as NUL, tab or line breaks)`,
  );

/** The body of `POST /api/integrations`. */
export const createSchema = strictObject({
  plugin: v.pipe(v.string("plugin is required"), v.nonEmpty("plugin is required")),
  name: v.pipe(
    v.string("name is required"),
    v.trim(),
    v.nonEmpty("name is required"),
    v.maxLength(200, "name is 200 characters at most"),
    printable("name"),
  ),
  config: v.record(v.string(), v.unknown(), "config must be an object"),
  destination: strictObject({
    url: v.pipe(v.string("destination.url is required"), printable("destination.url")),
    // Left out, one is generated and returned once in the answer.
    secret: v.optional(v.string("destination.secret must be text")),
    format: v.optional(formatSchema),
  }, "destination"),
  schedule: v.optional(scheduleSchema),
});

/** The body of `PATCH /api/integrations/:id`: every field optional. */
export const updateSchema = strictObject({
  name: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.nonEmpty("name may not be empty"),
      v.maxLength(200),
      printable("name"),
    ),
  ),
  config: v.optional(v.record(v.string(), v.unknown(), "config must be an object")),
  destination: v.optional(
    strictObject({
      url: v.optional(v.pipe(v.string(), printable("destination.url"))),
      secret: v.optional(v.string("destination.secret must be text")),
      format: v.optional(formatSchema),
    }, "destination"),
  ),
  schedule: v.optional(scheduleSchema),
});

function issuesOf(issues: v.BaseIssue<unknown>[], prefix = ""): Issue[] {
  return issues.map((i) => ({
    path: `${prefix}${v.getDotPath(i) ?? ""}`.replace(/\.$/, ""),
    message: i.message,
  }));
}

/** A sandbox's issue paths, which are within the config, as the API's (`config.baseUrl`). */
function prefixed(issues: Issue[]): Issue[] {
  return issues.map((i) => ({ path: i.path ? `config.${i.path}` : "config", message: i.message }));
}

/**
 * A secret field's validation message without what was entered: a schema's messages say what
 * they received ("Invalid type: Expected string but received 12345"), which for a secret would
 * echo it. The part that says what to enter is kept.
 */
function secretMessage(message: string): string {
  const kept = message.replace(/\s*,?\s*(but )?received\b[\s\S]*$/i, "").trim();
  return `${kept || "This value does not fit"} (a secret: what was entered is not shown)`;
}

/**
 * A schema library's own wording ("Invalid key: Expected "clientId" but received undefined") in
 * plain words that say what to enter; a plugin's own messages pass as they are.
 */
export function plainMessage(message: string, title: string): string {
  const match = /^Invalid (\w+): Expected (.+?)(?: but received (.+))?$/s.exec(message);
  if (!match) return message;
  const [, kind, expected, received] = match;
  if (received === "undefined" || kind === "key") return `${title} is required`;
  const what: Record<string, string> = {
    string: "text",
    number: "a number",
    boolean: "yes or no",
    Array: "a list",
    Object: "an object",
  };
  if (what[expected]) return `${title}: enter ${what[expected]}`;
  // A choice among literals: `("url" | "attachment")`.
  if (/^\(?"/.test(expected)) {
    return `${title}: choose one of ${expected.replace(/^\(|\)$/g, "").split(" | ").join(", ")}`;
  }
  return `${title}: this value does not fit`;
}

function invalid(issues: Issue[]): HostError {
  return new HostError(
    "CONFIG_INVALID",
    `Cannot save the integration: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    { issues },
  );
}

/** Creates, updates and reads integrations. */
export class Integrations {
  #store: HostStore;
  #registry: Registry;
  #box: SecretBox;
  #redactor: Redactor;
  #allowLoopback: boolean;

  constructor(
    deps: {
      store: HostStore;
      registry: Registry;
      box: SecretBox;
      redactor: Redactor;
      allowLoopback: boolean;
    },
  ) {
    this.#store = deps.store;
    this.#registry = deps.registry;
    this.#box = deps.box;
    this.#redactor = deps.redactor;
    this.#allowLoopback = deps.allowLoopback;
  }

  /**
   * At start: registers every stored secret with the redactor, and seals again under the current
   * master key what was sealed under the previous one (a rotation; one transaction). Returns how
   * many were sealed again, and the integrations whose secrets no key held opens.
   */
  async learnSecrets(): Promise<{ resealed: number; unreadable: IntegrationRow[] }> {
    const resealed: { id: string; secrets: string }[] = [];
    const unreadable: IntegrationRow[] = [];
    for (const row of await this.#store.listIntegrations()) {
      let opened: { value: Sealed; underPrevious: boolean };
      try {
        opened = await this.#box.unseal<Sealed>(row.secrets);
      } catch {
        unreadable.push(row);
        continue;
      }
      const sealed = opened.value;
      this.#redactor.add([...Object.values(sealed.config), sealed.destinationSecret]);
      if (opened.underPrevious) {
        resealed.push({ id: row.id, secrets: await this.#box.seal(sealed) });
      }
    }
    if (resealed.length > 0) await this.#store.replaceSecrets(resealed);
    return { resealed: resealed.length, unreadable };
  }

  /** Validates and stores a new integration; every problem is reported at once. */
  async create(input: unknown): Promise<IntegrationRow & { generatedSecret?: string }> {
    const parsed = v.safeParse(createSchema, input);
    const issues = parsed.success ? [] : issuesOf(parsed.issues);
    const body = (parsed.success ? parsed.output : input ?? {}) as Partial<
      v.InferOutput<typeof createSchema>
    >;
    const installed = typeof body.plugin === "string" ? this.#registry.get(body.plugin) : undefined;
    if (typeof body.plugin === "string" && body.plugin !== "" && !installed) {
      issues.push({ path: "plugin", message: `No plugin "${body.plugin}" is installed` });
    }
    if (typeof body.name === "string") issues.push(...await this.#nameIssues(body.name));
    const destination = body.destination;
    const generatedSecret = destination && destination.secret === undefined
      ? generateWebhookSecret()
      : undefined;
    const destinationSecret = destination?.secret ?? generatedSecret;
    if (typeof destination?.url === "string" && typeof destinationSecret === "string") {
      issues.push(...this.#destinationIssues(destination.url, destinationSecret));
    }
    const configInput = body.config;
    const config =
      installed && configInput && typeof configInput === "object" && !Array.isArray(configInput)
        ? await this.#validateConfig(installed, configInput as Record<string, unknown>, issues)
        : undefined;
    if (!parsed.success || issues.length > 0 || !installed || !config) {
      throw invalid(dedupe(issues));
    }
    const valid = parsed.output;
    const { plain, secret } = splitSecrets(installed, config);
    const webhookSecret = valid.destination.secret ?? generatedSecret!;
    this.#redactor.add([...Object.values(secret), webhookSecret]);
    const now = new Date().toISOString();
    const row = {
      id: crypto.randomUUID(),
      pluginId: installed.manifest.id,
      name: valid.name,
      config: plain,
      secrets: await this.#box.seal(
        { config: secret, destinationSecret: webhookSecret } satisfies Sealed,
      ),
      destinationUrl: valid.destination.url,
      destinationFormat: valid.destination.format ?? DEFAULT_FORMAT,
      intervalSeconds: valid.schedule?.intervalSeconds ?? null,
      // SPEC §5.8: paused until a connection check passes, unless the request says `enabled`;
      // `enabled: false` is an operator's choice, which no check overrides.
      enabled: valid.schedule?.enabled === true,
      awaitingCheck: valid.schedule?.enabled === undefined,
      createdAt: now,
      updatedAt: now,
    };
    await this.#store.insertIntegration(row);
    const stored = (await this.#store.getIntegration(row.id))!;
    return generatedSecret ? { ...stored, generatedSecret } : stored;
  }

  /**
   * Applies a partial update; omitted secrets keep their stored value. When the stored secrets
   * cannot be opened (a lost master key), the update must bring every secret field of its config
   * and the destination secret; the ones it leaves out are named.
   */
  async update(id: string, input: unknown): Promise<IntegrationRow> {
    const row = await this.get(id);
    const parsed = v.safeParse(updateSchema, input);
    if (!parsed.success) throw invalid(issuesOf(parsed.issues));
    const body = parsed.output;
    const sealed = await this.#box.open<Sealed>(row.secrets).catch(() => undefined);
    const issues = sealed ? [] : this.#secretsToReenter(row, body);
    if (body.name !== undefined) issues.push(...await this.#nameIssues(body.name, id));
    const reenter = new Set(issues.map((i) => i.path));
    const url = body.destination?.url ?? row.destinationUrl;
    const destinationSecret = body.destination?.secret ?? sealed?.destinationSecret ?? "";
    issues.push(
      ...this.#destinationIssues(url, destinationSecret).filter((i) => !reenter.has(i.path)),
    );
    let plain = row.config;
    let secret = sealed?.config ?? {};
    if (body.config) {
      const installed = this.#registry.require(row.pluginId, "change the config");
      const merged = { ...row.config, ...secret, ...withoutEmptySecrets(installed, body.config) };
      const configIssues: Issue[] = [];
      const config = await this.#validateConfig(installed, merged, configIssues, id);
      issues.push(...configIssues.filter((i) => !reenter.has(i.path)));
      if (config) ({ plain, secret } = splitSecrets(installed, config));
    }
    if (issues.length > 0) throw invalid(issues);
    this.#redactor.add([...Object.values(secret), destinationSecret]);
    await this.#store.updateIntegration(id, {
      name: body.name,
      config: plain,
      secrets: await this.#box.seal({ config: secret, destinationSecret } satisfies Sealed),
      destinationUrl: url,
      destinationFormat: body.destination?.format ?? row.destinationFormat,
      intervalSeconds: body.schedule && "intervalSeconds" in body.schedule
        ? body.schedule.intervalSeconds ?? null
        : row.intervalSeconds,
      enabled: body.schedule?.enabled ?? row.enabled,
      // The operator decided about the schedule: a later passing check changes nothing.
      awaitingCheck: body.schedule?.enabled === undefined ? row.awaitingCheck : false,
    });
    return await this.get(id);
  }

  /** A stored integration, or NOT_FOUND. */
  async get(id: string): Promise<IntegrationRow> {
    const row = await this.#store.getIntegration(id);
    if (!row) throw new HostError("NOT_FOUND", `No integration ${id}`);
    return row;
  }

  /**
   * The integration's config (secrets included) validated by the plugin's own schema in the
   * call's sandbox, and the webhook destination: what a run, a check or a preview starts from.
   * The secrets it opens join the redaction list: with a shared database this host may run an
   * integration another host created, and must not log its secrets either.
   */
  async resolve(
    row: IntegrationRow,
    installed: InstalledPlugin,
    sandbox: Sandbox,
  ): Promise<{ config: unknown; destination: { url: string; secret: string } }> {
    const sealed = await this.#box.open<Sealed>(row.secrets);
    this.#redactor.add([...Object.values(sealed.config), sealed.destinationSecret]);
    const result = await sandbox.validateConfig(
      { ...row.config, ...sealed.config },
      { integrationId: row.id },
    );
    if (!result.ok) {
      const issues = this.#scrubbed(installed, prefixed(result.issues), sealed.config);
      throw new HostError(
        "CONFIG_INVALID",
        `The stored config no longer fits plugin ${installed.manifest.id} ${installed.manifest.version}: ${
          issues.map((i) => `${i.path}: ${i.message}`).join("; ")
        }`,
        {
          issues,
          hint: "Open the integration and save its config again.",
        },
      );
    }
    return {
      config: result.output,
      destination: { url: row.destinationUrl, secret: sealed.destinationSecret },
    };
  }

  /** The webhook destination alone (delivering what the outbox holds needs no plugin). */
  async destination(row: IntegrationRow): Promise<{ url: string; secret: string }> {
    const sealed = await this.#box.open<Sealed>(row.secrets);
    this.#redactor.add([sealed.destinationSecret]);
    return { url: row.destinationUrl, secret: sealed.destinationSecret };
  }

  /**
   * The names of the secret fields that hold a value (never the values), and whether the master
   * key opens the stored secrets at all (when not, the status is `secrets-unreadable`).
   */
  async secretsState(row: IntegrationRow): Promise<{ readable: boolean; names: string[] }> {
    try {
      const sealed = await this.#box.open<Sealed>(row.secrets);
      const names = Object.keys(sealed.config).filter((k) =>
        sealed.config[k] !== undefined && sealed.config[k] !== ""
      ).sort();
      return { readable: true, names };
    } catch {
      return { readable: false, names: [] };
    }
  }

  /**
   * The secrets an update of an integration whose stored secrets cannot be opened leaves out:
   * the secret fields of the config it will have (the chosen `apiVersion` branch's), and the
   * destination secret. Without its plugin the fields are unknown: PLUGIN_NOT_FOUND.
   */
  #secretsToReenter(row: IntegrationRow, body: v.InferOutput<typeof updateSchema>): Issue[] {
    const installed = this.#registry.require(row.pluginId, "re-enter its secrets");
    const config = { ...row.config, ...body.config };
    const given = (value: unknown) =>
      value !== undefined && value !== null && (typeof value !== "string" || value.trim() !== "");
    const why = "the stored secrets cannot be read with this host's master key";
    const issues = [...secretFields(installed.manifest.configSchema, config)].sort()
      .filter((name) => !given(body.config?.[name]))
      .map((name) => ({ path: `config.${name}`, message: `Enter this secret again: ${why}` }));
    if (!given(body.destination?.secret)) {
      issues.push({
        path: "destination.secret",
        message: `Enter the webhook secret again: ${why}`,
      });
    }
    return issues;
  }

  /**
   * Validates a config with the plugin's own schema, in a sandbox of its own for this integration
   * (`integrationId` undefined while it is being created).
   */
  async #validateConfig(
    installed: InstalledPlugin,
    config: Record<string, unknown>,
    issues: Issue[],
    integrationId?: string,
  ): Promise<Record<string, unknown> | undefined> {
    let result;
    {
      await using sandbox = await this.#registry.sandbox(installed);
      result = await sandbox.validateConfig(config, { integrationId });
    }
    if (!result.ok) {
      issues.push(...this.#scrubbed(installed, prefixed(result.issues), config));
      return undefined;
    }
    if (
      typeof result.output !== "object" || result.output === null || Array.isArray(result.output)
    ) {
      throw new HostError(
        "PLUGIN_OUTPUT_INVALID",
        `[plugin ${installed.manifest.id}] validateConfig: the validated config is not an object`,
      );
    }
    const output = result.output as Record<string, unknown>;
    const urlIssues = this.#urlIssues(installed, output);
    issues.push(...urlIssues);
    return urlIssues.length === 0 ? output : undefined;
  }

  /**
   * Issues as the API answers them: a secret field's message never carries what was entered (a
   * schema's "received ..." would echo it), and no message carries a secret value at all.
   */
  #scrubbed(installed: InstalledPlugin, issues: Issue[], config: Record<string, unknown>): Issue[] {
    const secretNames = secretFields(installed.manifest.configSchema);
    const values = [...secretNames].map((name) => config[name])
      .filter((value) => value !== undefined && value !== null && String(value).length >= 4)
      .map((value) => typeof value === "string" ? value : JSON.stringify(value));
    return issues.map((issue) => {
      const field = issue.path.replace(/^config\./, "").split(".")[0];
      const plain = field === "config"
        ? issue.message
        : plainMessage(issue.message, fieldTitle(installed.manifest.configSchema, field));
      // A message in the host's words never holds what was entered; a plugin's might.
      let message = secretNames.has(field) && plain === issue.message
        ? secretMessage(plain)
        : plain;
      for (const value of values) message = message.split(value).join("[REDACTED]");
      return { path: issue.path, message };
    });
  }

  /**
   * Any config value that is a URL must be one the plugin may reach (its `permissions.net`, over
   * https; loopback only when allowed), so a wrong or hostile base URL is refused when it is saved,
   * not at 3 a.m. on the first run.
   */
  #urlIssues(installed: InstalledPlugin, config: Record<string, unknown>): Issue[] {
    const issues: Issue[] = [];
    const check = (path: string, value: unknown) => {
      if (typeof value !== "string" || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return;
      let problem: string | undefined;
      try {
        problem = pluginUrlProblem(
          new URL(value),
          installed.manifest.permissions.net,
          this.#allowLoopback,
        );
      } catch {
        problem = "it is not a valid URL";
      }
      if (problem) issues.push({ path, message: `This address may not be used: ${problem}` });
    };
    for (const [key, value] of Object.entries(config)) {
      if (Array.isArray(value)) value.forEach((item, i) => check(`config.${key}.${i}`, item));
      else check(`config.${key}`, value);
    }
    return issues;
  }

  /**
   * Two integrations may not share a name (compared without case or surrounding spaces): the
   * dashboard, the metrics and the logs name integrations, and two alike could not be told apart.
   */
  async #nameIssues(name: string, id?: string): Promise<Issue[]> {
    const wanted = name.trim().toLowerCase();
    const other = (await this.#store.listIntegrations()).find((row) =>
      row.id !== id && row.name.trim().toLowerCase() === wanted
    );
    return other
      ? [{
        path: "name",
        message: `Integration ${other.id} is already named "${other.name}": choose another name`,
      }]
      : [];
  }

  #destinationIssues(url: string, secret: string): Issue[] {
    const issues: Issue[] = [];
    const problem = webhookUrlProblem(url, this.#allowLoopback);
    if (problem) issues.push({ path: "destination.url", message: problem });
    if (!isWebhookSecret(secret)) {
      issues.push({
        path: "destination.secret",
        message: "Use a Standard Webhooks secret: whsec_ followed by at least 16 base64 bytes",
      });
    }
    return issues;
  }
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) =>
    !seen.has(`${i.path}\n${i.message}`) && seen.add(`${i.path}\n${i.message}`)
  );
}

/** Splits a validated config into its plain part and its secret (`writeOnly`) part. */
function splitSecrets(installed: InstalledPlugin, config: Record<string, unknown>) {
  const names = secretFields(installed.manifest.configSchema);
  const plain: Record<string, unknown> = {};
  const secret: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) (names.has(key) ? secret : plain)[key] = value;
  return { plain, secret };
}

/** An update may send a secret field empty to mean "keep it" (as forms do). */
function withoutEmptySecrets(installed: InstalledPlugin, config: Record<string, unknown>) {
  const names = secretFields(installed.manifest.configSchema);
  return Object.fromEntries(
    Object.entries(config).filter(([k, value]) =>
      !(names.has(k) && (value === "" || value === null))
    ),
  );
}
