/**
 * HTTP clients pinned to checked addresses, kept a while so that requests to the same place
 * reuse their connections (keep-alive, HTTP/2) as the runtime's own `fetch` would: one client per
 * destination and set of checked addresses, each holding a relay ticket for exactly those
 * addresses (`socks_relay.ts`). A request whose name now resolves elsewhere gets another client;
 * one whose name now resolves somewhere forbidden never gets this far. A client unused for 30 s
 * is closed; so is one whose request failed, so the next request starts afresh.
 * @module
 */
import { hostOf } from "./address.ts";
import { NetworkError } from "../net_errors.ts";
import { SocksRelay, type Ticket } from "./socks_relay.ts";

/** How long an unused pinned client (and its idle connections) is kept. */
export const IDLE_MS = 30_000;

interface Pinned {
  client: Deno.HttpClient;
  ticket: Ticket;
  /** Requests sent through it that have not settled yet. */
  inFlight: number;
  /** Dropped from the map (idle, or after a failure): closed once nothing is in flight. */
  retired: boolean;
  shut?: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

/** Pinned clients by destination and checked addresses; `fetch` sends through one of them. */
export class PinnedClients {
  #relay = new SocksRelay();
  #clients = new Map<string, Pinned>();
  #caCerts?: string[];
  #idleMs: number;

  constructor(options: { caCerts?: string[]; idleMs?: number } = {}) {
    this.#caCerts = options.caCerts;
    this.#idleMs = options.idleMs ?? IDLE_MS;
  }

  /** Sends a request over a connection to one of `addresses` (already checked). */
  async fetch(
    addresses: readonly string[],
    input: RequestInfo | URL,
    init?: RequestInit,
  ): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
    const key = `${url.protocol}//${hostOf(url)}:${port} ${addresses.join(" ")}`;
    const pinned = this.#clients.get(key) ?? this.#open(key, hostOf(url), port, addresses);
    clearTimeout(pinned.timer);
    pinned.inFlight++;
    try {
      return await fetch(input, { ...init, client: pinned.client });
    } catch (error) {
      // The next request starts afresh; requests still using this client finish on it.
      this.#retire(key, pinned);
      const failure = pinned.ticket.failure;
      const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
      if (failure && !signal?.aborted) throw new NetworkError(url.host, failure, error);
      throw error;
    } finally {
      // Idle only once no request is in flight: concurrent requests (the log types of a run)
      // share the client, and the idle timer of one must never close it under the others.
      if (--pinned.inFlight === 0) {
        if (pinned.retired) this.#shut(pinned);
        else {
          clearTimeout(pinned.timer);
          const timer = setTimeout(() => this.#retire(key, pinned), this.#idleMs);
          Deno.unrefTimer(timer); // an idle client keeps no process alive
          pinned.timer = timer;
        }
      }
    }
  }

  /** Closes every client now; requests still reading a body keep their connection. */
  close(): void {
    for (const [key, pinned] of [...this.#clients]) {
      this.#retire(key, pinned);
      this.#shut(pinned);
    }
  }

  #open(key: string, host: string, port: number, addresses: readonly string[]): Pinned {
    const ticket = this.#relay.open({ host, port, addresses });
    const client = Deno.createHttpClient({
      caCerts: this.#caCerts,
      poolIdleTimeout: this.#idleMs,
      // HTTP/1.1: through the relay's two hops, HTTP/2's many small frames met Nagle's delay
      // (measured on loopback: 88 ms a request with HTTP/2, 2.5 ms with HTTP/1.1).
      http2: false,
      proxy: {
        url: `socks5h://127.0.0.1:${ticket.relayPort}`,
        basicAuth: { username: ticket.token, password: "ticket" },
      },
    });
    const pinned: Pinned = { client, ticket, inFlight: 0, retired: false };
    this.#clients.set(key, pinned);
    return pinned;
  }

  /** Takes a client out of use: new requests get another; it closes once none is in flight. */
  #retire(key: string, pinned: Pinned): void {
    if (this.#clients.get(key) === pinned) this.#clients.delete(key);
    pinned.retired = true;
    clearTimeout(pinned.timer);
    if (pinned.inFlight === 0) this.#shut(pinned);
  }

  #shut(pinned: Pinned): void {
    if (pinned.shut) return;
    pinned.shut = true;
    try {
      pinned.client.close();
    } catch { /* closed already */ }
    pinned.ticket.release();
  }
}
