/**
 * `deno bench` suites for the hot paths: validation + filtering + mapping per log type (one
 * iteration normalizes 1,000 records, so records/s = 1,000 / time per iteration), API 1.0 HMAC
 * request signing and Standard Webhooks signing (ops/s), and reading one page's answer within
 * the 16 MiB bound.
 */
import * as v from "valibot";
import { generateRecords } from "../fixtures/simulator/mod.ts";
import { signature } from "../plugin/auth.ts";
import { MAX_RESPONSE_BYTES, readLimitedText } from "../plugin/http.ts";
import { configSchema, type TtpLogType as LogType } from "../plugin/config.ts";
import { normalize } from "../plugin/normalize.ts";
import { signWebhook } from "../host/delivery.ts";

const config = v.parse(configSchema, {
  clientId: "id",
  clientSecret: "secret",
  internalDomains: ["acme-corp.example"],
});
const ctx = { integrationId: "bench", config, count: () => {} };
const BATCH = 1000;

for (const logType of ["url", "attachment", "impersonation"] as LogType[]) {
  const records = generateRecords(logType, BATCH, { start: Date.UTC(2025, 2, 4), stepMs: 250 }).map(
    (data) => ({ logType, data }),
  );
  Deno.bench({
    name: `normalize ${logType} ×${BATCH}`,
    group: "normalize",
    fn() {
      let alerts = 0;
      for (const record of records) if (normalize(record, ctx)) alerts++;
      if (alerts === 0) throw new Error("no alerts");
    },
  });
}

const SIGN = {
  accessKey: "mYtOL3XZCOwG96BOiFTZRmN9Sx2tHfWw",
  secretKey: "dGhpcy1pcy1hLXRlc3Qtc2VjcmV0LWtleS0wMTIzNDU2Nzg5",
  applicationId: "app",
  applicationKey: "8b2d7a5c-3f1e-4a6b-9c0d-1e2f3a4b5c6d",
  uri: "/api/ttp/url/get-logs",
  date: "Tue, 24 Nov 2015 12:50:11 UTC",
  requestId: "8578FCFC-A305-4D9A-99CB-F4D5ECEFE297",
};
Deno.bench({
  name: "API 1.0 HMAC-SHA1 request signature",
  group: "signing",
  fn: () => void signature(SIGN),
});

const body = JSON.stringify({
  type: "mimecast.alerts",
  alerts: generateRecords("url", 100, { start: Date.UTC(2025, 2, 4) }),
});
Deno.bench({
  name: `Standard Webhooks signature of a 100-alert batch (${Math.round(body.length / 1024)} KiB)`,
  group: "signing",
  fn: () => void signWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", 1741089731, body),
});

// Reading one page's answer (about 80 KB, in 16 KiB chunks as the network delivers them): the
// bounded streaming read against the unbounded `response.text()` it replaced.
const page = new TextEncoder().encode(JSON.stringify({
  meta: { status: 200 },
  data: [{ clickLogs: generateRecords("url", 100, { start: Date.UTC(2025, 2, 4) }) }],
  fail: [],
}));
const pageResponse = () => {
  let at = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= page.length) return controller.close();
        controller.enqueue(page.subarray(at, at += 16 * 1024));
      },
    }),
  );
};
Deno.bench({
  name: `read a ${Math.round(page.length / 1024)} KiB page: response.text() (unbounded)`,
  group: "read",
  baseline: true,
  fn: async () => void JSON.parse(await pageResponse().text()),
});
Deno.bench({
  name: `read a ${Math.round(page.length / 1024)} KiB page: readLimitedText (16 MiB bound)`,
  group: "read",
  fn: async () =>
    void JSON.parse(
      await readLimitedText(pageResponse(), { limit: MAX_RESPONSE_BYTES, path: "/bench" }),
    ),
});
