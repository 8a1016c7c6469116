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
  timer?: ReturnType<typeof setTimeout>;
}

/** Pinned clients by destination and checked addresses; `fetch` sends through one of them. */
export class PinnedClients {
  #relay = new SocksRelay();
  #clients = new Map<string, Pinned>();
  #caCerts?: string[];

  constructor(options: { caCerts?: string[] } = {}) {
    this.#caCerts = options.caCerts;
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
    try {
      return await fetch(input, { ...init, client: pinned.client });
    } catch (error) {
      this.#close(key);
      const failure = pinned.ticket.failure;
      const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
      if (failure && !signal?.aborted) throw new NetworkError(url.host, failure, error);
      throw error;
    } finally {
      if (this.#clients.get(key) === pinned) {
        const timer = setTimeout(() => this.#close(key), IDLE_MS);
        Deno.unrefTimer(timer); // an idle client keeps no process alive
        pinned.timer = timer;
      }
    }
  }

  /** Closes every client now; requests still reading a body keep their connection. */
  close(): void {
    for (const key of [...this.#clients.keys()]) this.#close(key);
  }

  #open(key: string, host: string, port: number, addresses: readonly string[]): Pinned {
    const ticket = this.#relay.open({ host, port, addresses });
    const client = Deno.createHttpClient({
      caCerts: this.#caCerts,
      poolIdleTimeout: IDLE_MS,
      // HTTP/1.1: through the relay's two hops, HTTP/2's many small frames met Nagle's delay
      // (measured on loopback: 88 ms a request with HTTP/2, 2.5 ms with HTTP/1.1).
      http2: false,
      proxy: {
        url: `socks5h://127.0.0.1:${ticket.relayPort}`,
        basicAuth: { username: ticket.token, password: "ticket" },
      },
    });
    const pinned = { client, ticket };
    this.#clients.set(key, pinned);
    return pinned;
  }

  #close(key: string): void {
    const pinned = this.#clients.get(key);
    if (!pinned) return;
    this.#clients.delete(key);
    clearTimeout(pinned.timer);
    pinned.client.close();
    pinned.ticket.release();
  }
}
