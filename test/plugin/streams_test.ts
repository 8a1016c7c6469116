/**
 * Log types fetched concurrently (plugin/streams.ts): pages in arrival order, each checkpoint
 * claiming only pages handed out, a failing log type holding up no other, and breaking off ending
 * every stream.
 */
import { deepStrictEqual, equal, rejects } from "node:assert/strict";
import type { Page } from "../../host/types.ts";
import type { Checkpoint, Cursor } from "../../plugin/cursor.ts";
import type { MimecastRecord } from "../../plugin/records.ts";
import { interleave } from "../../plugin/streams.ts";

type P = Page<MimecastRecord, Checkpoint>;

const cursor = (n: number): Cursor => ({ time: `2025-03-04T00:00:0${n}Z`, keys: [], settled: "" });

/** A log type's stream: page i after `delays[i]` ms; its own cursor moves with each page. */
async function* stream(
  logType: "url" | "attachment" | "impersonation",
  shared: Checkpoint,
  delays: number[],
  log: string[],
  failAt?: number,
): AsyncGenerator<P> {
  try {
    for (let i = 0; i < delays.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, delays[i]));
      if (i === failAt) throw new Error(`${logType} refused`);
      shared.cursors[logType] = cursor(i + 1);
      yield {
        records: [{ logType, data: { i } }],
        checkpoint: structuredClone(shared),
      };
    }
  } finally {
    log.push(`${logType} ended`);
  }
}

Deno.test("pages come as they arrive; each checkpoint claims only the pages handed out", async () => {
  const shared: Checkpoint = { version: 2, cursors: {} };
  const log: string[] = [];
  const pages = await Array.fromAsync(interleave(structuredClone(shared), [
    ["url", stream("url", shared, [30, 30, 30], log)],
    ["attachment", stream("attachment", shared, [5, 5], log)],
  ]));
  // The fast stream finishes first; the slow one's pages follow.
  deepStrictEqual(
    pages.map((p) => `${p.records[0].logType}${(p.records[0].data as { i: number }).i}`),
    ["attachment0", "attachment1", "url0", "url1", "url2"],
  );
  // attachment's pages never claim url pages not yet handed out, though url's stream had moved.
  deepStrictEqual(pages[1].checkpoint.cursors, { attachment: cursor(2) });
  deepStrictEqual(pages[3].checkpoint.cursors, { attachment: cursor(2), url: cursor(2) });
  deepStrictEqual(pages[4].checkpoint.cursors, { attachment: cursor(2), url: cursor(3) });
});

Deno.test("a failing log type stops alone; the others finish; then the run fails with its error", async () => {
  const shared: Checkpoint = { version: 2, cursors: {} };
  const log: string[] = [];
  const seen: P[] = [];
  await rejects(
    (async () => {
      for await (
        const page of interleave(structuredClone(shared), [
          ["url", stream("url", shared, [5, 5, 5], log)],
          ["attachment", stream("attachment", shared, [1, 1], log, 1)],
          ["impersonation", stream("impersonation", shared, [8, 8], log)],
        ])
      ) seen.push(page);
    })(),
    /attachment refused/,
  );
  equal(seen.filter((p) => p.records[0].logType === "url").length, 3);
  equal(seen.filter((p) => p.records[0].logType === "impersonation").length, 2);
  equal(seen.filter((p) => p.records[0].logType === "attachment").length, 1);
  // The last page's checkpoint keeps attachment at its one page handed out.
  deepStrictEqual(seen.at(-1)!.checkpoint.cursors.attachment, cursor(1));
});

Deno.test("breaking off ends every stream", async () => {
  const shared: Checkpoint = { version: 2, cursors: {} };
  const log: string[] = [];
  for await (
    const _ of interleave(structuredClone(shared), [
      ["url", stream("url", shared, [1, 1, 1, 1], log)],
      ["impersonation", stream("impersonation", shared, [50, 50], log)],
    ])
  ) break;
  deepStrictEqual(log.sort(), ["impersonation ended", "url ended"]);
});
