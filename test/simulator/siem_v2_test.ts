/**
 * The simulator's API 2.0 SIEM batch route and presigned downloads (research §1.2, §2.2, §9
 * items 7-9).
 */
import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import { gunzipSync, strFromU8 } from "fflate";
import {
  generateSiemEvents,
  serveSimulator,
  type SiemStage,
} from "../../fixtures/simulator/mod.ts";
import { API, bearer, DAY, day, FILES, HOUR, listBatches, MINUTE, NOW, setup } from "./_siem.ts";

function events(stage: SiemStage, count: number, offset = 0) {
  return generateSiemEvents(count, { start: NOW - 6 * HOUR, stage, offset }).events;
}

interface Listing {
  value: { url: string; expiry: string; size: number }[];
  "@nextPage": string;
  isCaughtUp: boolean;
}

function ndjson(bytes: Uint8Array): unknown[] {
  return strFromU8(gunzipSync(bytes)).trimEnd().split("\n").map((line) => JSON.parse(line));
}

Deno.test("SIEM 2.0: pages of links to one type's files, @nextPage on every page, isCaughtUp on the last", async () => {
  const t = setup();
  for (let k = 0; k < 5; k++) {
    t.sim.siem.addFile({
      stage: "receipt",
      events: events("receipt", 3, 3 * k),
      publishedAt: NOW - (5 - k) * 30 * MINUTE,
    });
    t.sim.siem.addFile({
      stage: "delivery",
      events: events("delivery", 2, 2 * k),
      publishedAt: NOW - (5 - k) * 30 * MINUTE + 1,
    });
  }
  const token = await bearer(t.sim);
  const base = { type: "receipt", dateRangeStartsAt: day(NOW - DAY), pageSize: "2" };
  const pages: Listing[] = [];
  let nextPage: string | undefined;
  for (let i = 0; i < 5; i++) {
    const response = await listBatches(t.sim, token, nextPage ? { ...base, nextPage } : base);
    equal(response.status, 200);
    const page: Listing = await response.json();
    pages.push(page);
    equal(typeof page["@nextPage"], "string", "every page has @nextPage");
    nextPage = page["@nextPage"];
    if (page.isCaughtUp) break;
  }
  deepStrictEqual(pages.map((p) => p.value.length), [2, 2, 1]);
  deepStrictEqual(pages.map((p) => p.isCaughtUp), [false, false, true]);
  const links = pages.flatMap((p) => p.value);
  for (const link of links) {
    ok(link.url.startsWith(`${FILES}/siem-files/`), link.url);
    match(link.url, /\.json\.gz\?.*X-Amz-Expires=900&.*X-Amz-Signature=[0-9a-f]{64}/);
    equal(link.expiry, "2025-03-04T12:15:00.000Z");
  }
  // Only receipt files, oldest first: each link's contents are the k-th receipt file's events.
  for (const [k, link] of links.entries()) {
    const download = await t.sim.fetch(link.url);
    equal(download.status, 200);
    const bytes = new Uint8Array(await download.arrayBuffer());
    equal(link.size, bytes.length, "size is the gzip's size");
    deepStrictEqual(ndjson(bytes), events("receipt", 3, 3 * k));
  }

  // Resuming with the last @nextPage: nothing new yet, caught up, a cursor still given.
  const resumed: Listing = await (await listBatches(t.sim, token, { ...base, nextPage: nextPage! }))
    .json();
  deepStrictEqual(resumed.value, []);
  equal(resumed.isCaughtUp, true);
  equal(resumed["@nextPage"], nextPage);
  // A file published later shows up for that cursor, alone.
  t.sim.siem.addFile({
    stage: "receipt",
    events: events("receipt", 1, 99),
    publishedAt: NOW + 10 * MINUTE,
  });
  const early: Listing = await (await listBatches(t.sim, token, { ...base, nextPage: nextPage! }))
    .json();
  deepStrictEqual(early.value, [], "not before it is published");
  t.now = NOW + 11 * MINUTE;
  const later: Listing = await (await listBatches(t.sim, token, { ...base, nextPage: nextPage! }))
    .json();
  equal(later.value.length, 1);
  equal(later.isCaughtUp, true);
  deepStrictEqual(
    ndjson(new Uint8Array(await (await t.sim.fetch(later.value[0].url)).arrayBuffer())),
    events("receipt", 1, 99),
  );
  equal(t.sim.calls.get("/siem/v1/batch/events/cg"), 6);
  equal(t.sim.calls.get("/siem-files"), 6);
  equal(t.sim.logCalls, 0);
});

Deno.test("SIEM 2.0: an empty first listing still hands out a cursor that later yields new files", async () => {
  const t = setup();
  const token = await bearer(t.sim);
  const query = { type: "receipt", dateRangeStartsAt: day(NOW) };
  const empty: Listing = await (await listBatches(t.sim, token, query)).json();
  deepStrictEqual(empty.value, []);
  equal(empty.isCaughtUp, true);
  t.sim.siem.addFile({ stage: "receipt", events: events("receipt", 2), publishedAt: NOW + MINUTE });
  t.sim.siem.addFile({ stage: "process", events: events("process", 2), publishedAt: NOW + MINUTE });
  t.now = NOW + 2 * MINUTE;
  const next: Listing = await (await listBatches(t.sim, token, {
    ...query,
    nextPage: empty["@nextPage"],
  })).json();
  equal(next.value.length, 1);
  // The default page size is 100 links.
  for (let k = 0; k < 120; k++) {
    t.sim.siem.addFile({ stage: "receipt", events: [], publishedAt: NOW + MINUTE + k });
  }
  const full: Listing = await (await listBatches(t.sim, token, query)).json();
  equal(full.value.length, 100);
  equal(full.isCaughtUp, false);
});

Deno.test("SIEM 2.0: type, dates, page size and nextPage are validated with 400 {error}", async () => {
  const t = setup();
  const token = await bearer(t.sim);
  const bad: Record<string, string>[] = [
    { type: "mta", dateRangeStartsAt: day(NOW) },
    { dateRangeStartsAt: day(NOW) },
    { type: "receipt,bogus" },
    { type: "receipt", dateRangeStartsAt: day(NOW - 8 * DAY) },
    { type: "receipt", dateRangeStartsAt: "2025-3-1" },
    { type: "receipt", dateRangeStartsAt: "2025-02-30" },
    { type: "receipt", dateRangeStartsAt: "2025-03-04T00:00:00.000Z" },
    { type: "receipt", dateRangeStartsAt: day(NOW), dateRangeEndsAt: day(NOW - DAY) },
    { type: "receipt", pageSize: "0" },
    { type: "receipt", pageSize: "ten" },
    { type: "receipt", nextPage: "%%%" },
  ];
  for (const params of bad) {
    const response = await listBatches(t.sim, token, params);
    equal(response.status, 400, JSON.stringify(params));
    const body = await response.json();
    equal(body.error.code, "Request Validation Failed");
    equal(typeof body.error.message, "string");
  }
  const good: Record<string, string>[] = [
    { type: "receipt", dateRangeStartsAt: day(NOW - 7 * DAY) },
    { type: "url protect", dateRangeStartsAt: day(NOW), dateRangeEndsAt: day(NOW) },
    { type: "receipt,process,delivery,journal" },
    { type: "av" },
  ];
  for (const params of good) {
    const response = await listBatches(t.sim, token, params);
    equal(response.status, 200, JSON.stringify(params));
    await response.body?.cancel();
  }
});

Deno.test("SIEM 2.0: the listing needs a live bearer token and the SIEM permission", async () => {
  const t = setup();
  const query = { type: "receipt" };
  const missing = await listBatches(t.sim, undefined, query);
  equal(missing.status, 401);
  await missing.body?.cancel();
  const token = await bearer(t.sim);
  t.sim.expireTokens();
  const expired = await listBatches(t.sim, token, query);
  equal(expired.status, 401);
  equal((await expired.json()).fail[0].code, "token_expired");

  const denied = setup({ siemPermission: false });
  const response = await listBatches(denied.sim, await bearer(denied.sim), query);
  equal(response.status, 403);
  deepStrictEqual(await response.json(), {
    fail: [{ code: "app_forbidden", message: "Forbidden to perform the requested operation" }],
  });
});

async function oneLink(t: ReturnType<typeof setup>, corrupt = false) {
  t.sim.siem.addFile({
    stage: "receipt",
    events: events("receipt", 40),
    publishedAt: NOW - HOUR,
    corrupt,
  });
  const listing: Listing =
    await (await listBatches(t.sim, await bearer(t.sim), { type: "receipt" }))
      .json();
  return listing.value[0].url;
}

Deno.test("SIEM 2.0: a download is gzip NDJSON, octet-stream, with no Content-Encoding", async () => {
  const t = setup();
  const url = await oneLink(t);
  const response = await t.sim.fetch(url);
  equal(response.status, 200);
  equal(response.headers.get("Content-Type"), "application/octet-stream");
  equal(response.headers.get("Content-Encoding"), null);
  const bytes = new Uint8Array(await response.arrayBuffer());
  deepStrictEqual([...bytes.slice(0, 2)], [0x1f, 0x8b]);
  const text = strFromU8(gunzipSync(bytes));
  equal(text.split("\n").length, 41, "one line per event, newline-terminated");
  deepStrictEqual(ndjson(bytes), events("receipt", 40));
});

Deno.test("SIEM 2.0: an expired or tampered link gets S3's 403; a link carrying Authorization gets 400", async () => {
  const t = setup();
  const url = await oneLink(t);
  const withAuth = await t.sim.fetch(url, { headers: { Authorization: "Bearer sim.1.x" } });
  equal(withAuth.status, 400);
  const authXml = await withAuth.text();
  match(authXml, /<Code>InvalidArgument<\/Code>/);
  match(authXml, /Only one auth mechanism allowed/);

  const tampered = url.replace(/X-Amz-Expires=900/, "X-Amz-Expires=90000");
  const forged = await t.sim.fetch(tampered);
  equal(forged.status, 403);
  match(await forged.text(), /<Code>SignatureDoesNotMatch<\/Code>/);

  t.now = NOW + 14 * MINUTE + 59_000;
  const stillValid = await t.sim.fetch(url);
  equal(stillValid.status, 200);
  await stillValid.body?.cancel();
  t.now = NOW + 15 * MINUTE;
  const expired = await t.sim.fetch(url);
  equal(expired.status, 403);
  equal(expired.headers.get("Content-Type"), "application/xml");
  match(
    await expired.text(),
    /<Error><Code>AccessDenied<\/Code><Message>Request has expired<\/Message>/,
  );
  // Listing again gives a fresh link.
  const relisted: Listing =
    await (await listBatches(t.sim, await bearer(t.sim), { type: "receipt" }))
      .json();
  equal(relisted.value[0].expiry, "2025-03-04T12:30:00.000Z");
  equal((await t.sim.fetch(relisted.value[0].url)).status, 200);
});

Deno.test("SIEM 2.0: the link works only on the files origin", async () => {
  const t = setup();
  const url = new URL(await oneLink(t));
  const onApi = await t.sim.fetch(`${API}${url.pathname}${url.search}`);
  ok(onApi.status >= 400, `the API origin does not serve files (got ${onApi.status})`);
  await onApi.body?.cancel();
  const unknown = await t.sim.fetch(`${FILES}/siem-files/999.json.gz${url.search}`);
  equal(unknown.status, 403, "a signature is for one file");
  await unknown.body?.cancel();
});

Deno.test("SIEM 2.0: a corrupt file's gzip fails to inflate", async () => {
  const t = setup();
  const url = await oneLink(t, true);
  const response = await t.sim.fetch(url);
  equal(response.status, 200);
  const bytes = new Uint8Array(await response.arrayBuffer());
  deepStrictEqual([...bytes.slice(0, 2)], [0x1f, 0x8b], "still looks like a gzip");
  throws(() => gunzipSync(bytes));
  // The platform's own decompressor refuses it too.
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  let failed = false;
  try {
    await new Response(stream).arrayBuffer();
  } catch {
    failed = true;
  }
  ok(failed);
});

Deno.test("SIEM faults: a /siem-files fault hits downloads (S3-style), faults without a path do not", async () => {
  const t = setup();
  const url = await oneLink(t);
  t.sim.inject({ kind: "5xx", path: "/siem-files", status: 503 });
  t.sim.inject({ kind: "429" });
  const broken = await t.sim.fetch(url);
  equal(broken.status, 503);
  match(await broken.text(), /<Code>ServiceUnavailable<\/Code>/);
  const fine = await t.sim.fetch(url);
  equal(fine.status, 200, "the path-less 429 waits for an API call");
  await fine.body?.cancel();
  const listing = await listBatches(t.sim, await bearer(t.sim), { type: "receipt" });
  equal(listing.status, 429);
  deepStrictEqual(await listing.json(), { detail: "Over throttling limit (10000/hour)" });
  equal(t.sim.faults.pending, 0);
});

Deno.test("serveSimulator() serves downloads on a second listener that the links point at", async () => {
  const t = setup();
  const abort = new AbortController();
  const served = serveSimulator(t.sim, { signal: abort.signal });
  try {
    equal(t.sim.filesOrigin, served.filesUrl);
    ok(served.filesUrl !== served.url);
    t.sim.siem.addFile({ stage: "receipt", events: events("receipt", 5), publishedAt: NOW - HOUR });
    const tokenResponse = await fetch(`${served.url}/oauth/token`, {
      method: "POST",
      body: new URLSearchParams({
        client_id: "sim-client-id",
        client_secret: "sim-client-secret-value",
        grant_type: "client_credentials",
      }),
    });
    const { access_token } = await tokenResponse.json();
    const listing: Listing = await (await fetch(
      `${served.url}/siem/v1/batch/events/cg?type=receipt&dateRangeStartsAt=${day(NOW)}`,
      { headers: { Authorization: `Bearer ${access_token}` } },
    )).json();
    ok(listing.value[0].url.startsWith(`${served.filesUrl}/siem-files/`));
    const download = await fetch(listing.value[0].url);
    equal(download.status, 200);
    deepStrictEqual(ndjson(new Uint8Array(await download.arrayBuffer())), events("receipt", 5));
  } finally {
    abort.abort();
    await served.finished;
  }
});
