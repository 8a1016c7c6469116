import { equal } from "node:assert/strict";
import {
  formatIsoSecond,
  formatMcDate,
  formatMimecastDate,
  parseMimecastDate,
} from "../../plugin/dates.ts";

const T = Date.UTC(2015, 10, 16, 14, 49, 18);

Deno.test("formatMimecastDate() sends +0000 to the second", () => {
  equal(formatMimecastDate(T + 999), "2015-11-16T14:49:18+0000");
  equal(formatIsoSecond(T + 1), "2015-11-16T14:49:18Z");
  equal(formatMcDate(Date.UTC(2015, 10, 24, 12, 50, 11)), "Tue, 24 Nov 2015 12:50:11 UTC");
});

Deno.test("parseMimecastDate() accepts every form seen and rejects the rest", async (t) => {
  const good: [string, number][] = [
    ["2015-11-16T14:49:18+0000", T],
    ["2015-11-16T14:49:18Z", T],
    ["2015-11-16T14:49:18.250Z", T + 250],
    ["2015-11-16T15:49:18+01:00", T],
    ["2015-11-16T09:19:18-0530", T],
  ];
  for (const [text, ms] of good) await t.step(text, () => equal(parseMimecastDate(text), ms));
  for (
    const text of ["yesterday", "2015-11-16", "2015-02-30T10:00:00Z", "2015-11-16T24:00:00Z", ""]
  ) {
    await t.step(
      `rejects ${JSON.stringify(text)}`,
      () => equal(Number.isNaN(parseMimecastDate(text)), true),
    );
  }
});

Deno.test("formatIsoSecond() agrees with toISOString to the second across the calendar", () => {
  for (let ms = Date.UTC(1999, 11, 31, 23, 59, 59); ms < Date.UTC(2030, 0, 1); ms += 86_399_917) {
    equal(
      formatIsoSecond(ms),
      new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z"),
    );
  }
});
