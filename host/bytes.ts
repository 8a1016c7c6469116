/**
 * Byte arrays put together: the one helper the plugin sources, the sandbox's wire and its
 * runner share (it uses no `Deno.*` API, so the permission-less runner may import it).
 * @module
 */

/** The parts one after another in one array (`size`: their total length, when known). */
export function join(
  parts: Uint8Array[],
  size = parts.reduce((n, part) => n + part.byteLength, 0),
): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
