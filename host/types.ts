/**
 * The plugin contract (SPEC §5.2): what a plugin module exports and what the host hands it.
 *
 * Plugins import these as types only, so a bundled plugin carries no host code.
 * @module
 */
import type { GenericSchema } from "valibot";

/** One field-level problem, with a dot path such as `config.baseUrl`. */
export interface Issue {
  path: string;
  message: string;
}

/** Plain JSON: what checkpoints and raw records are made of. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The clock a plugin uses: wall time in ms and a sleep that an abort cuts short. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Structured log lines; the host redacts secrets before they are written. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Everything a plugin may use during `check` and `fetch`. */
export interface PluginContext<Config = unknown, Checkpoint = Json> {
  integrationId: string;
  /** Validated config, secrets included (decrypted by the host). */
  config: Config;
  /** The checkpoint saved with the last stored page, or null on a first run. */
  checkpoint: Checkpoint | null;
  /** A fetch limited to the manifest's `permissions.net`. */
  fetch: typeof globalThis.fetch;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  /** True for a preview: yield a first page per stream only; the checkpoint will not be kept. */
  preview?: boolean;
  /**
   * A backfill (SPEC §5.3): read exactly this past span of these streams instead of going on from
   * the checkpoint, and stop at `to`. `checkpoint` is then null, and the pages' checkpoints are
   * not kept: a backfill never reads nor moves the live cursors.
   */
  window?: FetchWindow;
}

/** A past span a backfill asks `fetch` to read. */
export interface FetchWindow {
  /** ISO time where the span starts (included). */
  from: string;
  /** ISO time where the span ends (included); never in the future. */
  to: string;
  /** The streams (log types) to read, among those the manifest's `backfill` names. */
  logTypes: string[];
}

/** What `normalize` may use: no I/O, only data and a counter for notable records. */
export interface NormalizeContext<Config = unknown> {
  integrationId: string;
  config: Config;
  /**
   * Counts something notable by name: `drift` for an unknown verdict value (a run count of its
   * own); any other name adds to the run's `notes` (e.g. rejections per reason).
   */
  count(name: string): void;
}

/** One page of a fetch: its records and the checkpoint that is true once they are stored. */
export interface Page<Record = unknown, Checkpoint = Json> {
  records: Record[];
  checkpoint: Checkpoint;
  /**
   * Optional, per stream (e.g. log type): the ISO time up to which records have been fully
   * received once this page is stored. The host shows `now - progress` as the stream's lag.
   */
  progress?: { [stream: string]: string };
  /**
   * Optional: spans of a stream that could not be read (e.g. older than the service keeps its
   * logs). The host records them on the run and the integration so an operator sees the gap.
   */
  skipped?: SkippedSpan[];
}

/** A span of one stream that a run could not read, and why. */
export interface SkippedSpan {
  stream: string;
  /** ISO time where the span starts. */
  from: string;
  /** ISO time where reading resumed. */
  to: string;
  reason: string;
}

/** One log type's outcome of a connection check. */
export interface CheckResult {
  logType: string;
  ok: boolean;
  error?: string;
  hint?: string;
}

/** The alert a webhook carries (SPEC §4). */
export interface Alert {
  id: string;
  alertType: string;
  threatId: string;
  threatName: string;
  logType: string;
  occurredAt: string;
  direction: "inbound" | "outbound" | "internal" | "external" | "unknown";
  email: { from?: string; to?: string; subject?: string; messageId?: string };
  url?: string;
  file?: { name?: string; type?: string; sha256?: string };
  verdict: string;
  action?: string;
  /** Where Mimecast gives it (rejections): the connecting server. */
  sender?: { ip?: string };
  /** Rejections only: Mimecast's category, SMTP code and reply text. */
  rejection?: { type?: string; code?: string; info?: string };
  integrationId: string;
  raw: Record<string, unknown>;
}

/**
 * Thrown by `normalize` for a record that does not fit its schema. The host counts it as
 * `invalid` and keeps it with its issues; the run goes on.
 */
export interface InvalidRecord extends Error {
  name: "InvalidRecordError";
  issues: Issue[];
}

/** A plugin module's export: a plain object satisfying this interface. */
export interface Plugin<Config = unknown, Record = unknown, Checkpoint = Json> {
  configSchema: GenericSchema<unknown, Config>;
  check?(ctx: PluginContext<Config, Checkpoint>): Promise<CheckResult[]>;
  fetch(ctx: PluginContext<Config, Checkpoint>): AsyncIterable<Page<Record, Checkpoint>>;
  normalize(record: Record, ctx: NormalizeContext<Config>): Alert | null;
}
