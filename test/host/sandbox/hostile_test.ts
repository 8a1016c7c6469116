/**
 * Hostile plugins in the sandbox (SPEC §5.2): every forbidden act, at import time and in every
 * hook, is refused; nothing reaches a listener or the disk and no secret of the host comes back;
 * endless loops, hangs, runaway memory, crashes and malformed output fail the load or the call
 * with an error naming the plugin and the hook, while the test process (the host) keeps its event
 * loop running and another integration's sandbox goes on delivering.
 */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import { HostError } from "../../../host/errors.ts";
import {
  type Hook,
  SandboxError,
  type SandboxLimits,
  startSandbox,
} from "../../../host/sandbox/mod.ts";
import { FakeClock, memoryLogger } from "../../_helpers.ts";
import { assertAllRefused, fixture, lagMeter, Listener, type Outcome, QUICK } from "./_fixtures.ts";

/** A key file, an environment variable and a listener a plugin would like to reach. */
async function targets() {
  const dir = await Deno.makeTempDir({ prefix: "sandbox-hostile-" });
  const key = `MASTER-KEY-${crypto.randomUUID()}`;
  const token = `ADMIN-TOKEN-${crypto.randomUUID()}`;
  const envName = "SANDBOX_TEST_ADMIN_TOKEN";
  await Deno.writeTextFile(`${dir}/master.key`, key);
  Deno.env.set(envName, token);
  const listener = new Listener();
  const target = {
    keyPath: `${dir}/master.key`,
    envName,
    port: listener.port,
    writePath: `${dir}/written.txt`,
  };
  return {
    key,
    token,
    listener,
    target,
    async close() {
      Deno.env.delete(envName);
      await listener.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Expects `promise` to fail with a SandboxError of this hook whose message matches. */
async function failsWith(
  promise: Promise<unknown>,
  hook: Hook,
  pattern: RegExp,
): Promise<SandboxError> {
  let caught: unknown;
  await rejects(promise, (error) => (caught = error, true));
  ok(caught instanceof SandboxError, `a SandboxError, not ${caught}`);
  equal(caught.hook, hook);
  match(caught.message, pattern);
  return caught;
}

Deno.test("every forbidden act is refused at import time and in each hook; nothing leaks", async () => {
  const t = await targets();
  const logs = memoryLogger();
  const sandbox = await startSandbox({
    pluginId: "snoop",
    source: await fixture("snoop.js", { __TARGET__: encodeURIComponent(JSON.stringify(t.target)) }),
    logger: logs,
  });
  try {
    const id = "integration-a";
    const validated = await sandbox.validateConfig(t.target, { integrationId: id });
    ok(validated.ok);
    const checked = await sandbox.check({ integrationId: id, config: t.target });
    const pages = await Array.fromAsync(sandbox.fetch({ integrationId: id, config: t.target }));
    const normalized = await sandbox.normalizePage(pages[0].records, {
      integrationId: id,
      config: t.target,
    });
    const outcomes: Outcome[] = [
      ...(validated.output as { attempts: Outcome[] }).attempts,
      ...checked.map((r) => {
        const [where, name] = r.logType.split(": ");
        return { where, name, ok: r.ok, error: r.error };
      }),
      ...pages[0].records as Outcome[],
      ...normalized.results.flatMap((r) =>
        (r as unknown as { raw: { attempts: Outcome[] } }).raw.attempts
      ),
    ];
    assertAllRefused(outcomes, 60);
    // Attempts started and never awaited had time to land.
    await new Promise((resolve) => setTimeout(resolve, 300));
    equal(t.listener.connections, 0, "no connection reached the listener");
    await rejects(Deno.stat(t.target.writePath), Deno.errors.NotFound);
    const seen = JSON.stringify({ validated, checked, pages, normalized, logs: logs.lines });
    ok(!seen.includes(t.key), "the key file's content came back");
    ok(!seen.includes(t.token), "the environment's secret came back");
  } finally {
    await sandbox.close();
    await t.close();
  }
});

Deno.test("control: imported in-process, as the host did before, the same plugin reads the key and reaches the listener", async () => {
  const t = await targets();
  try {
    const source = await fixture("snoop.js", {
      __TARGET__: encodeURIComponent(JSON.stringify({ ...t.target, skipImports: true })),
    });
    const module = await import(`data:text/javascript;base64,${source.toBase64()}`);
    const results: { logType: string; ok: boolean; error?: string }[] = await module.plugin.check({
      config: { ...t.target, skipImports: true },
    });
    const outcome = (name: string) => results.find((r) => r.logType === name);
    equal(outcome("import: read the key file")?.error, t.key);
    equal(outcome("import: read an environment variable")?.error, t.token);
    ok(t.listener.connections > 0, "the listener saw the plugin");
    equal(await Deno.readTextFile(t.target.writePath), "written");
  } finally {
    await t.close();
  }
});

Deno.test("an import that throws, hangs, loops or allocates without end fails the load, naming the plugin and import", async (t) => {
  const patient = { ...QUICK, unresponsiveMs: 30_000, loadTimeoutMs: 30_000 };
  const cases: [string, RegExp, Partial<SandboxLimits>][] = [
    [
      "import_spin.js",
      /^\[plugin bad\] import: stopped responding \(its event loop was blocked for 1 s\)$/,
      QUICK,
    ],
    ["import_hog.js", /^\[plugin bad\] import: ran out of memory \(heap limit 64 MiB\)$/, patient],
    [
      "import_throw.js",
      /^\[plugin bad\] import: cannot start: the moon is in the wrong phase$/,
      QUICK,
    ],
    [
      "no_contract.js",
      /^\[plugin bad\] import: the module's `plugin` export lacks configSchema, normalize\(\)$/,
      QUICK,
    ],
  ];
  for (const [name, pattern, limits] of cases) {
    await t.step(name, async () => {
      const lag = lagMeter();
      const error = await failsWith(
        startSandbox({ pluginId: "bad", source: await fixture(name), limits }),
        "import",
        pattern,
      );
      equal(error.code, "PLUGIN_LOAD_FAILED");
      ok(lag.stop() < 500, "the host's event loop kept running");
    });
  }
});

Deno.test("a plugin's own imports of local files are refused, static or with a literal path", async (t) => {
  // Deno loads a process's startup module graph (its main module's static imports and literal
  // dynamic imports) without asking the permission system: were the plugin part of that graph
  // (loaded from a file by a fixed path instead of a data: URL), these would read files.
  const dir = await Deno.makeTempDir({ prefix: "sandbox-hostile-files-" });
  const secret = `SECRET-${crypto.randomUUID()}`;
  const path = `${dir}/settings.json`;
  await Deno.writeTextFile(path, JSON.stringify({ secret }));
  const url = new URL(`file://${path}`).href;
  const plugin = "export const plugin = { configSchema: {}, fetch() {}, normalize() {} };";
  const cases: [string, string][] = [
    ["static", `import s from ${JSON.stringify(url)} with { type: "json" };\nconsole.log(s);`],
    [
      "dynamic",
      `const s = await import(${
        JSON.stringify(url)
      }, { with: { type: "json" } });\nconsole.log(s);`,
    ],
  ];
  try {
    for (const [name, code] of cases) {
      await t.step(name, async () => {
        const logs = memoryLogger();
        const error = await failsWith(
          startSandbox({
            pluginId: "reader",
            source: new TextEncoder().encode(`${code}\n${plugin}`),
            limits: QUICK,
            logger: logs,
          }),
          "import",
          /Requires read access/,
        );
        equal(error.code, "PLUGIN_LOAD_FAILED");
        ok(!error.message.includes(secret), "the file's content is not in the error");
        ok(!JSON.stringify(logs.lines).includes(secret), "the file's content reached no log");
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a hook that loops or hangs is stopped within its limits, naming the plugin and the hook", async (t) => {
  const cases: [Hook, string, RegExp][] = [
    ["validateConfig", "sync", /validateConfig: stopped responding/],
    ["validateConfig", "async", /validateConfig: did not answer within 1.5 s/],
    ["check", "sync", /check: stopped responding/],
    ["check", "async", /check: did not answer within 1.5 s/],
    ["fetch", "sync", /fetch: stopped responding/],
    ["fetch", "async", /fetch: did not answer within 1.5 s/],
    ["fetch", "while-waiting", /fetch: stopped responding \(its event loop was blocked for 1 s\)/],
    ["normalize", "sync", /normalize: stopped responding/],
  ];
  for (const [where, how, pattern] of cases) {
    await t.step(`${where}, ${how}`, async () => {
      const config = { where, how };
      const never: typeof fetch = (_input, init) =>
        new Promise((_, reject) =>
          init?.signal?.addEventListener("abort", () => reject(init.signal!.reason))
        );
      const sandbox = await startSandbox({
        pluginId: "spin",
        source: await fixture("spin.js"),
        fetch: never,
        limits: QUICK,
      });
      const lag = lagMeter();
      const started = performance.now();
      try {
        const call = where === "validateConfig"
          ? sandbox.validateConfig(config, { integrationId: "i" })
          : where === "check"
          ? sandbox.check({ integrationId: "i", config })
          : where === "normalize"
          ? sandbox.normalizePage([{ n: 1 }], { integrationId: "i", config })
          : Array.fromAsync(sandbox.fetch({ integrationId: "i", config }));
        const error = await failsWith(
          call,
          where,
          new RegExp(`^\\[plugin spin\\] ${pattern.source}`),
        );
        equal(
          error.code,
          where === "check"
            ? "PLUGIN_CHECK_FAILED"
            : where === "validateConfig"
            ? "PLUGIN_LOAD_FAILED"
            : "PLUGIN_FETCH_FAILED",
        );
        ok(performance.now() - started < 4000, "stopped within its limits");
        ok(lag.stop() < 500, "the host's event loop kept running");
        await sandbox.closed;
        await failsWith(
          sandbox.check({ integrationId: "i", config }),
          "check",
          /the sandbox was stopped|stopped responding|did not answer/,
        );
      } finally {
        await sandbox.close();
      }
    });
  }
});

Deno.test("runaway memory is stopped by the heap cap or the process's memory cap", async (t) => {
  const cases: [Hook, string, RegExp][] = [
    ["validateConfig", "heap", /heap limit 64 MiB/],
    ["check", "heap", /heap limit 64 MiB/],
    ["fetch", "buffers", /it used more than 256 MiB/],
    ["normalize", "heap", /heap limit 64 MiB/],
    ["normalize", "buffers", /it used more than 256 MiB/],
  ];
  for (const [where, kind, pattern] of cases) {
    await t.step(`${where}, ${kind}`, async () => {
      const config = { where, kind };
      // Near its cap a heap spends seconds in GC before V8 gives up: no heartbeat limit here.
      const limits = { ...QUICK, unresponsiveMs: 30_000, callTimeoutMs: 30_000 };
      const sandbox = await startSandbox({
        pluginId: "hog",
        source: await fixture("hog.js"),
        limits,
      });
      const lag = lagMeter();
      try {
        const call = where === "validateConfig"
          ? sandbox.validateConfig(config, { integrationId: "i" })
          : where === "check"
          ? sandbox.check({ integrationId: "i", config })
          : where === "normalize"
          ? sandbox.normalizePage([{ n: 1 }], { integrationId: "i", config })
          : Array.fromAsync(sandbox.fetch({ integrationId: "i", config }));
        const error = await failsWith(
          call,
          where,
          new RegExp(`^\\[plugin hog\\] ${where}: ran out of memory \\(${pattern.source}\\)$`),
        );
        equal(error.failure, "memory");
        ok(lag.stop() < 500, "the host's event loop kept running");
        const memory = Deno.memoryUsage().rss / 1024 / 1024;
        ok(memory < 1024, `the host's own memory stayed small (${Math.round(memory)} MiB)`);
      } finally {
        await sandbox.close();
      }
    });
  }
});

Deno.test("malformed output is refused as PLUGIN_OUTPUT_INVALID, or ends the sandbox when it breaks the wire", async (t) => {
  const limits: Partial<SandboxLimits> = { ...QUICK, maxMessageBytes: 1024 * 1024 };
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    [
      "not-an-object",
      {},
      "PLUGIN_OUTPUT_INVALID",
      /fetch: a page must be \{ records: \[\], checkpoint \}$/,
    ],
    [
      "records-not-an-array",
      {},
      "PLUGIN_OUTPUT_INVALID",
      /fetch: a page must be \{ records: \[\], checkpoint \}$/,
    ],
    [
      "no-checkpoint",
      {},
      "PLUGIN_OUTPUT_INVALID",
      /fetch: a page must be \{ records: \[\], checkpoint \}$/,
    ],
    ["not-json", {}, "PLUGIN_OUTPUT_INVALID", /fetch: a page is not plain JSON \(.*BigInt.*\)$/],
    [
      "huge",
      { bytes: 2 * 1024 * 1024 },
      "PLUGIN_OUTPUT_INVALID",
      /fetch: a page is larger than the 1 MiB a message may hold$/,
    ],
    [
      "wire-garbage",
      {},
      "PLUGIN_FETCH_FAILED",
      /fetch: broke the sandbox protocol \(wrote a line that is not JSON\)$/,
    ],
    [
      "wire-giant",
      { megabytes: 3 },
      "PLUGIN_FETCH_FAILED",
      /fetch: sent a message larger than 1 MiB$/,
    ],
  ];
  for (const [mode, extra, code, pattern] of cases) {
    await t.step(mode, async () => {
      const sandbox = await startSandbox({
        pluginId: "malformed",
        source: await fixture("malformed.js"),
        limits,
      });
      try {
        const error = await failsWith(
          Array.fromAsync(sandbox.fetch({ integrationId: "i", config: { mode, ...extra } })),
          "fetch",
          new RegExp(`^\\[plugin malformed\\] ${pattern.source}`),
        );
        equal(error.code, code);
      } finally {
        await sandbox.close();
      }
    });
  }
  await t.step(
    "records that do not normalize are invalid, one by one; check results must be a list",
    async () => {
      const sandbox = await startSandbox({
        pluginId: "malformed",
        source: await fixture("malformed.js"),
        limits,
      });
      try {
        const config = { mode: "fine" };
        const [page] = await Array.fromAsync(sandbox.fetch({ integrationId: "i", config }));
        const { results } = await sandbox.normalizePage(page.records, {
          integrationId: "i",
          config,
        });
        deepStrictEqual(results, [
          {
            invalid: [{
              path: "",
              message: "[plugin malformed] normalize: returned an alert without an id",
            }],
          },
          {
            invalid: [{
              path: "",
              message: "[plugin malformed] normalize: returned an alert without an id",
            }],
          },
          {
            invalid: [{
              path: "",
              message: "[plugin malformed] normalize: a string, not an Error",
            }],
          },
          { id: "ok-1", alertType: "fine" },
        ]);
        for (const mode of ["check-not-a-list", "fine"]) {
          const error = await failsWith(
            sandbox.check({ integrationId: "i", config: { mode } }),
            "check",
            /^\[plugin malformed\] check: must return \[\{ logType, ok, error\?, hint\? \}\]$/,
          );
          equal(error.code, "PLUGIN_OUTPUT_INVALID");
        }
      } finally {
        await sandbox.close();
      }
    },
  );
});

Deno.test("a crash fails the call with its exit code; a throw keeps its message, code and hint; a stray rejection is logged", async () => {
  const logs = memoryLogger();
  const source = await fixture("crash.js");
  const open = () => startSandbox({ pluginId: "crash", source, logger: logs, limits: QUICK });

  let sandbox = await open();
  await failsWith(
    sandbox.check({ integrationId: "i", config: { mode: "exit" } }),
    "check",
    /^\[plugin crash\] check: crashed \(exit code 3\)$/,
  );
  await sandbox.close();

  sandbox = await open();
  try {
    const thrown = await failsWith(
      sandbox.check({ integrationId: "i", config: { mode: "throw" } }),
      "check",
      /^\[plugin crash\] check: Mimecast refused the credentials$/,
    );
    equal(thrown.code, "PLUGIN_CHECK_FAILED");
    equal(thrown.hint, "Enter the client secret again.");
    equal((thrown.cause as { code?: string }).code, "AUTH_FAILED");
    equal(thrown.failure, "threw");
    // The sandbox survives a throw; and a rejection nobody handles is logged, not fatal.
    deepStrictEqual(await sandbox.check({ integrationId: "i", config: { mode: "unhandled" } }), [
      { logType: "crash", ok: true },
    ]);
    ok(logs.lines.some((l) => l.message === "Plugin code left a rejected promise unhandled"));
    const pages = sandbox.fetch({ integrationId: "i", config: {} });
    deepStrictEqual((await pages.next()).value, { records: [], checkpoint: 1 });
    await failsWith(
      pages.next(),
      "fetch",
      /^\[plugin crash\] fetch: exited unexpectedly \(exit code 0\)$/,
    );
  } finally {
    await sandbox.close();
  }
});

Deno.test("one sandbox serves one integration: a call for another is refused before it runs", async () => {
  const sandbox = await startSandbox({ pluginId: "probe", source: await fixture("ctx_probe.js") });
  try {
    await sandbox.validateConfig({ secret: "a's secret" }, { integrationId: "a" });
    await rejects(
      sandbox.check({ integrationId: "b", config: {} }),
      (error) =>
        error instanceof HostError && error.code === "INTERNAL" &&
        /serves integration "a"/.test(error.message),
    );
    await rejects(sandbox.validateConfig({}), /serves integration "a", not "\(unsaved\)"/);
  } finally {
    await sandbox.close();
  }
});

Deno.test("while one plugin spins and another eats memory, a third integration's sandbox delivers every page", async () => {
  const healthy = await startSandbox({ pluginId: "probe", source: await fixture("ctx_probe.js") });
  const spin = await startSandbox({
    pluginId: "spin",
    source: await fixture("spin.js"),
    limits: QUICK,
  });
  const hog = await startSandbox({
    pluginId: "hog",
    source: await fixture("hog.js"),
    // Filling buffers blocks its event loop too: the memory cap must be what stops it.
    limits: { ...QUICK, unresponsiveMs: 30_000, callTimeoutMs: 30_000 },
  });
  const net: typeof fetch = (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname === "/echo") return Promise.resolve(Response.json({ echoed: true }));
    return Promise.resolve(new Response(new Uint8Array(1024 * 1024)));
  };
  const probe = await startSandbox({
    pluginId: "probe",
    source: await fixture("ctx_probe.js"),
    fetch: net,
    clock: new FakeClock(Date.UTC(2025, 2, 4)),
  });
  const lag = lagMeter();
  try {
    const config = {
      deniedUrl: "https://denied.example/",
      bigUrl: "https://files.example/big",
      echoUrl: "https://files.example/echo",
    };
    const runs = await Promise.allSettled([
      spin.normalizePage([{ n: 1 }], { integrationId: "s", config: { where: "normalize" } }),
      hog.check({ integrationId: "h", config: { where: "check", kind: "buffers" } }),
      (async () => {
        const delivered = [];
        for (let round = 0; round < 3; round++) {
          for await (const page of probe.fetch({ integrationId: "p", config })) {
            const { results } = await probe.normalizePage(page.records, {
              integrationId: "p",
              config,
            });
            delivered.push(...results);
          }
        }
        return delivered;
      })(),
    ]);
    equal(runs[0].status, "rejected");
    match(
      String((runs[0] as PromiseRejectedResult).reason),
      /\[plugin spin\] normalize: stopped responding/,
    );
    equal(runs[1].status, "rejected");
    match(
      String((runs[1] as PromiseRejectedResult).reason),
      /\[plugin hog\] check: ran out of memory/,
    );
    equal(runs[2].status, "fulfilled");
    equal((runs[2] as PromiseFulfilledResult<unknown[]>).value.length, 12, "4 pages × 3 runs");
    ok(lag.stop() < 500, "the host's event loop kept running");
    ok(healthy.stopped === undefined, "an idle sandbox of another integration is untouched");
  } finally {
    await Promise.all([healthy.close(), spin.close(), hog.close(), probe.close()]);
  }
});
