/**
 * Run history (SPEC §5.5, §5.8): `GET /api/integrations/:id/runs` newest first, one page at a time
 * from an opaque cursor, each run with its duration; the integration page pages through it with
 * plain "Older runs" links.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { ADMIN, awaitRun, integrationBody, testHost } from "./_host.ts";

type T = Awaited<ReturnType<typeof testHost>>;

/**
 * Stores `n` finished runs, each taking 12.3 s on the fake clock, two of them starting at the
 * same moment (the cursor must tell them apart), and one still running, newest.
 */
async function history(t: T, n: number): Promise<{ id: string; runIds: string[] }> {
  const created = await t.request("/api/integrations", {
    method: "POST",
    json: { ...integrationBody(), schedule: { enabled: false } },
  });
  const { id } = await created.json();
  const runIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const runId = `run-${String(i).padStart(3, "0")}`;
    if (i !== 7) t.clock.advance(60_000); // run 7 starts with run 6
    const startedAt = new Date(t.clock.now()).toISOString();
    await t.host.store.insertRun({ id: runId, integrationId: id, trigger: "schedule", startedAt });
    t.clock.advance(12_300);
    await t.host.store.finishRun(runId, { status: "succeeded" });
    t.clock.advance(-12_300);
    runIds.push(runId);
  }
  t.clock.advance(60_000);
  await t.host.store.insertRun({
    id: "running",
    integrationId: id,
    trigger: "manual",
    startedAt: new Date(t.clock.now()).toISOString(),
  });
  return { id, runIds: ["running", ...runIds.reverse()] };
}

Deno.test("GET /api/integrations/:id/runs pages newest first with a cursor, without overlap, each run with its duration", async () => {
  const t = await testHost({ install: true });
  try {
    const { id, runIds } = await history(t, 26);
    const seen: string[] = [];
    let before: string | null = null;
    const sizes: number[] = [];
    do {
      const query: string = `limit=10${before ? `&before=${encodeURIComponent(before)}` : ""}`;
      const response = await t.request(`/api/integrations/${id}/runs?${query}`);
      equal(response.status, 200);
      const page: {
        runs: { id: string; durationMs: number | null; status: string }[];
        next: string | null;
      } = await response.json();
      sizes.push(page.runs.length);
      seen.push(...page.runs.map((r) => r.id));
      for (const run of page.runs) {
        equal(run.durationMs, run.status === "running" ? null : 12_300, run.id);
      }
      before = page.next;
    } while (before && sizes.length < 10);
    deepStrictEqual(sizes, [10, 10, 7]);
    // Every run once, newest first: the pages neither overlap nor skip (the tie included).
    deepStrictEqual(seen, runIds);

    // The default page is 20.
    const first = await (await t.request(`/api/integrations/${id}/runs`)).json();
    equal(first.runs.length, 20);
    ok(first.next);
  } finally {
    await t.close();
  }
});

Deno.test("every run records the host that ran it (HOST_ID), in GET /api/runs/:id and the runs list", async () => {
  const t = await testHost({ install: true, hostId: "host-a:8080" });
  try {
    const created = await t.request("/api/integrations", {
      method: "POST",
      json: { ...integrationBody(), schedule: { enabled: false } },
    });
    const { id } = await created.json();
    const { runId } = await (await t.request(`/api/integrations/${id}/runs`, { method: "POST" }))
      .json();
    const run = await awaitRun(t, id, runId);
    equal(run.hostId, "host-a:8080");
    const list = await (await t.request(`/api/integrations/${id}/runs`)).json();
    deepStrictEqual(list.runs.map((r: { hostId: string }) => r.hostId), ["host-a:8080"]);
  } finally {
    await t.close();
  }
});

Deno.test("a limit or before that is not one is a 400 with its code and the parameter named", async () => {
  const t = await testHost();
  try {
    const { id } = await history(t, 3);
    for (
      const query of [
        "limit=0",
        "limit=101",
        "limit=ten",
        "before=not-a-cursor",
        `before=${btoa("2025-03-04T12:00:00.000Z")}`,
        `before=${btoa("yesterday~12")}`,
      ]
    ) {
      const response = await t.request(`/api/integrations/${id}/runs?${query}`);
      equal(response.status, 400, query);
      const body = await response.json();
      equal(body.code, "REQUEST_MALFORMED", query);
      equal(body.issues[0].path, query.split("=")[0], query);
    }
  } finally {
    await t.close();
  }
});

Deno.test("the integration page shows durations and pages the run history with plain links", async () => {
  const t = await testHost();
  try {
    const { id, runIds } = await history(t, 26);
    const login = await t.host.app.request("/login", {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    const get = async (path: string) => {
      const response = await t.host.app.request(path, { headers: { cookie } });
      equal(response.status, 200, path);
      return await response.text();
    };
    const listed = (page: string) =>
      [...page.matchAll(/<tr data-run-id="([^"]+)">/g)].map((m) => m[1]);
    const newest = await get(`/integrations/${id}`);
    match(newest, /<td class="duration">12\.3 s<\/td>/);
    deepStrictEqual(listed(newest), runIds.slice(0, 20));
    const href = /<a id="older-runs" href="([^"]+)"/.exec(newest)?.[1];
    ok(href, "no Older runs link");
    match(href, new RegExp(`^/integrations/${id}\\?runsBefore=[^&]+#run-history$`));
    equal(newest.includes("Newest runs"), false);

    const older = await get(href.replace(/&amp;/g, "&").replace(/#.*/, ""));
    deepStrictEqual(listed(older), runIds.slice(20));
    equal(older.includes('id="older-runs"'), false);
    match(older, new RegExp(`<a href="/integrations/${id}#run-history">Newest runs</a>`));
    // A mangled cursor shows the newest runs instead of an error.
    deepStrictEqual(
      listed(await get(`/integrations/${id}?runsBefore=nonsense`)),
      runIds.slice(0, 20),
    );
  } finally {
    await t.close();
  }
});
