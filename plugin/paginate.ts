/**
 * One pagination over one window (SPEC §3.2): the same `data[0]` filters on every page, the page
 * token Mimecast handed out, until `next` is absent or a page is empty (both empty shapes). A
 * pagination that repeats a token it already followed, or serves far more records than it said
 * it holds, fails instead of running forever.
 * @module
 */
import type { MimecastClient } from "./client.ts";
import type { TtpLogType } from "./config.ts";
import { formatMimecastDate } from "./dates.ts";
import { MimecastError } from "./errors.ts";

/** Records per page: Mimecast documents 1 to 100. */
export const PAGE_SIZE = 100;

/** The body of one page request; `data[0]` is the same object for every page of a window. */
export function pageRequest(filters: Record<string, unknown>, pageToken?: string) {
  const pagination: Record<string, unknown> = { pageSize: PAGE_SIZE };
  if (pageToken) pagination.pageToken = pageToken;
  return { meta: { pagination }, data: [filters] };
}

/** Filters that ask for everything: the API's own defaults may narrow results. */
const EVERYTHING: Record<TtpLogType, Record<string, unknown>> = {
  url: { scanResult: "all", route: "all" },
  attachment: { result: "all", route: "all" },
  impersonation: {},
};

/** A window's frozen filters: the same object for every page of its pagination. */
export function windowFilters(
  logType: TtpLogType,
  from: number,
  to: number,
): Record<string, unknown> {
  return Object.freeze({
    from: formatMimecastDate(from),
    to: formatMimecastDate(to),
    oldestFirst: true,
    ...EVERYTHING[logType],
  });
}

/** One page of a pagination: its log objects, whether it was the last, and the announced total. */
export interface PaginatedPage {
  logs: Record<string, unknown>[];
  done: boolean;
  /** `meta.pagination.totalCount` when Mimecast sent a number (not always sent, nor exact). */
  total?: number;
}

/**
 * Walks one window's pages; the caller may stop early by breaking out, or abort `signal` to stop
 * a call in flight.
 */
export async function* paginate(
  client: MimecastClient,
  path: string,
  array: string,
  filters: Record<string, unknown>,
  signal?: AbortSignal,
): AsyncGenerator<PaginatedPage> {
  const followed = new Set<string>();
  let received = 0;
  let pageToken: string | undefined;
  for (;;) {
    const envelope = await client.post(path, pageRequest(filters, pageToken), { signal });
    const logs = logsOf(envelope.data, array, path);
    received += logs.length;
    const next = envelope.meta?.pagination?.next;
    const done = typeof next !== "string" || next === "" || logs.length === 0;
    const total = envelope.meta?.pagination?.totalCount;
    if (!done) {
      if (followed.has(next)) {
        throw new MimecastError(
          "BAD_RESPONSE",
          `Cannot page through ${path}: Mimecast handed out a page token it had already given (after ${followed.size} pages); stopping so the run does not loop forever`,
        );
      }
      followed.add(next);
      // totalCount is not always sent, nor always exact: only a pagination that serves more
      // than twice what it announced (and a page more) is taken as broken.
      if (typeof total === "number" && received > 2 * total + PAGE_SIZE) {
        throw new MimecastError(
          "BAD_RESPONSE",
          `Cannot page through ${path}: Mimecast served ${received} records for a window it said holds ${total}; stopping so the run does not loop forever`,
        );
      }
    }
    yield typeof total === "number" ? { logs, done, total } : { logs, done };
    if (done) return;
    pageToken = next;
  }
}

function logsOf(
  data: Record<string, unknown>[] | undefined,
  array: string,
  path: string,
): Record<string, unknown>[] {
  if (!data || data.length === 0) return [];
  const logs = data[0]?.[array];
  if (logs === undefined) return [];
  if (!Array.isArray(logs)) {
    throw new MimecastError(
      "BAD_RESPONSE",
      `Cannot read ${path}: data[0].${array} is not an array`,
      { retryable: true },
    );
  }
  return logs.map((item) =>
    typeof item === "object" && item !== null && !Array.isArray(item)
      ? item as Record<string, unknown>
      : { value: item }
  );
}
