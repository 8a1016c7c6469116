import { equal } from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import {
  generateWebhookSecret,
  isWebhookSecret,
  retryAfterMs,
  signWebhook,
} from "../../host/delivery.ts";

Deno.test("signWebhook() produces what the reference Standard Webhooks verifier accepts", () => {
  const secret = generateWebhookSecret();
  equal(isWebhookSecret(secret), true);
  const body = JSON.stringify({ type: "mimecast.alerts", alerts: [{ id: "a" }] });
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = signWebhook(secret, "msg_1", timestamp, body);
  const verified = new Webhook(secret).verify(body, {
    "webhook-id": "msg_1",
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature,
  });
  equal((verified as { type: string }).type, "mimecast.alerts");
});

Deno.test("isWebhookSecret() wants whsec_ and at least 16 bytes of base64", () => {
  equal(isWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), true);
  equal(isWebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), false);
  equal(isWebhookSecret("whsec_c2hvcnQ="), false);
  equal(isWebhookSecret("whsec_not base64!"), false);
});

Deno.test("retryAfterMs() reads seconds and HTTP dates", () => {
  const now = Date.UTC(2025, 0, 1);
  equal(retryAfterMs("7", now), 7000);
  equal(retryAfterMs(new Date(now + 30_000).toUTCString(), now), 30_000);
  equal(retryAfterMs("soon", now), undefined);
  equal(retryAfterMs(null, now), undefined);
});
