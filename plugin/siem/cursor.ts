/**
 * The `rejections` cursor (SPEC §3.8): a pointer into Mimecast's SIEM files, not a time. API 1.0:
 * the token that fetched the file being read (none: the oldest file) and how many of its records
 * are stored. API 2.0: the `nextPage` that listed the page being read (none: the first page from
 * the start date), the index of the link in it, and how many of that file's records are stored.
 * A crash resumes inside the file; the host's alert-id store absorbs any overlap.
 * @module
 */
import * as v from "valibot";

const count = v.pipe(v.number(), v.integer(), v.minValue(0));

/** The stored shape of the rejections cursor. */
export const siemCursorSchema = v.variant("api", [
  v.object({
    api: v.literal("1.0"),
    token: v.optional(v.string()),
    done: count,
  }),
  v.object({
    api: v.literal("2.0"),
    /** The first listing's start date (YYYY-MM-DD), kept until a nextPage replaces it. */
    from: v.string(),
    nextPage: v.optional(v.string()),
    link: count,
    done: count,
  }),
]);

/** Where the rejections stream stands. */
export type SiemCursor = v.InferOutput<typeof siemCursorSchema>;
