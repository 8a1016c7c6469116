/**
 * The SQLite store's search column (the search itself is in the contract suite,
 * test/host/store/contract_test.ts, run against both stores).
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { SqliteStore } from "../../../host/store/sqlite/mod.ts";
import { alert, integration, page } from "./_fixtures.ts";

async function store(): Promise<SqliteStore> {
  const s = new SqliteStore(":memory:");
  await s.insertIntegration(integration("i1"));
  await s.insertRun({ id: "r1", integrationId: "i1", trigger: "manual", startedAt: "2026-03-01" });
  return s;
}

Deno.test("storePage() keeps no search text for ASCII fields, and the fields' text for others", async () => {
  const s = await store();
  await s.storePage(page([
    alert("ascii", { summary: { sender: "Eve@Bad.example", subject: "Invoice 7" } }),
    alert("accented", { summary: { sender: "ÉVA@example.org", subject: "Rechnung" } }),
  ]));
  const rows = s.db.prepare("SELECT alert_id, search FROM alerts ORDER BY seq").all();
  deepStrictEqual(rows.map((r) => [r.alert_id, r.search]), [
    ["ascii", ""],
    ["accented", "éva@example.org\nrechnung"],
  ]);
  const ids = async (q: string) =>
    (await s.alerts.list({ q }, { limit: 10 })).map((a) => a.id).sort();
  deepStrictEqual(await ids("bad.EXAMPLE"), ["ascii"]);
  deepStrictEqual(await ids("invoice 7"), ["ascii"]);
  deepStrictEqual(await ids("e\ninvoice"), ["ascii"]);
  deepStrictEqual(await ids("éva"), ["accented"]);
  deepStrictEqual(await ids("example"), ["accented", "ascii"]);
});

Deno.test("alerts.list() still searches rows stored with their whole search text", async () => {
  const s = await store();
  await s.storePage(page([alert("old", { summary: { sender: "Eve@Bad.example" } })]));
  // As a row was written before the search column could be empty.
  equal(s.db.prepare("UPDATE alerts SET search = ?").run("eve@bad.example").changes, 1);
  deepStrictEqual((await s.alerts.list({ q: "BAD" }, { limit: 10 })).map((a) => a.id), ["old"]);
  deepStrictEqual((await s.alerts.list({ q: "nothing" }, { limit: 10 })).map((a) => a.id), []);
});
