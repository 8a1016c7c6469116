/**
 * The MTA stream over API 1.0 (SPEC §3.8, research/mimecast-siem.md §1.1, §2.1): `POST
 * /api/audit/get-siem-logs` hands out one file per call, with the token of the next one in the
 * `mc-siem-token` header; an `application/json` answer means no more files, unless its `fail[]`
 * holds an error. Only receipt files are read; the others are passed by their name unread.
 * @module
 */
import type { Clock, Logger } from "../../host/types.ts";
import type { MimecastClient } from "../client.ts";
import { MimecastError } from "../errors.ts";
import type { SiemCursor } from "./cursor.ts";
import { jsonFileEvents } from "./decode.ts";
import { filePages, fileTime, type SiemPage } from "./files.ts";

const PATH = "/api/audit/get-siem-logs";

/** Non-receipt files passed in a row before their position is stored anyway. */
const SKIPS_PER_PAGE = 50;

/** The file name of a `Content-Disposition: attachment; filename="receipt_….zip"` header. */
function fileNameOf(header: string | null): string {
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header ?? "");
  return m ? decodeURIComponent(m[1]) : "unnamed file";
}

/** The files from the cursor on, as pages of receipt events; stops at the end of the stream. */
export async function* readV1(
  client: MimecastClient,
  cursor: Extract<SiemCursor, { api: "1.0" }>,
  options: { start: number; signal: AbortSignal; logger: Logger; clock: Clock },
): AsyncGenerator<SiemPage> {
  let token = cursor.token;
  let skip = cursor.done;
  let passed = 0;
  for (;;) {
    const item: Record<string, unknown> = { type: "MTA", fileFormat: "json", compress: true };
    if (token) item.token = token;
    // A JSON-only Accept may be refused for a binary answer (research §1.1): ask for anything.
    const response = await client.open(PATH, {
      method: "POST",
      body: { data: [item] },
      accept: "*/*",
    });
    if ((response.headers.get("content-type") ?? "").includes("json")) {
      await client.json(PATH, response); // throws what a non-empty fail[] says
      // The end of the stream ({"meta":{"isLastToken":true}}): the next run asks from here.
      if (passed > 0) yield { events: [], cursor: { api: "1.0", token, done: 0 } };
      return;
    }
    const name = fileNameOf(response.headers.get("content-disposition"));
    const next = response.headers.get("mc-siem-token");
    if (!next || !response.body) {
      await response.body?.cancel();
      throw new MimecastError(
        "BAD_RESPONSE",
        `Cannot read Mimecast's answer from ${PATH}: file ${name} came without an mc-siem-token header, so the stream cannot go on`,
        { retryable: true },
      );
    }
    const time = fileTime(name);
    const receipt = /^receipt[_.]/i.test(name);
    if (!receipt || time < options.start) {
      // Process, delivery and journal files carry no receipt rejection (SPEC §3.8).
      await response.body.cancel();
      options.logger.debug("Passed a SIEM file unread", { file: name, receipt });
      token = next;
      skip = 0;
      if (++passed >= SKIPS_PER_PAGE) {
        passed = 0;
        yield { events: [], cursor: { api: "1.0", token, done: 0 } };
      }
      continue;
    }
    passed = 0;
    const fetchedBy = token;
    yield* filePages(response.body, {
      name,
      time,
      skip,
      decode: jsonFileEvents,
      at: (done) => ({ api: "1.0", token: fetchedBy, done }),
      after: { api: "1.0", token: next, done: 0 },
      signal: options.signal,
    });
    token = next;
    skip = 0;
  }
}
