import { deepStrictEqual, equal, match, rejects } from "node:assert/strict";
import type { HostError } from "../../host/errors.ts";
import { parseManifest } from "../../host/manifest.ts";
import { entryFetch } from "../../host/net.ts";
import { DEFAULT_LIMITS, readEntry, readManifestFile } from "../../host/plugin_source.ts";
import { builtPlugin } from "./_host.ts";

const MANIFEST = parseManifest(
  JSON.parse(await Deno.readTextFile(new URL("../../manifest.json", import.meta.url))),
);
const ENTRY = new URL("https://plugins.example/mimecast/plugin.js");
const LIMITS = { ...DEFAULT_LIMITS, entryBytes: 1000, entryTimeoutMs: 200 };

/** A fake network answering every request with `respond()`. */
const answering = (respond: (init?: RequestInit) => Response | Promise<Response>) =>
  entryFetch(false, (_input, init) => Promise.resolve(respond(init)));

Deno.test("the built bundle and manifest are far inside the limits", async () => {
  const dir = await builtPlugin();
  const bundle = (await Deno.stat(`${dir}/plugin.js`)).size;
  const manifest = (await Deno.stat(`${dir}/manifest.json`)).size;
  equal(bundle < DEFAULT_LIMITS.entryBytes / 50, true, `bundle is ${bundle} bytes`);
  equal(manifest < DEFAULT_LIMITS.manifestBytes / 50, true, `manifest is ${manifest} bytes`);
});

Deno.test("readManifestFile() refuses a manifest over 1 MiB from its size, before reading it", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    // 60 MB, sparse: reading it whole is what ended the host; the refusal must not read it.
    await Deno.truncate(path, 60_000_000);
    const started = performance.now();
    await rejects(readManifestFile(path), (e: HostError) => {
      equal(e.code, "MANIFEST_INVALID");
      equal(
        e.message,
        `Cannot install ${path}: the manifest is 57.2 MiB; a manifest may be 1 MiB at most`,
      );
      deepStrictEqual(e.issues, [{ path: "", message: "larger than 1 MiB" }]);
      return true;
    });
    equal(performance.now() - started < 200, true, "refused without reading 60 MB");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readEntry() refuses an https entry over the size limit, announced or not", async () => {
  const big = new Uint8Array(5000);
  await rejects(
    readEntry(MANIFEST, ENTRY, {
      fetch: answering(() => new Response(big, { headers: { "content-length": "5000" } })),
      limits: LIMITS,
    }),
    (e: HostError) =>
      e.code === "PLUGIN_LOAD_FAILED" &&
      e.message ===
        `[plugin mimecast] Cannot read entry ${ENTRY}: it is 4.9 KiB; an entry may be 1000 bytes at most`,
  );
  // No length given: the body is read up to the limit, then the stream is cancelled.
  let cancelled = false;
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(400));
    },
    cancel() {
      cancelled = true;
    },
  });
  await rejects(
    readEntry(MANIFEST, ENTRY, { fetch: answering(() => new Response(endless)), limits: LIMITS }),
    (e: HostError) => /larger than 1000 bytes/.test(e.message),
  );
  equal(cancelled, true);
  equal(pulled < 10, true, `stopped after ${pulled} chunks`);
});

Deno.test("readEntry() gives up on an https entry after the time limit, with a timeout message", async () => {
  const silent = entryFetch(false, (_input, init) =>
    new Promise((_resolve, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
    }));
  const started = performance.now();
  await rejects(
    readEntry(MANIFEST, ENTRY, { fetch: silent, limits: LIMITS }),
    (e: HostError) =>
      e.code === "PLUGIN_LOAD_FAILED" &&
      e.message === `[plugin mimecast] Cannot read entry ${ENTRY}: no complete answer within 0.2 s`,
  );
  const took = performance.now() - started;
  equal(took >= 190 && took < 1000, true, `took ${took} ms`);
});

Deno.test("readEntry() follows no redirect, and refuses an entry host the rules refuse", async () => {
  await rejects(
    readEntry(MANIFEST, ENTRY, {
      fetch: answering(() =>
        new Response(null, { status: 302, headers: { location: "https://169.254.169.254/" } })
      ),
      limits: LIMITS,
    }),
    (e: HostError) => /it answered 302 \(redirects are not followed\)$/.test(e.message),
  );
  const reached: string[] = [];
  const net = entryFetch(false, (input) => {
    reached.push(String(input));
    return Promise.resolve(new Response("x"));
  }, { resolver: () => Promise.resolve(["169.254.169.254"]) });
  await rejects(
    readEntry(MANIFEST, new URL("https://plugins.example/p.js"), { fetch: net, limits: LIMITS }),
    (e: HostError) => {
      equal(e.code, "NET_DENIED");
      match(e.message, /it resolves to the cloud metadata address 169\.254\.169\.254/);
      return true;
    },
  );
  deepStrictEqual(reached, []);
});
