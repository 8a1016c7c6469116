/**
 * The host's end of what a sandboxed plugin asks for during a call: requests through `ctx.fetch`
 * (performed with the fetch the host was given, i.e. its network rules), their response bodies,
 * and sleeps on the host's clock. While the plugin waits on the host for an operation its call is
 * `busy`: that time is the network's or the clock's, not the plugin's, and does not count against
 * the call's time limit.
 *
 * A body flows on credit: the host reads a first piece (up to `CHUNK_BYTES`, or the whole body
 * when it is smaller, as a page of Mimecast's answer is) before it answers, so the status, the
 * body and its end cross in one write; then it sends `WINDOW` more chunks unasked and one more
 * per `pull` (the sandbox pulls when it has nothing left to read), reading the source one chunk
 * ahead so the end goes out as soon as it is known. So a page's answer crosses with one wake-up
 * of the sandbox, a large body never has more than `WINDOW + 2` chunks in flight, and the source
 * is read only as fast as the plugin reads.
 * @module
 */
import type { Clock } from "../types.ts";
import { join } from "../bytes.ts";
import { CHUNK_BYTES, NULL_BODY_STATUSES, type SandboxMessage, toErrorData } from "./_protocol.ts";

/** The call an operation belongs to. */
export interface OpOwner {
  /** Operations the host is working on. */
  busy: number;
}

interface Op {
  owner: OpOwner;
  controller: AbortController;
  busy: boolean;
  reader?: ReadableStreamDefaultReader<Uint8Array>;
  /** Chunks the sandbox may still be sent unasked. */
  credit: number;
  /** Pulls not yet answered: the plugin is waiting for data. */
  waiting: number;
  /** Read from the source, not yet sent. */
  held?: Uint8Array;
  /** The source has ended: once `held` is sent, the end follows. */
  ended?: boolean;
  reading: boolean;
}

/** Chunks sent unasked after the first piece. */
const WINDOW = 2;

type FetchMessage = Extract<SandboxMessage, { type: "fetch" }>;

/** The operations of one sandbox. */
export class HostOps {
  #ops = new Map<number, Op>();
  #send: (message: unknown, payload?: Uint8Array) => void;
  #fetch: typeof fetch;
  #clock: Clock;
  #maxOpen: number;

  constructor(
    deps: {
      /** Sends a message, followed by `payload`'s bytes as they are when there is one. */
      send: (message: unknown, payload?: Uint8Array) => void;
      fetch: typeof fetch;
      clock: Clock;
      maxOpen: number;
    },
  ) {
    this.#send = deps.send;
    this.#fetch = deps.fetch;
    this.#clock = deps.clock;
    this.#maxOpen = deps.maxOpen;
  }

  /** Whether an operation number is in use (the sandbox picks them; a reuse is a protocol error). */
  has(op: number): boolean {
    return this.#ops.has(op);
  }

  /** Performs a request; answers with its status and headers, or the error. */
  fetch(owner: OpOwner, message: FetchMessage): void {
    const op = this.#open(owner, message.op);
    if (!op) return;
    let init: RequestInit;
    try {
      init = {
        method: message.method,
        headers: new Headers(message.headers),
        body: message.body === null ? undefined : Uint8Array.fromBase64(message.body),
        signal: op.controller.signal,
      };
    } catch (error) {
      return this.#fail(message.op, error);
    }
    // Called inside a promise: a fetch that throws instead of rejecting is still this op's answer.
    Promise.resolve().then(() => this.#fetch(message.url, init)).then(async (response) => {
      if (this.#ops.get(message.op) !== op) return void response.body?.cancel().catch(() => {});
      if (NULL_BODY_STATUSES.has(response.status)) response.body?.cancel().catch(() => {});
      else op.reader = response.body?.getReader();
      // The first piece of the body (a whole page's answer, usually) is read before answering,
      // so the status, the body and its end cross in one write: one wake-up of the sandbox.
      const first = op.reader ? await this.#readPiece(message.op, op) : { done: true };
      if (this.#ops.get(message.op) !== op) return;
      this.#idle(op);
      this.#send({
        type: "response",
        op: message.op,
        status: response.status,
        statusText: response.statusText,
        headers: [...response.headers],
        body: op.reader !== undefined,
      });
      if (!op.reader) return this.#close(message.op);
      op.credit = WINDOW + 1;
      if (first.done) op.ended = true;
      void this.#pump(message.op, op);
    }).catch((error) => this.#fail(message.op, error));
  }

  /** Reads the source until a whole chunk is held or it ends. */
  async #readPiece(opId: number, op: Op): Promise<{ done: boolean }> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const step = await op.reader!.read();
      if (this.#ops.get(opId) !== op) return { done: true };
      if (step.done || step.value.byteLength > 0) {
        if (!step.done) {
          parts.push(step.value);
          size += step.value.byteLength;
        }
        if (step.done || size >= CHUNK_BYTES) {
          if (size > 0) op.held = parts.length === 1 ? parts[0] : join(parts, size);
          return { done: step.done === true };
        }
      }
    }
  }

  /** Sleeps on the host's clock, then wakes the sandbox. */
  sleep(owner: OpOwner, op: number, ms: number): void {
    const state = this.#open(owner, op);
    if (!state) return;
    Promise.resolve().then(() => this.#clock.sleep(ms, state.controller.signal)).then(() => {
      if (this.#ops.get(op) !== state) return;
      this.#close(op);
      this.#send({ type: "woke", op });
    }, (error) => this.#fail(op, error));
  }

  /** The sandbox has read all it was sent and waits for more. */
  pull(op: number): void {
    const state = this.#ops.get(op);
    if (!state?.reader) return;
    state.credit++;
    state.waiting++;
    this.#busy(state);
    void this.#pump(op, state);
  }

  /** Sends what credit allows (pieces of at most CHUNK_BYTES), and the end once the source ends. */
  async #pump(op: number, state: Op): Promise<void> {
    if (state.reading) return;
    try {
      for (;;) {
        if (!state.held && state.ended) {
          this.#close(op);
          return this.#send({ type: "end", op });
        }
        if (!state.held) {
          state.reading = true;
          const step = await state.reader!.read();
          state.reading = false;
          if (this.#ops.get(op) !== state) return;
          if (step.done) {
            this.#close(op);
            return this.#send({ type: "end", op });
          }
          state.held = step.value;
          if (state.held.byteLength === 0) state.held = undefined;
          continue;
        }
        if (state.credit <= 0) return;
        const piece = state.held.subarray(0, CHUNK_BYTES);
        state.held = state.held.byteLength > CHUNK_BYTES
          ? state.held.subarray(CHUNK_BYTES)
          : undefined;
        state.credit--;
        if (state.waiting > 0 && --state.waiting === 0) this.#idle(state);
        this.#send({ type: "chunk", op, bytes: piece.byteLength }, piece);
      }
    } catch (error) {
      state.reading = false;
      this.#fail(op, error);
    }
  }

  /** Stops an operation the sandbox no longer wants. */
  cancel(op: number): void {
    const state = this.#ops.get(op);
    if (!state) return;
    this.#close(op);
    state.controller.abort();
    state.reader?.cancel().catch(() => {});
  }

  /** Stops every operation of `owner`, or all of them. */
  cancelAll(owner?: OpOwner): void {
    for (const [op, state] of this.#ops) if (!owner || state.owner === owner) this.cancel(op);
  }

  #open(owner: OpOwner, op: number): Op | undefined {
    if (this.#ops.size >= this.#maxOpen) {
      this.#send({
        type: "fail",
        op,
        error: {
          name: "TypeError",
          message:
            `Cannot start another request: ${this.#maxOpen} are open (read or cancel their bodies)`,
        },
      });
      return undefined;
    }
    const state: Op = {
      owner,
      controller: new AbortController(),
      busy: false,
      credit: 0,
      waiting: 0,
      reading: false,
    };
    this.#ops.set(op, state);
    this.#busy(state);
    return state;
  }

  #fail(op: number, error: unknown): void {
    if (!this.#ops.has(op)) return;
    this.#close(op);
    this.#send({ type: "fail", op, error: toErrorData(error) });
  }

  #close(op: number): void {
    const state = this.#ops.get(op);
    if (!state) return;
    this.#idle(state);
    this.#ops.delete(op);
  }

  #busy(state: Op): void {
    if (state.busy) return;
    state.busy = true;
    state.owner.busy++;
  }

  #idle(state: Op): void {
    if (!state.busy) return;
    state.busy = false;
    state.owner.busy--;
  }
}
