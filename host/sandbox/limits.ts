/**
 * The limits of a sandbox, and their defaults. A breach kills the sandbox's process; the calls
 * waiting on it fail naming the plugin and the hook.
 * @module
 */

/** The limits of one sandbox. */
export interface SandboxLimits {
  /** V8 heap cap (`--max-old-space-size`), MiB. */
  heapMiB: number;
  /** Resident memory cap of the process (heap, buffers, code), MiB; watched on Linux. */
  memoryMiB: number;
  /** The plugin's own time per call or page, waits on the host's network and clock excluded. */
  callTimeoutMs: number;
  /** Time to start the process and import the module. */
  loadTimeoutMs: number;
  /** Longest silence (no heartbeat) while a call waits: an event loop blocked by plugin code. */
  unresponsiveMs: number;
  /** Ceiling per call or page, waits included (a download of a large file fits well inside). */
  wallTimeoutMs: number;
  /** Largest message from the sandbox (a page, a normalized page), bytes. */
  maxMessageBytes: number;
  /** Largest request body a plugin may send through `ctx.fetch`, bytes. */
  maxRequestBytes: number;
  /** Requests (and sleeps) open at once. */
  maxOpen: number;
}

const MIB = 1024 * 1024;

/**
 * The defaults: a 256 MiB heap (the host's own cap in `deno task start`) within 768 MiB of
 * process memory; 60 s of the plugin's own time per call or page, which normalizing a page or
 * parsing a large answer never comes near; 15 s without a heartbeat; 30 min per page in all, so a
 * SIEM file of tens of MB downloads well inside it.
 */
export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  heapMiB: 256,
  memoryMiB: 768,
  callTimeoutMs: 60_000,
  loadTimeoutMs: 30_000,
  unresponsiveMs: 15_000,
  wallTimeoutMs: 30 * 60_000,
  maxMessageBytes: 32 * MIB,
  maxRequestBytes: 16 * MIB,
  maxOpen: 16,
};
