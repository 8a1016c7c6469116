import { equal, match, rejects, throws } from "node:assert/strict";
import { HostError } from "../../host/errors.ts";
import { loadMasterKey, parseMasterKey, Redactor, SecretBox } from "../../host/secrets.ts";

Deno.test("SecretBox seals as a dir/A256GCM JWE and opens only with the same key", async () => {
  const box = new SecretBox(crypto.getRandomValues(new Uint8Array(32)));
  const jwe = await box.seal({ clientSecret: "s3cr3t-value" });
  equal(jwe.split(".").length, 5);
  equal(JSON.parse(atob(jwe.split(".")[0].replace(/-/g, "+").replace(/_/g, "/"))).enc, "A256GCM");
  equal(jwe.includes("s3cr3t-value"), false);
  equal((await box.open<{ clientSecret: string }>(jwe)).clientSecret, "s3cr3t-value");
  const other = new SecretBox(crypto.getRandomValues(new Uint8Array(32)));
  await rejects(
    other.open(jwe),
    (e: HostError) => e.code === "SECRETS_UNAVAILABLE" && !e.message.includes("s3cr3t"),
  );
});

Deno.test("loadMasterKey() creates a 0600 key file once and reuses it; HOST_MASTER_KEY wins", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await loadMasterKey(undefined, dir);
    equal((await Deno.stat(`${dir}/master.key`)).mode! & 0o777, 0o600);
    const again = await loadMasterKey(undefined, dir);
    equal(btoa(String.fromCharCode(...again)), btoa(String.fromCharCode(...first)));
    const env = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const fromEnv = await loadMasterKey(env, dir);
    equal([...fromEnv].join(","), [...Array(32).keys()].join(","));
    await rejects(
      loadMasterKey("c2hvcnQ", dir),
      (e: HostError) => e.code === "SECRETS_UNAVAILABLE" && /32 bytes/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SecretBox with a previous key opens what either key sealed and seals under the current one", async () => {
  const [oldKey, key] = [
    crypto.getRandomValues(new Uint8Array(32)),
    crypto.getRandomValues(new Uint8Array(32)),
  ];
  const old = await new SecretBox(oldKey).seal({ v: "old" });
  const box = new SecretBox(key, oldKey);
  equal(box.rotating, true);
  const opened = await box.unseal<{ v: string }>(old);
  equal(opened.value.v, "old");
  equal(opened.underPrevious, true);
  const fresh = await box.seal({ v: "new" });
  equal((await box.unseal(fresh)).underPrevious, false);
  // Sealed under the current key only: the previous key alone cannot open it.
  await rejects(
    new SecretBox(oldKey).open(fresh),
    (e: HostError) => e.code === "SECRETS_UNAVAILABLE",
  );
  await rejects(
    new SecretBox(crypto.getRandomValues(new Uint8Array(32)), oldKey).open(fresh),
    (e: HostError) => e.code === "SECRETS_UNAVAILABLE" && /re-enter/.test(e.hint ?? ""),
  );
});

Deno.test("parseMasterKey() names the variable it refuses", () => {
  throws(
    () => parseMasterKey("c2hvcnQ", "HOST_MASTER_KEY_PREVIOUS"),
    (e: HostError) => /^HOST_MASTER_KEY_PREVIOUS must decode to 32 bytes/.test(e.message),
  );
  throws(
    () => parseMasterKey("not base64 at all!", "HOST_MASTER_KEY_PREVIOUS"),
    (e: HostError) => /^HOST_MASTER_KEY_PREVIOUS is not base64url/.test(e.message),
  );
});

Deno.test("loadMasterKey() refuses to make a new key next to an existing database", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/host.sqlite`, "");
    await rejects(loadMasterKey(undefined, dir), (e: HostError) => {
      equal(e.code, "SECRETS_UNAVAILABLE");
      match(
        e.message,
        /master\.key is missing, HOST_MASTER_KEY is not set, and .*host\.sqlite exists/,
      );
      match(e.hint ?? "", /restore .*master\.key from a backup/);
      return true;
    });
    await rejects(Deno.stat(`${dir}/master.key`), Deno.errors.NotFound);
    // HOST_MASTER_KEY still works there.
    const env = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    equal((await loadMasterKey(env, dir)).length, 32);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Redactor scrubs every known secret and leaves other text alone", () => {
  const redactor = new Redactor();
  redactor.add(["client-secret-123", "abc", undefined, 42]);
  equal(
    redactor.redact('{"e":"bad client-secret-123 and client-secret-123"}'),
    '{"e":"bad [redacted] and [redacted]"}',
  );
  equal(
    redactor.redact("abc stays: too short to be a secret"),
    "abc stays: too short to be a secret",
  );
});
