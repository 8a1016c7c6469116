/**
 * `GET /api/alerts` (SPEC §5.5, §5.6): the alerts runs stored, across integrations, newest first
 * and cursor-paginated, each filter, the NDJSON and CSV exports, the retention
 * (HOST_ALERT_RETENTION_DAYS) at host start and at run start, and duplicates stored once.
 */
import { deepStrictEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { FakeClock } from "../_helpers.ts";
import { ADMIN, awaitRun, integrationBody, NOW, testHost } from "./_host.ts";
import { csvField } from "../../host/api_alerts.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type TestHost = Awaited<ReturnType<typeof testHost>>;
interface Listed {
  id: string;
  integrationId: string;
  runId: string;
  logType: string;
  alertType: string;
  threatId: string;
  occurredAt: string;
  storedAt: string;
  alert: {
    id: string;
    occurredAt: string;
    email: { from?: string; to?: string; subject?: string };
    url?: string;
    file?: { name?: string; sha256?: string };
  };
}

async function createIntegration(t: TestHost, name: string): Promise<string> {
  const body = { ...integrationBody("2.0"), name };
  const response = await t.request("/api/integrations", { method: "POST", json: body });
  equal(response.status, 201);
  return (await response.json()).id;
}

async function run(t: TestHost, id: string) {
  const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
    .json();
  const done = await awaitRun(t, id, runId);
  equal(done.status, "succeeded", JSON.stringify(done));
  return done;
}

/** The host stopped and started again on its folder and simulator, with another retention. */
async function restarted(t: TestHost, clock: FakeClock, alertRetentionDays: number) {
  await t.close({ keep: true });
  return await testHost({
    clock,
    sim: t.sim,
    dir: t.dir,
    masterKey: t.masterKey,
    alertRetentionDays,
  });
}

/** Every alert matching `query`, walking the pages by their cursor. */
async function listAll(t: TestHost, query = "", limit = 50): Promise<Listed[]> {
  const all: Listed[] = [];
  let before: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const params = new URLSearchParams(query);
    params.set("limit", String(limit));
    if (before !== null) params.set("before", before);
    const response = await t.request(`/api/alerts?${params}`);
    equal(response.status, 200, await response.clone().text());
    const page: { alerts: Listed[]; next: string | null } = await response.json();
    ok(page.alerts.length <= limit);
    all.push(...page.alerts);
    if (page.next === null) return all;
    before = page.next;
  }
  throw new Error("paging never ended");
}

/** True when the alerts are ordered newest first. */
function newestFirst(alerts: Listed[]): boolean {
  return alerts.every((a, i) => i === 0 || alerts[i - 1].occurredAt >= a.occurredAt);
}

/** A minimal RFC 4180 reader: quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  equal(field === "" && row.length === 0, true, "the CSV ends with a line break");
  return rows;
}

/** Two integrations over the same simulator, one run each: 145 alerts each (and `extra`). */
async function twoRuns(t: TestHost, extra = 0) {
  t.sim.add("url", generateRecords("url", 250, { start: NOW - 2 * HOUR, stepMs: 1000 }));
  t.sim.add("attachment", generateRecords("attachment", 40, { start: NOW - 2 * HOUR }));
  const a = await createIntegration(t, "Tenant A");
  const runA = await run(t, a);
  const b = await createIntegration(t, "Tenant B");
  const runB = await run(t, b);
  equal(runA.counts.alerts, 145 + extra);
  equal(runB.counts.alerts, 145 + extra);
  return { a, b, runA, runB };
}

Deno.test("GET /api/alerts lists a run's alerts as delivered, newest first, and pages through all of them exactly once", async () => {
  const t = await testHost();
  try {
    const { a, b, runA } = await twoRuns(t);
    const first = await (await t.request("/api/alerts")).json();
    equal(first.alerts.length, 50);
    ok(typeof first.next === "string");
    ok(newestFirst(first.alerts));

    const all = await listAll(t, "", 7);
    equal(all.length, 290);
    ok(newestFirst(all));
    equal(new Set(all.map((x) => `${x.integrationId}/${x.id}`)).size, 290);
    // Each alert is the one the webhook received, with its integration and run.
    const delivered = new Map(t.receiver.alerts.map((x) => [`${x.integrationId}/${x.id}`, x]));
    equal(delivered.size, 290);
    for (const x of all) deepStrictEqual(x.alert, delivered.get(`${x.integrationId}/${x.id}`));
    const ofA = all.filter((x) => x.integrationId === a);
    equal(ofA.length, 145);
    ok(
      ofA.every((x) =>
        x.runId === runA.id && x.occurredAt === new Date(x.alert.occurredAt).toISOString()
      ),
    );
    equal(all.filter((x) => x.integrationId === b).length, 145);

    equal(
      (await t.request("/api/alerts", { headers: { Authorization: "Bearer no" } })).status,
      401,
    );
  } finally {
    await t.close();
  }
});

Deno.test("GET /api/alerts filters by integration, log type, alert type, threat, time span and free text", async () => {
  const t = await testHost();
  try {
    const { a } = await twoRuns(t);
    const all = await listAll(t, "", 500);
    const count = (query: Record<string, string>) =>
      listAll(t, new URLSearchParams(query).toString()).then((list) => list.length);
    const where = (keep: (x: Listed) => boolean) => all.filter(keep).length;

    equal(await count({ integrationId: a }), 145);
    equal(await count({ integrationId: "no-such-integration" }), 0);
    equal(await count({ logType: "attachment" }), 40);
    equal(await count({ logType: "attachment" }), where((x) => x.logType === "attachment"));
    const urlType = all.find((x) => x.logType === "url")!.alertType;
    const ofType = where((x) => x.alertType === urlType);
    ok(ofType > 0 && ofType < 250);
    equal(await count({ alertType: urlType }), ofType);
    equal(await count({ threatId: "T1598.002" }), where((x) => x.threatId === "T1598.002"));
    ok(where((x) => x.threatId === "T1598.002") > 0);

    const from = new Date(NOW - 2 * HOUR + 60_000).toISOString();
    const to = new Date(NOW - 2 * HOUR + 120_000).toISOString();
    const inSpan = where((x) => x.occurredAt >= from && x.occurredAt < to);
    ok(inSpan > 0 && inSpan < 290);
    equal(await count({ from, to }), inSpan);
    equal(
      await count({ from, to, integrationId: a, logType: "url" }),
      where((x) =>
        x.occurredAt >= from && x.occurredAt < to && x.integrationId === a && x.logType === "url"
      ),
    );

    // Free text: case-insensitive, over sender, recipient, subject, URL, file name and hash.
    const text = (x: Listed) =>
      [
        x.alert.email.from,
        x.alert.email.to,
        x.alert.email.subject,
        x.alert.url,
        x.alert.file?.name,
        x.alert.file?.sha256,
      ].join("\n").toLowerCase();
    const sample = all.find((x) => x.alert.file?.sha256)!;
    const searches = [
      "SUPPLIER.example", // sender
      "Finance1", // recipient
      "remittance 1", // subject
      "SITE5.example/path", // URL
      "document_3", // file name
      sample.alert.file!.sha256!.toUpperCase(), // hash
    ];
    for (const q of searches) {
      const expected = where((x) => text(x).includes(q.toLowerCase()));
      ok(expected > 0, q);
      ok(expected < 290, q);
      equal(await count({ q }), expected, q);
    }
    equal(await count({ q: "nothing-has-this" }), 0);
  } finally {
    await t.close();
  }
});

Deno.test("GET /api/alerts refuses bad query values with 400 and a plain message", async () => {
  const t = await testHost();
  try {
    for (
      const [query, message] of [
        ["limit=0", /limit must be a whole number from 1 to 500/],
        ["limit=501", /limit must be a whole number from 1 to 500/],
        ["limit=ten", /limit must be a whole number from 1 to 500/],
        ["before=not-a-cursor", /before must be the next cursor/],
        ["from=yesterday", /from must be an ISO time/],
        ["to=2025-13-45T00:00:00Z", /to must be an ISO time/],
        ["format=xml", /format must be json, ndjson or csv/],
        ["integration=x", /Unknown query parameter integration/],
      ] as const
    ) {
      const response = await t.request(`/api/alerts?${query}`);
      equal(response.status, 400, query);
      const body = await response.json();
      match(body.error, message, query);
      equal(body.code, "REQUEST_MALFORMED", query);
    }
    equal((await t.request("/api/alerts?limit=500")).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("GET /api/alerts?format=ndjson and ?format=csv export everything matching", async () => {
  const t = await testHost();
  try {
    t.sim.add("attachment", [{
      ...generateRecords("attachment", 1, { start: NOW - HOUR - 999_000, offset: 999 })[0],
      subject: 'Invoice "Q1", final\nplease pay',
    }]);
    const { a } = await twoRuns(t, 1);
    const all = await listAll(t, "", 500);

    const ndjson = await t.request("/api/alerts?format=ndjson");
    equal(ndjson.status, 200);
    equal(ndjson.headers.get("Content-Type"), "application/x-ndjson");
    const lines = (await ndjson.text()).split("\n");
    equal(lines.pop(), "");
    deepStrictEqual(lines.map((line) => JSON.parse(line)), all);

    const filtered = await t.request(`/api/alerts?format=ndjson&integrationId=${a}&logType=url`);
    const urls = (await filtered.text()).trim().split("\n").map((line) => JSON.parse(line));
    deepStrictEqual(urls, all.filter((x) => x.integrationId === a && x.logType === "url"));

    const csv = await t.request("/api/alerts?format=csv");
    equal(csv.status, 200);
    match(csv.headers.get("Content-Type") ?? "", /^text\/csv/);
    match(csv.headers.get("Content-Disposition") ?? "", /attachment; filename="alerts.csv"/);
    const [header, ...rows] = parseCsv(await csv.text());
    deepStrictEqual(header, [
      "id",
      "integrationId",
      "runId",
      "logType",
      "alertType",
      "threatId",
      "occurredAt",
      "storedAt",
      "sender",
      "recipient",
      "subject",
      "url",
      "fileName",
      "hash",
    ]);
    equal(rows.length, all.length);
    ok(rows.every((row) => row.length === header.length));
    const column = (name: string) => header.indexOf(name);
    deepStrictEqual(rows.map((row) => row[column("id")]), all.map((x) => x.id));
    const quoted = rows.filter((row) =>
      row[column("subject")] === 'Invoice "Q1", final\nplease pay'
    );
    equal(quoted.length, 2, "the awkward subject, once per integration");
    rows.forEach((row, i) => {
      equal(row[column("sender")], all[i].alert.email.from ?? "");
      equal(row[column("hash")], all[i].alert.file?.sha256 ?? "");
    });
  } finally {
    await t.close();
  }
});

Deno.test("an export larger than one database read is streamed in pieces, every alert once", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 1100, { start: NOW - 2 * HOUR, stepMs: 1000 }));
    const id = await createIntegration(t, "Many");
    equal((await run(t, id)).counts.alerts, 550);
    const ids = (await listAll(t, "", 500)).map((x) => x.id);
    equal(ids.length, 550);
    for (const format of ["ndjson", "csv"]) {
      const response = await t.request(`/api/alerts?format=${format}`);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      const pieces: string[] = [];
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        pieces.push(read.value);
      }
      ok(pieces.length > 1, `${format} came in ${pieces.length} piece(s)`);
      const lines = pieces.join("").split(format === "csv" ? "\r\n" : "\n").slice(0, -1);
      const exported = format === "csv"
        ? lines.slice(1).map((line) => line.split(",")[0])
        : lines.map((line) => JSON.parse(line).id);
      deepStrictEqual(exported, ids, format);
    }
  } finally {
    await t.close();
  }
});

Deno.test("stored alerts are pruned after HOST_ALERT_RETENTION_DAYS, at host start and at run start", async () => {
  const clock = new FakeClock(NOW);
  let t = await testHost({ clock, alertRetentionDays: 2 });
  try {
    t.sim.add("url", generateRecords("url", 20, { start: NOW - HOUR, stepMs: 1000 }));
    const id = await createIntegration(t, "Retained");
    const first = await run(t, id);
    equal(first.counts.alerts, 10);
    // A day later, a second run stores alerts of its own.
    clock.ms = NOW + DAY;
    const later = clock.ms - HOUR - 1000 * 1000; // record i is at start + i seconds
    t.sim.add("url", generateRecords("url", 20, { start: later, offset: 1000 }));
    const second = await run(t, id);
    equal(second.counts.alerts, 10);
    equal((await listAll(t)).length, 20);

    // Restarted 2.5 days after the first run: its alerts are gone, the second run's are kept.
    clock.ms = NOW + 2.5 * DAY;
    t = await restarted(t, clock, 2);
    const kept = await listAll(t);
    equal(kept.length, 10);
    ok(kept.every((x) => x.runId === second.id));

    // A run 3.5 days after the second one's alerts were stored prunes them before it starts.
    clock.ms = NOW + 3.5 * DAY;
    await waitForPlugin(t);
    await run(t, id);
    deepStrictEqual(await listAll(t), []);
  } finally {
    await t.close();
  }
});

Deno.test("HOST_ALERT_RETENTION_DAYS=0 keeps no alert: every one delivered once, those kept before deleted at start", async () => {
  const clock = new FakeClock(NOW);
  let t = await testHost({ clock });
  try {
    t.sim.add("url", generateRecords("url", 20, { start: NOW - HOUR, stepMs: 1000 }));
    const id = await createIntegration(t, "Not kept");
    equal((await run(t, id)).counts.alerts, 10);
    equal((await listAll(t)).length, 10);

    // Restarted with 0: what was kept is deleted at start.
    t = await restarted(t, clock, 0);
    deepStrictEqual(await listAll(t), []);
    // The Alerts page says so.
    const login = await t.host.app.request("http://127.0.0.1/login", {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    const page = await t.host.app.request("http://127.0.0.1/alerts", { headers: { cookie } });
    equal(page.status, 200);
    match(await page.text(), /id="alerts-not-kept"/);

    // New alerts are delivered and not kept.
    clock.ms = NOW + 10 * 60_000;
    t.sim.add("url", generateRecords("url", 20, { start: NOW, stepMs: 1000, offset: 20 }));
    await waitForPlugin(t);
    const second = await run(t, id);
    equal(second.counts.alerts, 10);
    equal(second.counts.delivered, 10);
    equal(t.receiver.alerts.length, 10);
    deepStrictEqual(await listAll(t), []);

    // Their ids are still remembered: read again past the late-arrival window (30 min), they
    // are duplicates, delivered no second time.
    clock.ms = NOW + 55 * 60_000;
    const third = await run(t, id);
    ok(third.counts.duplicates > 0, JSON.stringify(third.counts));
    const ids = t.receiver.alerts.map((a) => String(a.id));
    equal(new Set(ids).size, ids.length, "an alert delivered twice");
    deepStrictEqual(await listAll(t), []);
  } finally {
    await t.close();
  }
});

Deno.test("alerts a later run reads again are counted as duplicates and stored once", async () => {
  const clock = new FakeClock(NOW);
  const t = await testHost({ clock });
  try {
    t.sim.add("url", generateRecords("url", 60, { start: NOW - 20 * 60_000, stepMs: 10_000 }));
    const id = await createIntegration(t, "Twice");
    const first = await run(t, id);
    // Once older than the late-arrival window (30 min), what the first run read live is read
    // once more: the second run brings the first run's alerts back.
    clock.ms = NOW + 45 * 60_000;
    const second = await run(t, id);
    ok(second.counts.duplicates > 0, JSON.stringify(second.counts));
    const all = await listAll(t);
    equal(all.length, first.counts.alerts + second.counts.alerts);
    equal(new Set(all.map((x) => x.id)).size, all.length);
    notEqual(first.counts.alerts, 0);
  } finally {
    await t.close();
  }
});

/** Waits until the reopened host has installed the plugin again. */
async function waitForPlugin(t: TestHost): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await (await t.request("/api/plugins")).json()).length === 0) {
    ok(Date.now() < deadline, "the plugin is installed again");
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("a CSV field a spreadsheet would run as a formula opens as text", () => {
  equal(
    csvField('=HYPERLINK("http://evil.example","click")'),
    '"\'=HYPERLINK(""http://evil.example"",""click"")"',
  );
  equal(csvField("+1 555"), "'+1 555");
  equal(csvField("-2+3"), "'-2+3");
  equal(csvField("@SUM(A1)"), "'@SUM(A1)");
  equal(csvField("\tcmd"), "'\tcmd");
  equal(csvField("Invoice 4471"), "Invoice 4471");
  equal(csvField("a,b"), '"a,b"');
  equal(csvField(null), "");
});
