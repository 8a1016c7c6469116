/**
 * The sandbox's stdin reader (`FrameReader` in host/sandbox/_protocol.ts): lines and binary
 * payloads come out whole and in order however the bytes are cut into reads, a payload may hold
 * newlines, and a line over its limit is refused.
 */
import { deepStrictEqual, equal, rejects } from "node:assert/strict";
import { FrameReader, LineTooLongError } from "../../../host/sandbox/_protocol.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A source that hands out `bytes` at most `step` at a time, as a pipe may. */
function source(bytes: Uint8Array, step: number) {
  let at = 0;
  return (into: Uint8Array): Promise<number | null> => {
    if (at >= bytes.byteLength) return Promise.resolve(null);
    const n = Math.min(step, into.byteLength, bytes.byteLength - at);
    into.set(bytes.subarray(at, at + n));
    at += n;
    return Promise.resolve(n);
  };
}

Deno.test("FrameReader gives lines and payloads whole and in order, whatever the reads' sizes", async () => {
  const payload = new Uint8Array(5000).map((_, i) => i % 256); // holds newlines (10)
  const wire = new Uint8Array([
    ...encoder.encode('{"a":1}\n{"type":"chunk","bytes":5000}\n'),
    ...payload,
    ...encoder.encode('{"b":2}\n'),
  ]);
  for (const step of [1, 3, 7, 64, 4096, 100_000]) {
    const reader = new FrameReader(source(wire, step), 16);
    equal(decoder.decode((await reader.line(1024))!), '{"a":1}', `step ${step}`);
    equal(decoder.decode((await reader.line(1024))!), '{"type":"chunk","bytes":5000}');
    deepStrictEqual(await reader.bytes(5000), payload, `step ${step}`);
    equal(decoder.decode((await reader.line(1024))!), '{"b":2}');
    equal(await reader.line(1024), null);
  }
});

Deno.test("FrameReader refuses a line over its limit, and says when a payload is cut short", async () => {
  const long = new FrameReader(source(encoder.encode(`${"x".repeat(300)}\n`), 50), 16);
  await rejects(() => long.line(100), LineTooLongError);
  const cut = new FrameReader(source(encoder.encode('{"type":"chunk"}\nabc'), 2), 16);
  await cut.line(100);
  equal(await cut.bytes(10), null);
});
