/**
 * New integrations start paused until a connection check passes or the operator enables them
 * (SPEC §5.8): nothing is scheduled before anyone tested it, the first passing check turns the
 * schedule on (once), and a schedule an operator turned off stays off.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { generateRecords } from "../../fixtures/simulator/mod.ts";
import { ADMIN, awaitRun, integrationBody, NOW, testHost } from "./_host.ts";

type T = Awaited<ReturnType<typeof testHost>>;

async function create(t: T, extra: Record<string, unknown> = {}, name = "Mimecast") {
  const response = await t.request("/api/integrations", {
    method: "POST",
    json: { ...integrationBody(), name, ...extra },
  });
  equal(response.status, 201);
  return await response.json();
}

const read = async (t: T, id: string) => await (await t.request(`/api/integrations/${id}`)).json();
const check = async (t: T, id: string) =>
  await (await t.request(`/api/integrations/${id}/check`, { method: "POST" })).json();

/** Ticks the scheduler over an hour of fake time; returns the integrations it started. */
async function hourOfTicks(t: T): Promise<string[]> {
  const started: string[] = [];
  for (let i = 0; i < 12; i++) {
    started.push(...await t.host.scheduler.tick());
    t.clock.advance(5 * 60_000);
  }
  return started;
}

Deno.test("a new integration is paused and never scheduled until a check passes; then its schedule is on", async () => {
  const t = await testHost();
  try {
    t.sim.add("url", generateRecords("url", 10, { start: NOW - 3_600_000 }));
    const created = await create(t);
    equal(created.status, "paused");
    match(created.statusReason, /waiting for a passing connection check/);
    deepStrictEqual(created.schedule, {
      intervalSeconds: 300,
      enabled: false,
      awaitingCheck: true,
    });
    equal(created.nextRunAt, null);
    deepStrictEqual(await hourOfTicks(t), [], "a paused integration was scheduled");
    equal((await t.host.store.listRuns(created.id)).length, 0);

    // Run now works while paused, and does not end the wait.
    const { runId } = await (await t.request(`/api/integrations/${created.id}/runs`, {
      method: "POST",
    })).json();
    equal((await awaitRun(t, created.id, runId)).status, "succeeded");
    equal((await read(t, created.id)).status, "paused");

    // A check that passes for every log type turns the schedule on.
    const passed = await check(t, created.id);
    equal(passed.ok, true);
    equal(passed.results.length, 3);
    equal(passed.scheduleEnabled, true);
    const after = await read(t, created.id);
    deepStrictEqual(after.schedule, { intervalSeconds: 300, enabled: true, awaitingCheck: false });
    equal(after.status === "paused", false);
    deepStrictEqual((await hourOfTicks(t)).slice(0, 1), [created.id]);
    await t.host.runner.settled(created.id);

    // Once: a failing check later does not pause it again.
    await t.request(`/api/integrations/${created.id}`, {
      method: "PATCH",
      json: { config: { clientSecret: "a-wrong-client-secret" } },
    });
    const failed = await check(t, created.id);
    equal(failed.ok, false);
    equal(failed.scheduleEnabled, undefined);
    equal((await read(t, created.id)).schedule.enabled, true);
  } finally {
    await t.close();
  }
});

Deno.test("a failing check leaves a new integration waiting; the next passing one starts it", async () => {
  const t = await testHost();
  try {
    const created = await create(t, {
      config: { ...integrationBody().config, clientSecret: "a-wrong-client-secret" },
    });
    const failed = await check(t, created.id);
    equal(failed.ok, false);
    deepStrictEqual((await read(t, created.id)).schedule.awaitingCheck, true);
    equal((await read(t, created.id)).status, "paused");
    await t.request(`/api/integrations/${created.id}`, {
      method: "PATCH",
      json: { config: { clientSecret: "sim-client-secret-value" } },
    });
    equal((await check(t, created.id)).scheduleEnabled, true);
    equal((await read(t, created.id)).schedule.enabled, true);
  } finally {
    await t.close();
  }
});

Deno.test("schedule.enabled: true at creation schedules at once; false, or turned off, is never overridden by a check", async () => {
  const t = await testHost();
  try {
    const on = await create(t, { schedule: { enabled: true } }, "On");
    equal(on.status, "never-run");
    deepStrictEqual(on.schedule, { intervalSeconds: 300, enabled: true, awaitingCheck: false });
    const off = await create(t, { schedule: { enabled: false } }, "Off");
    equal(off.schedule.awaitingCheck, false);
    const turnedOff = await create(t, {}, "Turned off");
    await t.request(`/api/integrations/${turnedOff.id}`, {
      method: "PATCH",
      json: { schedule: { enabled: false } },
    });
    equal((await read(t, turnedOff.id)).schedule.awaitingCheck, false);
    match((await read(t, turnedOff.id)).statusReason, /schedule is off/);

    for (const id of [off.id, turnedOff.id]) {
      const passed = await check(t, id);
      equal(passed.ok, true);
      equal(passed.scheduleEnabled, undefined);
      equal((await read(t, id)).schedule.enabled, false);
    }
    deepStrictEqual((await hourOfTicks(t)).slice(0, 1), [on.id]);
    await t.host.runner.settled(on.id);
    deepStrictEqual(
      await Promise.all(
        [off.id, turnedOff.id].map(async (id) => (await t.host.store.listRuns(id)).length),
      ),
      [0, 0],
    );
  } finally {
    await t.close();
  }
});

Deno.test("the console: a created integration says it is paused until Test connection passes, and the check starts it", async () => {
  const t = await testHost();
  try {
    const login = await t.host.app.request("/login", {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    const get = async (path: string) =>
      await (await t.host.app.request(path, { headers: { cookie } })).text();
    const form = await get("/plugins/mimecast/new");
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form)?.[1] ?? "";
    // The box is unticked on a new integration.
    match(
      form,
      /<input type="checkbox" name="schedule\.enabled" value="true"> Start the schedule now/,
    );
    const body = integrationBody();
    const created = await t.host.app.request("/plugins/mimecast/new", {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({
        _csrf: csrf,
        name: "From the form",
        "destination.url": body.destination.url,
        "destination.secret": body.destination.secret,
        "config.apiVersion": "2.0",
        "config.baseUrl@2.0": body.config.baseUrl,
        "config.clientId@2.0": "sim-client-id",
        "config.clientSecret@2.0": "sim-client-secret-value",
        "config.logTypes": "url",
      }),
    });
    equal(created.status, 303);
    const location = created.headers.get("location") ?? "";
    const id = location.split("/").pop()!;
    const page = await get(location);
    match(page, /paused until Test connection passes/);
    ok(page.includes(`action="/integrations/${id}/check"`));
    ok(page.includes(`action="/integrations/${id}/schedule/enable"`));
    equal((await t.host.store.getIntegration(id))?.awaitingCheck, true);

    // Editing it with the box still unticked keeps it waiting (not off for good).
    const edit = await get(`/integrations/${id}/edit`);
    match(edit, /left unticked, it starts after the first passing Test connection/);
    const saved = await t.host.app.request(`/integrations/${id}/edit`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({
        _csrf: csrf,
        name: "From the form, renamed",
        "destination.url": body.destination.url,
        "config.apiVersion": "2.0",
        "config.baseUrl@2.0": body.config.baseUrl,
        "config.clientId@2.0": "sim-client-id",
        "config.logTypes": "url",
      }),
    });
    equal(saved.status, 303);
    equal((await t.host.store.getIntegration(id))?.name, "From the form, renamed");
    equal((await t.host.store.getIntegration(id))?.awaitingCheck, true);

    const checked = await (await t.host.app.request(`/integrations/${id}/check`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ _csrf: csrf }),
    })).text();
    match(checked, /id="schedule-enabled"/);
    equal(checked.includes('id="awaiting-check"'), false);
    equal((await t.host.store.getIntegration(id))?.enabled, true);

    // Start the schedule now, without a check: the operator enables it.
    const other = await create(t, {}, "Started by hand");
    const started = await t.host.app.request(`/integrations/${other.id}/schedule/enable`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    equal(started.status, 303);
    const row = await t.host.store.getIntegration(other.id);
    deepStrictEqual([row?.enabled, row?.awaitingCheck], [true, false]);
  } finally {
    await t.close();
  }
});
