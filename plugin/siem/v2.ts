/**
 * The MTA stream over API 2.0 (SPEC §3.8, research/mimecast-siem.md §1.2, §2.2): `GET
 * /siem/v1/batch/events/cg?type=receipt` lists pages of presigned links to gzip files of one JSON
 * event per line, following `@nextPage` until `isCaughtUp`. The links are downloaded with a plain
 * GET and without Mimecast's credentials; one that expired (403 or 404, or past its `expiry`)
 * makes the page be listed again.
 * @module
 */
import type { Clock, Logger } from "../../host/types.ts";
import type { MimecastClient } from "../client.ts";
import { MimecastError } from "../errors.ts";
import { failureText } from "../http.ts";
import type { SiemCursor } from "./cursor.ts";
import { ndjsonEvents } from "./decode.ts";
import { filePages, type SiemPage } from "./files.ts";

const PATH = "/siem/v1/batch/events/cg";

/** Links per listing page (research §1.2: peers use 100). */
const LINKS_PER_PAGE = 100;

/** How often one run lists a page again because its links expired, before it gives up. */
const RELISTS = 3;

/** Download attempts for a network failure, the first included. */
const DOWNLOAD_ATTEMPTS = 3;

interface Listing {
  links: { url: string; expiry: number }[];
  nextPage?: string;
  caughtUp: boolean;
}

async function list(client: MimecastClient, query: URLSearchParams): Promise<Listing> {
  const response = await client.open(PATH, { method: "GET", query: query.toString() });
  const body = await client.json(PATH, response);
  if (!Array.isArray(body.value)) {
    throw new MimecastError(
      "BAD_RESPONSE",
      `Cannot read Mimecast's answer from ${PATH}: value is not a list of links`,
      { retryable: true },
    );
  }
  const links = body.value
    .filter((v: unknown) => typeof (v as { url?: unknown })?.url === "string")
    .map((v: { url: string; expiry?: unknown }) => ({
      url: v.url,
      expiry: typeof v.expiry === "string" ? Date.parse(v.expiry) : NaN,
    }));
  const nextPage = typeof body["@nextPage"] === "string" && body["@nextPage"] !== ""
    ? body["@nextPage"]
    : undefined;
  return { links, nextPage, caughtUp: body.isCaughtUp === true };
}

/** Downloads one presigned link: the answer, or "expired" when the link no longer works. */
async function download(
  url: string,
  deps: { fetch: typeof fetch; signal: AbortSignal; clock: Clock },
): Promise<Response | "expired"> {
  const host = new URL(url).host;
  for (let attempt = 1;; attempt++) {
    let response: Response;
    try {
      // No Mimecast credentials: the link carries its own signature (research §1.2).
      response = await deps.fetch(url, { method: "GET", signal: deps.signal });
    } catch (cause) {
      deps.signal.throwIfAborted();
      if (attempt >= DOWNLOAD_ATTEMPTS) {
        throw new MimecastError(
          "UNAVAILABLE",
          `Cannot download a SIEM file from ${host}: ${failureText(cause)}`,
          { retryable: true, cause },
        );
      }
      await deps.clock.sleep(1000 * 2 ** (attempt - 1), deps.signal);
      continue;
    }
    if (response.ok && response.body) return response;
    await response.body?.cancel();
    if (response.status === 403 || response.status === 404) return "expired";
    if (response.status >= 500 && attempt < DOWNLOAD_ATTEMPTS) {
      await deps.clock.sleep(1000 * 2 ** (attempt - 1), deps.signal);
      continue;
    }
    throw new MimecastError(
      "UNAVAILABLE",
      `Cannot download a SIEM file from ${host}: it answered ${response.status}`,
      { status: response.status, retryable: response.status >= 500 },
    );
  }
}

/** The files from the cursor on, as pages of receipt events; stops once Mimecast is caught up. */
export async function* readV2(
  client: MimecastClient,
  cursor: Extract<SiemCursor, { api: "2.0" }>,
  options: { fetch: typeof fetch; signal: AbortSignal; logger: Logger; clock: Clock },
): AsyncGenerator<SiemPage> {
  const { from } = cursor;
  let { nextPage, link, done } = cursor;
  let relists = 0;
  for (;;) {
    const query = new URLSearchParams({ type: "receipt", pageSize: String(LINKS_PER_PAGE) });
    // The date range opens the stream; after that the page token alone carries the position.
    if (nextPage) query.set("nextPage", nextPage);
    else query.set("dateRangeStartsAt", from);
    const listing = await list(client, query);
    let expired = false;
    for (let i = link; i < listing.links.length; i++) {
      const { url, expiry } = listing.links[i];
      const answer = expiry <= options.clock.now() ? "expired" : await download(url, options);
      if (answer === "expired") {
        if (++relists > RELISTS) {
          throw new MimecastError(
            "UNAVAILABLE",
            `Cannot download SIEM files: their links expired ${RELISTS} times in a row; the next run lists them again`,
            { retryable: true },
          );
        }
        options.logger.info("A SIEM file link expired; listing the page again", { link: i });
        link = i;
        expired = true;
        break;
      }
      const at = nextPage;
      const name = new URL(url).pathname.split("/").pop() ?? "file";
      yield* filePages(answer.body!, {
        name,
        time: NaN,
        skip: i === link ? done : 0,
        decode: ndjsonEvents,
        at: (n) => ({ api: "2.0", from, nextPage: at, link: i, done: n }),
        after: { api: "2.0", from, nextPage: at, link: i + 1, done: 0 },
        signal: options.signal,
      });
      done = 0;
    }
    if (expired) continue;
    if (listing.links.length === 0 && !listing.nextPage) return;
    // The page is read: the position moves to Mimecast's next page (kept even when caught up,
    // so the next run lists only what came since).
    nextPage = listing.nextPage ?? nextPage;
    link = 0;
    done = 0;
    yield { events: [], cursor: { api: "2.0", from, nextPage, link: 0, done: 0 } };
    if (listing.caughtUp || listing.links.length === 0) return;
  }
}
