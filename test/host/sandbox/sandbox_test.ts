/**
 * The real Mimecast bundle through the sandbox gives what the plugin gives in-process (config
 * validation with the same issue paths, check, pages, normalized alerts, the SIEM files streamed
 * across), and what `ctx` carries crosses the boundary intact: a refused request's `code`, a large
 * response body in chunks read only as fast as the plugin reads them, request bodies, sleeps on
 * the host's clock, log lines, and a cancel that stops a call at once.
 */
import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import * as v from "valibot";
import {
  generateRecords,
  generateSiemEvents,
  MimecastSimulator,
} from "../../../fixtures/simulator/mod.ts";
import { HostError } from "../../../host/errors.ts";
import {
  type NormalizedResults,
  type NormalizeResult,
  sortResults,
  startSandbox,
} from "../../../host/sandbox/mod.ts";
import type { Clock, Issue, Page } from "../../../host/types.ts";
import { plugin } from "../../../plugin/mod.ts";
import { FakeClock, memoryLogger } from "../../_helpers.ts";
import { fixture, mimecastBundle } from "./_fixtures.ts";

const NOW = Date.UTC(2025, 2, 4, 12, 0, 0);
const HOUR = 3_600_000;
const BASE = "http://127.0.0.1:9701";
const CLIENT = { clientId: "sim-client-id", clientSecret: "sim-client-secret-value" };

/** A simulator with records of the three TTP log types and SIEM files, the same every time. */
function seededSimulator(clock: FakeClock): MimecastSimulator {
  const sim = new MimecastSimulator({ now: clock.now, filesOrigin: "http://127.0.0.1:9703" });
  sim.recordBodies = false;
  for (const logType of ["url", "attachment", "impersonation"] as const) {
    sim.add(logType, generateRecords(logType, 230, { start: NOW - 3 * HOUR, stepMs: 20_000 }));
  }
  // One click that cannot be told apart from others: an invalid record, kept with its reasons.
  const [first] = generateRecords("url", 1, { start: NOW - 2 * HOUR, stepMs: 20_000 });
  sim.add("url", [{ date: first.date, scanResult: "malicious" }]);
  for (let f = 0; f < 3; f++) {
    const start = NOW - 5 * HOUR + f * 30 * 60_000;
    const { events } = generateSiemEvents(400, {
      start,
      stepMs: 2000,
      offset: f * 400,
      stage: "receipt",
    });
    sim.siem.addFile({ stage: "receipt", events, publishedAt: start + 30 * 60_000 });
  }
  return sim;
}

/** What run.ts does in-process for one page: the plugin's normalize per record, counted. */
function normalizeInProcess(
  records: unknown[],
  integrationId: string,
  config: unknown,
): NormalizedResults {
  const counts: Record<string, number> = {};
  const ctx = {
    integrationId,
    config: config as never,
    count: (n: string) => void (counts[n] = (counts[n] ?? 0) + 1),
  };
  const results = records.map((record): NormalizeResult => {
    try {
      return plugin.normalize(record as never, ctx);
    } catch (error) {
      return { invalid: (error as { issues: Issue[] }).issues };
    }
  });
  return { results, counts };
}

function inProcessValidation(config: unknown) {
  const result = v.safeParse(plugin.configSchema, config);
  return result.success ? { ok: true, output: JSON.parse(JSON.stringify(result.output)) } : {
    ok: false,
    issues: result.issues.map((i) => ({ path: v.getDotPath(i) ?? "", message: i.message })),
  };
}

Deno.test("validateConfig() answers what valibot answers in-process, issue paths included", async () => {
  await using sandbox = await startSandbox({
    pluginId: "mimecast",
    source: await mimecastBundle(),
  });
  const configs = [
    { apiVersion: "2.0", baseUrl: `${BASE}/`, ...CLIENT },
    {
      apiVersion: "1.0",
      baseUrl: "https://eu-api.mimecast.com",
      applicationId: "a",
      applicationKey: "b",
      accessKey: "c",
      secretKey: "d",
      logTypes: ["url", "rejections"],
    },
    {
      apiVersion: "2.0",
      baseUrl: "ftp://nowhere",
      clientId: " ",
      logTypes: ["url", "url", "bogus"],
      lagSeconds: -5,
      internalNetworks: ["10.0.0.0/8", "nope"],
    },
    { apiVersion: "3.0" },
    "not an object",
  ];
  for (const config of configs) {
    deepStrictEqual(await sandbox.validateConfig(config), inProcessValidation(config));
  }
  const invalid = await sandbox.validateConfig(configs[2]);
  ok(!invalid.ok);
  deepStrictEqual(
    invalid.issues.map((i) => i.path),
    ["baseUrl", "clientId", "clientSecret", "logTypes.2", "lagSeconds", "internalNetworks.1"],
    "every issue, each naming its field (and the line of a list)",
  );
});

for (const logTypes of [["url", "attachment", "impersonation"], ["rejections"]]) {
  Deno.test(`check, fetch and normalizePage through the sandbox give the in-process results (${logTypes.join(", ")})`, async () => {
    const config = v.parse(plugin.configSchema, {
      apiVersion: "2.0",
      baseUrl: BASE,
      ...CLIENT,
      logTypes,
      startFrom: "7d",
    });
    const integrationId = "int-sandboxed";

    const clockA = new FakeClock(NOW);
    const simA = seededSimulator(clockA);
    const ctxA = {
      integrationId,
      config,
      checkpoint: null,
      fetch: simA.fetch,
      clock: clockA,
      logger: memoryLogger(),
      signal: new AbortController().signal,
    };
    const expectedChecks = await plugin.check(ctxA);
    const expectedPages: Page[] = [];
    const expectedResults: NormalizedResults[] = [];
    for await (const page of plugin.fetch(ctxA)) {
      expectedPages.push(JSON.parse(JSON.stringify(page)));
      expectedResults.push(
        JSON.parse(JSON.stringify(normalizeInProcess(page.records, integrationId, config))),
      );
    }
    ok(expectedPages.length >= 4, `${expectedPages.length} pages`);

    const clockB = new FakeClock(NOW);
    const simB = seededSimulator(clockB);
    const logger = memoryLogger();
    await using sandbox = await startSandbox({
      pluginId: "mimecast",
      source: await mimecastBundle(),
      fetch: simB.fetch,
      clock: clockB,
      logger,
    });
    const validated = await sandbox.validateConfig({
      apiVersion: "2.0",
      baseUrl: BASE,
      ...CLIENT,
      logTypes,
      startFrom: "7d",
    }, { integrationId });
    ok(validated.ok);
    deepStrictEqual(validated.output, JSON.parse(JSON.stringify(config)));
    deepStrictEqual(
      await sandbox.check({ integrationId, config: validated.output }),
      expectedChecks,
    );
    const pages: Page[] = [];
    const results: NormalizedResults[] = [];
    for await (
      const page of sandbox.fetch({ integrationId, config: validated.output, checkpoint: null })
    ) {
      pages.push(page);
      results.push(
        await sandbox.normalizePage(page.records, { integrationId, config: validated.output }),
      );
    }
    deepStrictEqual(pages, expectedPages);
    deepStrictEqual(results, expectedResults);
    equal(simB.logCalls, simA.logCalls, "one Mimecast call per page, as in-process");
    // The same, fused: each page arrives with its records normalized, in one message.
    const fused = await Array.fromAsync(
      sandbox.normalizedPages({ integrationId, config: validated.output, checkpoint: null }),
    );
    deepStrictEqual(fused.map((f) => f.page), expectedPages);
    deepStrictEqual(fused.map((f) => f.normalized), expectedResults);
    // Slim, as a run reads them: only the records that did not fit come back, in their places.
    const slim = await Array.fromAsync(
      sandbox.normalizedPages(
        { integrationId, config: validated.output, checkpoint: null },
        { slim: true },
      ),
    );
    deepStrictEqual(slim.map((f) => f.normalized), expectedResults);
    slim.forEach(({ page }, p) => {
      deepStrictEqual(
        page.records,
        expectedPages[p].records.map((record, i) =>
          sortResults([record], { results: [expectedResults[p].results[i]], counts: {} })
              .invalid.length > 0
            ? record
            : null
        ),
      );
      deepStrictEqual(page.checkpoint, expectedPages[p].checkpoint);
    });
    equal(
      slim.flatMap(({ page }) => page.records.filter((r) => r !== null)).length,
      logTypes.includes("url") ? 1 : 0,
      "the one click that does not fit comes back, and no other record",
    );
    const alerts = results.flatMap((r, i) => sortResults(pages[i].records, r).alerts);
    ok(alerts.length > 100, `${alerts.length} alerts`);
  });
}

/** A host network for the probe plugin: a refusal, a large file, an echo. */
function probeNetwork(options: { size: number; chunk: number }) {
  const source = { produced: 0, cancelled: false, bytes: new Uint8Array(0) };
  const file = new Uint8Array(options.size);
  for (let i = 0; i < file.length; i++) file[i] = (i * 7 + (i >> 12)) & 0xff;
  source.bytes = file;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.hostname === "denied.example") {
      throw new HostError(
        "NET_DENIED",
        "[plugin probe] Cannot reach https://denied.example: not in permissions.net",
      );
    }
    if (url.pathname === "/echo") {
      return Response.json({
        method: request.method,
        probe: request.headers.get("x-probe"),
        body: await request.json(),
      });
    }
    let at = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= file.length) return controller.close();
          source.produced++;
          controller.enqueue(file.slice(at, at + options.chunk));
          at += options.chunk;
        },
        cancel() {
          source.cancelled = true;
        },
      }),
      { headers: { "content-type": "application/gzip" } },
    );
  };
  return { fetch, source };
}

const PROBE_CONFIG = {
  deniedUrl: "https://denied.example/",
  bigUrl: "https://files.example/big",
  echoUrl: "https://files.example/echo",
  secret: "probe-secret-value",
};

Deno.test("ctx crosses the boundary: a refusal keeps its code, a 20 MiB body streams in chunks, bodies, the host's clock, log lines", async () => {
  const net = probeNetwork({ size: 20 * 1024 * 1024, chunk: 1024 * 1024 });
  const clock = new FakeClock(NOW);
  const logger = memoryLogger();
  await using sandbox = await startSandbox({
    pluginId: "probe",
    source: await fixture("ctx_probe.js"),
    fetch: net.fetch,
    clock,
    logger,
  });
  const callLogger = memoryLogger();
  deepStrictEqual(
    await sandbox.check({ integrationId: "p", config: PROBE_CONFIG, logger: callLogger }),
    [
      { logType: "probe", ok: true, hint: `now=${NOW}` },
    ],
  );
  deepStrictEqual(callLogger.lines, [{
    level: "info",
    message: "checking",
    fields: { secret: PROBE_CONFIG.secret },
  }]);

  const pages = await Array.fromAsync(
    sandbox.fetch({ integrationId: "p", config: PROBE_CONFIG, logger: callLogger }),
  );
  const [denied, big, echo, sleep] = pages.map((p) => p.records[0] as Record<string, unknown>);
  deepStrictEqual(denied, {
    what: "denied",
    name: "HostError",
    code: "NET_DENIED",
    message: "[plugin probe] Cannot reach https://denied.example: not in permissions.net",
  });
  const sha256 = Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", net.source.bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  equal(big.sha256, sha256);
  equal(big.bytes, 20 * 1024 * 1024);
  equal(big.status, 200);
  equal(big.type, "application/gzip");
  ok((big.chunks as number) >= 80, `${big.chunks} chunks of at most 256 KiB`);
  deepStrictEqual(echo, {
    what: "echo",
    status: 200,
    body: { method: "POST", probe: "yes", body: { hello: "host" } },
  });
  deepStrictEqual(sleep, { what: "sleep", before: NOW, after: NOW + 5000 });
  deepStrictEqual(clock.slept, [5000]);
  deepStrictEqual(
    pages[3].progress,
    { probe: "2025-03-04T12:00:00Z" },
    "a progress that is not a time is dropped",
  );
  ok(callLogger.lines.some((l) => l.level === "warn" && l.message === "slept"));

  const records = pages.map((p) => p.records[0]);
  const normalized = await sandbox.normalizePage(records, {
    integrationId: "p",
    config: PROBE_CONFIG,
  });
  const sorted = sortResults(records, normalized);
  equal(sorted.alerts.length, 4);
  equal(sorted.alerts[0].id, "p:denied");
  equal(sorted.counts.drift, 1);
  deepStrictEqual(sorted.notes, {
    "seen denied": 1,
    "seen big": 1,
    "seen echo": 1,
    "seen sleep": 1,
  });
});

Deno.test("a response body is read from the source only as fast as the plugin reads it; a cancel reaches the source", async () => {
  const net = probeNetwork({ size: 64 * 1024 * 1024, chunk: 64 * 1024 });
  await using sandbox = await startSandbox({
    pluginId: "probe",
    source: await fixture("ctx_probe.js"),
    fetch: net.fetch,
  });
  const pages = sandbox.fetch({ integrationId: "p", config: { ...PROBE_CONFIG, mode: "peek" } });
  // The first piece is read whole (256 KiB, four of the source's chunks) before the answer.
  deepStrictEqual((await pages.next()).value?.records, [{ what: "peek", bytes: 256 * 1024 }]);
  // Sent with the answer and unasked (3 pieces), held by the host (1), queued in the source
  // stream: about 1 MiB, never the file.
  ok(net.source.produced <= 18, `${net.source.produced} of 1024 chunks were read`);
  deepStrictEqual((await pages.next()).value?.records, [{ what: "cancelled" }]);
  ok(net.source.cancelled, "the source stream was cancelled");
  equal((await pages.next()).done, true);
});

Deno.test("cancelling a call rejects it at once with the signal's reason; the sandbox stays usable", async () => {
  const waiting: Clock = {
    now: () => NOW,
    sleep: (_ms, signal) =>
      new Promise((_, reject) =>
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true })
      ),
  };
  await using sandbox = await startSandbox({
    pluginId: "probe",
    source: await fixture("ctx_probe.js"),
    clock: waiting,
  });
  const controller = new AbortController();
  const reason = new HostError("CANCELLED", "Run cancelled by an operator");
  const pages = Array.fromAsync(
    sandbox.fetch({ integrationId: "p", config: { mode: "wait" }, signal: controller.signal }),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = performance.now();
  controller.abort(reason);
  await rejects(pages, (error) => error === reason);
  ok(performance.now() - started < 200, "rejected at once");
  deepStrictEqual(await sandbox.check({ integrationId: "p", config: PROBE_CONFIG }), [
    { logType: "probe", ok: true, hint: `now=${NOW}` },
  ]);
  equal(sandbox.stopped, undefined);
});

Deno.test("a host that stalls its own event loop does not make a healthy sandbox look unresponsive", async () => {
  await using sandbox = await startSandbox({
    pluginId: "probe",
    source: await fixture("ctx_probe.js"),
    limits: { unresponsiveMs: 500, callTimeoutMs: 1000 },
  });
  const checked = sandbox.check({ integrationId: "p", config: PROBE_CONFIG });
  const until = performance.now() + 2000;
  while (performance.now() < until) {
    // the host busy elsewhere: no timer, no pipe read
  }
  equal((await checked).length, 1);
  equal(sandbox.stopped, undefined);
});

Deno.test("a run's pages are read `ahead` of the caller, and never further", async () => {
  // A plugin of endless pages, one request each: how far it got shows in the requests made.
  const source = new TextEncoder().encode(`
    export const plugin = {
      configSchema: { "~standard": { validate: (value) => ({ value }) } },
      async *fetch(ctx) {
        for (let p = 0; ; p++) {
          const response = await ctx.fetch("https://pages.example/" + p);
          yield { records: [await response.json()], checkpoint: p };
        }
      },
      normalize: (record) => ({ id: "a" + record.p }),
    };`);
  const requests: string[] = [];
  const fetch: typeof globalThis.fetch = (input) => {
    const url = String(input instanceof Request ? input.url : input);
    requests.push(url);
    return Promise.resolve(Response.json({ p: Number(url.split("/").pop()) }));
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
  for (const ahead of [0, 3]) {
    requests.length = 0;
    await using sandbox = await startSandbox({ pluginId: "pages", source, fetch });
    const pages = sandbox.normalizedPages(
      { integrationId: "i", config: {}, checkpoint: null },
      { slim: true, ahead },
    );
    const first = await pages.next();
    deepStrictEqual(first.value?.normalized.results, [{ id: "a0" }]);
    deepStrictEqual(first.value?.page.records, [null], "slim: an alert's record stays behind");
    await settle();
    // The page asked for, `ahead` more sent unasked, and the plugin's next request in flight.
    equal(requests.length, 2 + ahead, `ahead ${ahead}: ${requests.length} requests`);
    for (let p = 1; p <= 5; p++) {
      equal((await pages.next()).value?.page.checkpoint, p, "pages arrive in order");
    }
    await settle();
    equal(requests.length, 7 + ahead, `ahead ${ahead}, 6 pages taken: ${requests.length}`);
    await pages.return(undefined);
  }
});
