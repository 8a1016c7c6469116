/**
 * Secrets at rest (SPEC §5.4): sealed as a JWE (`dir`, `A256GCM`, jose) under the master key from
 * `HOST_MASTER_KEY` or a 0600 key file in the data folder; and the redaction of known secret
 * values from anything the host writes out.
 * @module
 */
import { compactDecrypt, CompactEncrypt } from "jose";
import { HostError } from "./errors.ts";

/** What an operator can do when stored secrets cannot be opened. */
export const SECRETS_UNREADABLE_HINT =
  "Start the host with the master key they were sealed with (HOST_MASTER_KEY or the data folder's master.key; during a rotation, the old key in HOST_MASTER_KEY_PREVIOUS), or re-enter the integration's secrets: edit it in the UI, or PATCH /api/integrations/:id with every secret field of its config and destination.secret.";

/**
 * Seals and opens JSON values under one 256-bit key. During a rotation it also holds the previous
 * key: it opens what was sealed under either, and seals under the current one only.
 */
export class SecretBox {
  #key: Uint8Array;
  #previous?: Uint8Array;

  constructor(key: Uint8Array, previous?: Uint8Array) {
    if (key.length !== 32 || (previous && previous.length !== 32)) {
      throw new HostError("SECRETS_UNAVAILABLE", "The master key must be 32 bytes");
    }
    this.#key = key;
    this.#previous = previous;
  }

  /** True when a previous key is held (a rotation is under way). */
  get rotating(): boolean {
    return this.#previous !== undefined;
  }

  /** Encrypts a JSON value into a compact JWE. */
  async seal(value: unknown): Promise<string> {
    return await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(value)))
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
      .encrypt(this.#key);
  }

  /** Decrypts a compact JWE made by `seal`, under the current key or else the previous one. */
  async open<T = unknown>(jwe: string): Promise<T> {
    return (await this.unseal<T>(jwe)).value;
  }

  /**
   * Decrypts a compact JWE and says whether it was sealed under the previous key (so it should
   * be sealed again); SECRETS_UNAVAILABLE when no key held opens it.
   */
  async unseal<T = unknown>(jwe: string): Promise<{ value: T; underPrevious: boolean }> {
    const keys = this.#previous ? [this.#key, this.#previous] : [this.#key];
    let cause: unknown;
    for (const key of keys) {
      try {
        const { plaintext } = await compactDecrypt(jwe, key);
        const value = JSON.parse(new TextDecoder().decode(plaintext));
        return { value, underPrevious: key === this.#previous };
      } catch (error) {
        cause = error;
      }
    }
    throw new HostError(
      "SECRETS_UNAVAILABLE",
      "Cannot decrypt stored secrets: the master key differs from the one they were sealed with",
      { hint: SECRETS_UNREADABLE_HINT, cause },
    );
  }
}

function decodeBase64Url(text: string): Uint8Array {
  const b64 = text.trim().replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - b64.length % 4) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function encodeBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

const GENERATE = "openssl rand -base64 32 | tr '+/' '-_' | tr -d '='";

/** A master key from its base64url text; `name` says where it came from (a variable, a file). */
export function parseMasterKey(text: string, name: string): Uint8Array {
  let key: Uint8Array;
  try {
    key = decodeBase64Url(text);
  } catch (cause) {
    throw new HostError("SECRETS_UNAVAILABLE", `${name} is not base64url`, {
      hint: `Generate a key with: ${GENERATE}`,
      cause,
    });
  }
  if (key.length !== 32) {
    throw new HostError(
      "SECRETS_UNAVAILABLE",
      `${name} must decode to 32 bytes, not ${key.length}`,
      { hint: `Generate a key with: ${GENERATE}` },
    );
  }
  return key;
}

/**
 * The master key: `HOST_MASTER_KEY` (base64url of 32 bytes) when set, else `<dataDir>/master.key`,
 * created with mode 0600 on first start. A database without its key file is an error, never a
 * new key: the secrets in it were sealed under the missing one.
 */
export async function loadMasterKey(
  envKey: string | undefined,
  dataDir: string,
): Promise<Uint8Array> {
  if (envKey) return parseMasterKey(envKey, "HOST_MASTER_KEY");
  const path = `${dataDir}/master.key`;
  try {
    return parseMasterKey(await Deno.readTextFile(path), path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (await exists(`${dataDir}/host.sqlite`)) {
    throw new HostError(
      "SECRETS_UNAVAILABLE",
      `${path} is missing, HOST_MASTER_KEY is not set, and ${dataDir}/host.sqlite exists: its secrets were sealed with the missing key`,
      {
        hint:
          `Put the key back (restore ${path} from a backup, or set HOST_MASTER_KEY to it). If it is lost for good, create a new one (${GENERATE} > ${path}; chmod 600 ${path}) and re-enter each integration's secrets: until then they show secrets-unreadable.`,
      },
    );
  }
  const key = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeTextFile(path, encodeBase64Url(key) + "\n", { mode: 0o600, createNew: true });
  return key;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The set of secret values the host knows, used to scrub them from log lines, error messages and
 * run records. It is passed where needed as a value, never kept in a module global.
 */
export class Redactor {
  #secrets = new Set<string>();
  /** The forms to scrub, longest first, so a secret inside a longer one cannot break it up. */
  #forms: string[] = [];

  /**
   * Adds secret values (short ones are ignored: they would scrub ordinary words). Each is kept as
   * written and as it reads inside a JSON string, and inside JSON within JSON (a logged request
   * body, an error quoting one): a secret holding `"`, `\` or a control character is escaped
   * there and would otherwise slip through.
   */
  add(values: Iterable<unknown>): void {
    let added = false;
    for (const value of values) {
      if (typeof value !== "string" || value.length < 4) continue;
      let form = value;
      for (let depth = 0; depth < 4; depth++, form = JSON.stringify(form).slice(1, -1)) {
        if (this.#secrets.has(form)) continue;
        this.#secrets.add(form);
        added = true;
      }
    }
    if (added) this.#forms = [...this.#secrets].sort((a, b) => b.length - a.length);
  }

  /** Replaces every known secret value in text with `[redacted]`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#forms) {
      if (out.includes(secret)) out = out.split(secret).join("[redacted]");
    }
    return out;
  }
}
