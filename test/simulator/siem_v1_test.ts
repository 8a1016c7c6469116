/** The simulator's API 1.0 SIEM route `POST /api/audit/get-siem-logs` (research §2.1, §9 1-6). */
import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import { strFromU8, unzipSync } from "fflate";
import { generateSiemEvents, type SiemStage, toV1Event } from "../../fixtures/simulator/mod.ts";
import {
  API,
  DAY,
  getSiemLogs,
  HOUR,
  MINUTE,
  NOW,
  setup,
  signed,
  unzipText,
  V1_PATH,
} from "./_siem.ts";

function events(stage: SiemStage, count: number, offset = 0) {
  return generateSiemEvents(count, { start: NOW - 6 * HOUR, stage, offset }).events;
}

/**
 * Follows tokens from `token` until the end-of-data answer; returns each file's name and zip
 * members (parsed), and the last token.
 */
async function drain(t: ReturnType<typeof setup>, token?: string) {
  const files: { name: string; members: Record<string, { type: string; data: unknown[] }> }[] = [];
  for (let i = 0; i < 20; i++) {
    const response = await getSiemLogs(t.sim, token ? { token } : {});
    if (response.headers.get("Content-Type") === "application/json") {
      const body = await response.json();
      deepStrictEqual(body, { meta: { isLastToken: true, status: 200 }, data: [], fail: [] });
      equal(response.headers.get("mc-siem-token"), null);
      return { files, names: files.map((f) => f.name), token };
    }
    const disposition = response.headers.get("Content-Disposition") ?? "";
    const members = unzipText(new Uint8Array(await response.arrayBuffer()));
    files.push({
      name: /filename="([^"]+)"/.exec(disposition)![1],
      members: Object.fromEntries(
        Object.entries(members).map(([name, text]) => [name, JSON.parse(text)]),
      ),
    });
    token = response.headers.get("mc-siem-token")!;
  }
  throw new Error("no end of data after 20 files");
}

Deno.test("SIEM 1.0: a request without a valid signature gets 401 with the fail[] shape", async () => {
  const t = setup();
  t.sim.siem.addFile({ stage: "receipt", events: events("receipt", 3), publishedAt: NOW - HOUR });
  const unsigned = await t.sim.fetch(`${API}${V1_PATH}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ data: [{ type: "MTA", fileFormat: "json", compress: true }] }),
  });
  equal(unsigned.status, 401);
  equal((await unsigned.json()).fail[0].errors[0].code, "err_xdk_invalid_signature");
  // Signed for another path: the signature covers the path.
  const headers = signed("/api/ttp/url/get-logs");
  const wrongPath = await t.sim.fetch(`${API}${V1_PATH}`, {
    method: "POST",
    headers,
    body: JSON.stringify({ data: [{ type: "MTA" }] }),
  });
  equal(wrongPath.status, 401);
  await wrongPath.body?.cancel();
  const good = await getSiemLogs(t.sim);
  equal(good.status, 200);
  equal(good.headers.get("Content-Type"), "application/octet-stream");
  await good.body?.cancel();
  equal(t.sim.calls.get(V1_PATH), 3);
  equal(t.sim.logCalls, 0, "logCalls counts TTP calls only");
});

Deno.test("SIEM 1.0: no token starts at the oldest kept file; the zip holds one stage's v1 JSON", async () => {
  const t = setup();
  const oldest = events("receipt", 5);
  t.sim.siem.addFile({
    stage: "receipt",
    events: events("receipt", 4, 5),
    publishedAt: NOW - HOUR,
  });
  t.sim.siem.addFile({ stage: "receipt", events: oldest, publishedAt: NOW - 3 * HOUR + 123 });
  // Published 8 days ago: no longer kept.
  t.sim.siem.addFile({
    stage: "receipt",
    events: events("receipt", 2),
    publishedAt: NOW - 8 * DAY,
  });
  const response = await getSiemLogs(t.sim);
  equal(response.status, 200);
  equal(response.headers.get("Content-Type"), "application/octet-stream");
  equal(
    response.headers.get("Content-Disposition"),
    'attachment; filename="receipt_20250304090000123.zip"',
  );
  match(response.headers.get("mc-siem-token") ?? "", /^[A-Za-z0-9_-]{20,}$/);
  const members = unzipText(new Uint8Array(await response.arrayBuffer()));
  deepStrictEqual(Object.keys(members), ["receipt_20250304090000123.json"]);
  deepStrictEqual(JSON.parse(members["receipt_20250304090000123.json"]), {
    type: "MTA",
    data: oldest.map(toV1Event),
  });
});

Deno.test("SIEM 1.0: the token walks files of every stage in publication order, then says end of data", async () => {
  const t = setup();
  const stages: SiemStage[] = ["receipt", "process", "delivery", "journal", "receipt"];
  stages.forEach((stage, k) =>
    t.sim.siem.addFile({
      stage,
      events: events(stage, 3),
      publishedAt: NOW - (5 - k) * 30 * MINUTE,
    })
  );
  const { files, token } = await drain(t);
  deepStrictEqual(files.map((f) => f.name), [
    "receipt_20250304093000000.zip",
    "process_20250304100000000.zip",
    "delivery_20250304103000000.zip",
    "jrnl_20250304110000000.zip",
    "receipt_20250304113000000.zip",
  ]);
  files.forEach((file, k) => {
    const member = file.name.replace(/\.zip$/, ".json");
    deepStrictEqual(file.members, {
      [member]: { type: "MTA", data: events(stages[k], 3).map(toV1Event) },
    });
  });
  // The same token keeps answering end of data; no token starts over at the oldest.
  deepStrictEqual((await drain(t, token)).names, []);
  const again = await getSiemLogs(t.sim);
  await again.body?.cancel();
  equal(
    again.headers.get("Content-Disposition"),
    'attachment; filename="receipt_20250304093000000.zip"',
  );
});

Deno.test("SIEM 1.0: the end-of-data answer is JSON without a token; a file published later comes with the same token", async () => {
  const t = setup();
  t.sim.siem.addFile({ stage: "receipt", events: events("receipt", 2), publishedAt: NOW - HOUR });
  t.sim.siem.addFile({
    stage: "receipt",
    events: events("receipt", 2, 2),
    publishedAt: NOW + 20 * MINUTE,
  });
  const first = await getSiemLogs(t.sim);
  await first.body?.cancel();
  const token = first.headers.get("mc-siem-token")!;
  const end = await getSiemLogs(t.sim, { token });
  equal(end.status, 200);
  equal(end.headers.get("Content-Type"), "application/json");
  equal(end.headers.get("mc-siem-token"), null);
  deepStrictEqual(await end.json(), {
    meta: { isLastToken: true, status: 200 },
    data: [],
    fail: [],
  });

  t.now = NOW + 30 * MINUTE;
  const late = await getSiemLogs(t.sim, { token });
  equal(
    late.headers.get("Content-Disposition"),
    'attachment; filename="receipt_20250304122000000.zip"',
  );
  const members = unzipText(new Uint8Array(await late.arrayBuffer()));
  deepStrictEqual(
    JSON.parse(Object.values(members)[0]).data,
    events("receipt", 2, 2).map(toV1Event),
  );
  // And the token of that file is at the end again.
  const after = await drain(t, late.headers.get("mc-siem-token")!);
  deepStrictEqual(after.names, []);
});

Deno.test("SIEM 1.0: a token the simulator did not issue, or whose file aged out, is refused in fail[]", async () => {
  const t = setup();
  t.sim.siem.addFile({ stage: "receipt", events: events("receipt", 2), publishedAt: NOW - HOUR });
  t.sim.siem.addFile({
    stage: "receipt",
    events: events("receipt", 2, 2),
    publishedAt: NOW - 10 * MINUTE,
  });
  const first = await getSiemLogs(t.sim);
  await first.body?.cancel();
  const token = first.headers.get("mc-siem-token")!;
  for (const bad of ["not-a-token", token.slice(0, -4), btoa('{"siemlogid":1}')]) {
    const response = await getSiemLogs(t.sim, { token: bad });
    equal(response.status, 200);
    equal(response.headers.get("Content-Type"), "application/json");
    const body = await response.json();
    equal(body.fail[0].errors[0].code, "err_audit_siem_invalid_token", bad);
    equal(body.meta.isLastToken, false);
  }
  // Another simulator's token for a file of the same id and a different time is not this one's.
  const other = setup();
  other.sim.siem.addFile({ stage: "receipt", events: [], publishedAt: NOW - 2 * HOUR });
  const foreign = await getSiemLogs(other.sim);
  await foreign.body?.cancel();
  const refused = await getSiemLogs(t.sim, { token: foreign.headers.get("mc-siem-token")! });
  equal((await refused.json()).fail[0].errors[0].code, "err_audit_siem_invalid_token");

  t.now = NOW - HOUR + 7 * DAY;
  const aged = await getSiemLogs(t.sim, { token });
  equal((await aged.json()).fail[0].errors[0].code, "err_audit_siem_invalid_token");
  const restart = await getSiemLogs(t.sim);
  equal(
    restart.headers.get("Content-Disposition"),
    'attachment; filename="receipt_20250304115000000.zip"',
    "without a token the oldest file still kept comes first",
  );
  await restart.body?.cancel();
});

Deno.test("SIEM 1.0: compress:false answers the raw JSON file; fileFormat is read in any case", async () => {
  const t = setup();
  const batch = events("receipt", 4);
  t.sim.siem.addFile({ stage: "receipt", events: batch, publishedAt: NOW - HOUR });
  const raw = await getSiemLogs(t.sim, { compress: false, fileFormat: "JSON" });
  equal(raw.headers.get("Content-Type"), "application/octet-stream");
  equal(
    raw.headers.get("Content-Disposition"),
    'attachment; filename="receipt_20250304110000000.json"',
  );
  deepStrictEqual(JSON.parse(await raw.text()), { type: "MTA", data: batch.map(toV1Event) });

  const zipped = await getSiemLogs(t.sim, { compress: true });
  const bytes = new Uint8Array(await zipped.arrayBuffer());
  deepStrictEqual([...bytes.slice(0, 4)], [0x50, 0x4b, 0x03, 0x04], "a zip's local header");
  deepStrictEqual(JSON.parse(unzipText(bytes)["receipt_20250304110000000.json"]).data.length, 4);

  // Any other format: Mimecast's key=value lines, one event per line.
  const keyValue = await getSiemLogs(t.sim, { compress: false, fileFormat: "key_value" });
  const lines = (await keyValue.text()).trim().split("\n");
  equal(lines.length, 4);
  match(lines[0], /^datetime=2025-03-04T06:00:00\+0000\|aCode=[^|]+\|acc=C12A34\|/);
});

Deno.test("SIEM 1.0: a corrupt file's zip opens but its member does not inflate", async () => {
  const t = setup();
  t.sim.siem.addFile({
    stage: "receipt",
    events: events("receipt", 50),
    publishedAt: NOW - HOUR,
    corrupt: true,
  });
  const response = await getSiemLogs(t.sim);
  equal(response.status, 200);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const listed: string[] = [];
  throws(() =>
    unzipSync(bytes, {
      filter: (file) => {
        listed.push(file.name);
        return true;
      },
    })
  );
  deepStrictEqual(listed, ["receipt_20250304110000000.json"]);
  ok(response.headers.get("mc-siem-token"), "a broken file still moves the token on");
  const raw = await getSiemLogs(t.sim, { compress: false });
  const rawText = strFromU8(new Uint8Array(await raw.arrayBuffer()));
  ok(rawText.startsWith('{"type":"MTA","data":['));
  throws(() => JSON.parse(rawText));
});

Deno.test("SIEM 1.0: without the permission, 403 with the fail[] shape", async () => {
  const t = setup({ siemPermission: false });
  t.sim.siem.addFile({ stage: "receipt", events: events("receipt", 1), publishedAt: NOW - HOUR });
  const response = await getSiemLogs(t.sim);
  equal(response.status, 403);
  const body = await response.json();
  equal(body.meta.status, 403);
  equal(body.fail[0].errors[0].code, "err_xdk_forbidden");
});

Deno.test("SIEM 1.0: faults: 429 with the throttling body, fail[] on a 200, and the file after them", async () => {
  const t = setup();
  t.sim.siem.addFile({ stage: "receipt", events: events("receipt", 1), publishedAt: NOW - HOUR });
  t.sim.inject({ kind: "429", path: V1_PATH, resetMs: 5000 });
  t.sim.inject({ kind: "fail", path: V1_PATH });
  const throttled = await getSiemLogs(t.sim);
  equal(throttled.status, 429);
  equal(throttled.headers.get("X-RateLimit-Reset"), "5000");
  deepStrictEqual(await throttled.json(), { detail: "Over throttling limit (10000/hour)" });
  const failed = await getSiemLogs(t.sim);
  equal(failed.status, 200);
  equal(failed.headers.get("Content-Type"), "application/json");
  equal((await failed.json()).fail.length, 1);
  const file = await getSiemLogs(t.sim);
  equal(file.headers.get("Content-Type"), "application/octet-stream");
  await file.body?.cancel();
  // The request bodies are recorded like the TTP ones.
  deepStrictEqual(t.sim.bodies.at(-1), {
    path: V1_PATH,
    body: { data: [{ type: "MTA", fileFormat: "json", compress: true }] },
  });
});
