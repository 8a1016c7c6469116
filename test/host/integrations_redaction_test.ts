/**
 * A host may run an integration it did not create (several hosts on one database, SPEC §5.7):
 * opening its secrets to run it must put them on that host's redaction list too.
 */
import { equal, match } from "node:assert/strict";
import { Integrations } from "../../host/integrations.ts";
import type { InstalledPlugin, Registry } from "../../host/registry.ts";
import type { Sandbox } from "../../host/sandbox/mod.ts";
import { Redactor, SecretBox } from "../../host/secrets.ts";
import type { HostStore, IntegrationRow } from "../../host/store/mod.ts";

const CLIENT_SECRET = "client-secret-only-the-other-host-saw";
const WEBHOOK_SECRET = "whsec_dGhlLW90aGVyLWhvc3RzLXdlYmhvb2s=";

Deno.test("Integrations.resolve() adds the secrets it opens to the redactor", async () => {
  const box = new SecretBox(crypto.getRandomValues(new Uint8Array(32)));
  // Sealed by another host with the shared master key: this host's redactor never saw them.
  const row = {
    id: "i1",
    pluginId: "mimecast",
    config: { clientId: "plain-id" },
    secrets: await box.seal({
      config: { clientSecret: CLIENT_SECRET },
      destinationSecret: WEBHOOK_SECRET,
    }),
    destinationUrl: "https://siem.example/hook",
  } as unknown as IntegrationRow;
  const redactor = new Redactor();
  const integrations = new Integrations({
    store: {} as HostStore,
    registry: {} as Registry,
    box,
    redactor,
    allowLoopback: false,
  });
  const line = `token refused for ${CLIENT_SECRET} posting with ${WEBHOOK_SECRET}`;
  equal(redactor.redact(line), line, "nothing known before");

  const sandbox = {
    validateConfig: (config: unknown) => Promise.resolve({ ok: true, output: config }),
  } as unknown as Sandbox;
  const { config } = await integrations.resolve(row, {} as InstalledPlugin, sandbox);
  equal((config as Record<string, unknown>).clientSecret, CLIENT_SECRET);

  const redacted = redactor.redact(line);
  equal(redacted.includes(CLIENT_SECRET), false, redacted);
  equal(redacted.includes(WEBHOOK_SECRET), false, redacted);
  match(redacted, /token refused for/);
});
