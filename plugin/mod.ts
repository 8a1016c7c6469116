/**
 * The Mimecast plugin: pulls TTP URL, Attachment Protection and Impersonation Protect logs over
 * API 2.0 or 1.0, and maps what Mimecast did not judge clean to alerts with ATT&CK techniques.
 * Its identity lives in `manifest.json`; this module is the behaviour.
 * @module
 */
import type { Plugin } from "../host/types.ts";
import { check } from "./check.ts";
import { type Config, configSchema } from "./config.ts";
import type { Checkpoint } from "./cursor.ts";
import { fetchPages } from "./fetch.ts";
import { normalize } from "./normalize.ts";
import type { MimecastRecord } from "./records.ts";

/** The plugin object the host loads. */
export const plugin = {
  configSchema,
  check,
  fetch: fetchPages,
  normalize,
} satisfies Plugin<Config, MimecastRecord, Checkpoint>;

export type { Config } from "./config.ts";
export type { Checkpoint } from "./cursor.ts";
export type { MimecastRecord } from "./records.ts";
export { InvalidRecordError, MimecastError } from "./errors.ts";
