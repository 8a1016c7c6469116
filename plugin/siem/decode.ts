/**
 * Streaming decoders for SIEM files (SPEC §3.8): a zip of `{"type":"MTA","data":[…]}` JSON
 * (API 1.0), and gzip of one JSON event per line (API 2.0). Both are read chunk by chunk and hand
 * out events as they are parsed, so memory stays bounded whatever the file's size (fflate for the
 * zip and gzip containers, @streamparser/json for the JSON). A damaged file throws
 * `CorruptFileError` after the events read before the damage.
 * @module
 */
import { Gunzip, Unzip, UnzipInflate } from "fflate";
import { JSONParser } from "@streamparser/json";

/** A file that cannot be decoded (broken zip or gzip, malformed JSON document). */
export class CorruptFileError extends Error {
  override name = "CorruptFileError";
}

/**
 * A body's chunks; a read that waits longer than `idleMs` fails (a stalled download), and the
 * body is cancelled when the caller stops early.
 */
export async function* chunksOf(
  body: ReadableStream<Uint8Array>,
  options: { idleMs: number; signal: AbortSignal; what: string },
): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      options.signal.throwIfAborted();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${options.what}: no data for ${options.idleMs} ms`)),
          options.idleMs,
        );
      });
      try {
        const { done, value } = await Promise.race([reader.read(), stalled]);
        if (done) return;
        yield value;
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** The events of an API 1.0 SIEM file: a zip of JSON documents, or one JSON document. */
export async function* jsonFileEvents(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<Record<string, unknown>> {
  const out: Record<string, unknown>[] = [];
  const documents: JSONParser[] = [];
  const parserFor = () => {
    const parser = new JSONParser({ paths: ["$.data.*"], keepStack: false });
    parser.onValue = ({ value }) => {
      out.push(
        typeof value === "object" && value !== null && !Array.isArray(value)
          ? value as Record<string, unknown>
          : { value },
      );
    };
    documents.push(parser);
    return parser;
  };
  let failure: unknown;
  let push: ((chunk: Uint8Array, final: boolean) => void) | undefined;
  const zip = () => {
    const unzip = new Unzip((file) => {
      if (!/\.json$/i.test(file.name)) return; // not a log document: left unread
      const parser = parserFor();
      file.ondata = (error, data, final) => {
        if (error) failure ??= error;
        else {
          try {
            if (data.length > 0 && !parser.isEnded) parser.write(data);
            if (final && !parser.isEnded) parser.end();
          } catch (cause) {
            failure ??= cause;
          }
        }
      };
      file.start();
    });
    unzip.register(UnzipInflate);
    return (chunk: Uint8Array, final: boolean) => unzip.push(chunk, final);
  };
  const plain = () => {
    const parser = parserFor();
    return (chunk: Uint8Array, final: boolean) => {
      if (chunk.length > 0 && !parser.isEnded) parser.write(chunk);
      if (final && !parser.isEnded) parser.end();
    };
  };
  try {
    for await (const chunk of chunks) {
      // A zip starts with "PK"; an uncompressed answer is the JSON document itself.
      push ??= chunk[0] === 0x50 && chunk[1] === 0x4b ? zip() : plain();
      push(chunk, false);
      if (failure) throw failure;
      yield* out.splice(0);
    }
    push?.(new Uint8Array(0), true);
    if (failure) throw failure;
    yield* out.splice(0);
  } catch (cause) {
    yield* out.splice(0);
    if (cause instanceof CorruptFileError) throw cause;
    throw new CorruptFileError(`the file cannot be read: ${(cause as Error)?.message ?? cause}`, {
      cause,
    });
  }
  if (documents.length === 0) throw new CorruptFileError("the zip holds no JSON log document");
  if (documents.some((d) => !d.isEnded)) {
    throw new CorruptFileError("the file ends in the middle of its JSON document");
  }
}

/** The events of an API 2.0 batch file: gzip of one JSON event per line. */
export async function* ndjsonEvents(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<Record<string, unknown>> {
  const lines: string[] = [];
  const decoder = new TextDecoder();
  let rest = "";
  let failure: unknown;
  const gunzip = new Gunzip((data, final) => {
    rest += decoder.decode(data, { stream: !final });
    const parts = rest.split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
    if (final && rest !== "") lines.push(rest), rest = "";
  });
  const parsed = function* () {
    for (const line of lines.splice(0)) {
      if (line.trim() === "") continue;
      try {
        const value = JSON.parse(line);
        yield typeof value === "object" && value !== null && !Array.isArray(value)
          ? value as Record<string, unknown>
          : { value };
      } catch {
        // Kept as an invalid record (it has no time), so the operator sees the line.
        yield { unparsedLine: line.length > 2000 ? `${line.slice(0, 2000)}…` : line };
      }
    }
  };
  try {
    for await (const chunk of chunks) {
      try {
        gunzip.push(chunk, false);
      } catch (cause) {
        failure = cause;
      }
      yield* parsed();
      if (failure) break;
    }
    if (!failure) {
      try {
        gunzip.push(new Uint8Array(0), true);
      } catch (cause) {
        failure = cause;
      }
    }
    yield* parsed();
  } finally {
    lines.length = 0;
  }
  if (failure) {
    throw new CorruptFileError(`the gzip file cannot be read: ${(failure as Error)?.message}`, {
      cause: failure,
    });
  }
}
