/**
 * The pin that closes the DNS-rebinding window. Deno's `fetch` (2.9.5) cannot be told which
 * address to connect to: `Deno.createHttpClient` has no resolver option, and its `tcp` transport
 * speaks plain HTTP even to an https URL. It can go through a SOCKS5 proxy, though, and TLS then
 * still runs end to end under the URL's own name (SNI and the certificate checked against it).
 * So each request goes through this relay: a SOCKS5 listener on 127.0.0.1, open only while some
 * ticket is, that connects only to addresses already checked. A pinned client carries a ticket (a
 * random 128-bit user name) bound to one host, port and set of checked addresses; the relay never
 * resolves a name, and refuses a ticket it did not issue or a target the ticket does not name.
 * @module
 */
import { sameAddress } from "./address.ts";
import { type NetworkFailure, socketFailure } from "../net_errors.ts";

/** One request's permission to connect, and what went wrong if the connection failed. */
export interface Ticket {
  readonly token: string;
  /** The relay's port on 127.0.0.1. */
  readonly relayPort: number;
  /** Why the relay last failed to reach the target (connect refused, reset), if it did. */
  failure?: NetworkFailure;
  /** Ends the ticket; the listener closes with the last one. */
  release(): void;
}

interface Target {
  host: string;
  port: number;
  addresses: readonly string[];
}

/** Reads exactly `n` bytes (a SOCKS handshake field). */
async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const read = await conn.read(bytes.subarray(got));
    if (read === null) throw new Error("the client closed the SOCKS handshake");
    got += read;
  }
  return bytes;
}

async function copy(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await from.read(buffer);
    if (n === null) return;
    for (let written = 0; written < n;) written += await to.write(buffer.subarray(written, n));
  }
}

// SOCKS5 (RFC 1928) and its user name/password method (RFC 1929), CONNECT only.
const REPLY = { ok: 0, failure: 1, notAllowed: 2, refused: 5, badCommand: 7, badAddress: 8 };

/** A SOCKS5 relay that connects each ticket to its checked addresses and nowhere else. */
export class SocksRelay {
  #listener?: Deno.TcpListener;
  #tickets = new Map<string, Ticket & Target>();

  /** Issues a ticket for connections to `target`, opening the listener if needed. */
  open(target: Target): Ticket {
    this.#listener ??= this.#listen();
    const token = Array.from(
      crypto.getRandomValues(new Uint8Array(16)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    const ticket: Ticket & Target = {
      ...target,
      token,
      relayPort: (this.#listener.addr as Deno.NetAddr).port,
      release: () => {
        this.#tickets.delete(token);
        if (this.#tickets.size > 0 || !this.#listener) return;
        this.#listener.close();
        this.#listener = undefined;
      },
    };
    this.#tickets.set(token, ticket);
    return ticket;
  }

  #listen(): Deno.TcpListener {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    listener.unref(); // the requests waiting on it keep the process alive, not the relay itself
    (async () => {
      try {
        for await (const conn of listener) {
          conn.setNoDelay(true);
          this.#serve(conn).catch(() => conn.close());
        }
      } catch { /* closed */ }
    })();
    return listener;
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const reply = (code: number) => conn.write(new Uint8Array([5, code, 0, 1, 0, 0, 0, 0, 0, 0]));
    const refuse = async (code: number) => {
      await reply(code);
      conn.close();
    };
    const [version, count] = await readExactly(conn, 2);
    const methods = await readExactly(conn, count);
    if (version !== 5 || !methods.includes(2)) {
      await conn.write(new Uint8Array([5, 0xff]));
      return conn.close();
    }
    await conn.write(new Uint8Array([5, 2]));
    const [, userLength] = await readExactly(conn, 2);
    const user = new TextDecoder().decode(await readExactly(conn, userLength));
    await readExactly(conn, (await readExactly(conn, 1))[0]); // the password: unused
    const ticket = this.#tickets.get(user);
    await conn.write(new Uint8Array([1, ticket ? 0 : 1]));
    if (!ticket) return conn.close();

    const [, command, , addressType] = await readExactly(conn, 4);
    let host: string;
    if (addressType === 1) host = (await readExactly(conn, 4)).join(".");
    else if (addressType === 3) {
      const name = await readExactly(conn, (await readExactly(conn, 1))[0]);
      host = new TextDecoder().decode(name).toLowerCase().replace(/\.+$/, "");
    } else if (addressType === 4) {
      const b = await readExactly(conn, 16);
      host = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8 | b[2 * i + 1]).toString(16))
        .join(":");
    } else return await refuse(REPLY.badAddress);
    const portBytes = await readExactly(conn, 2);
    const port = portBytes[0] << 8 | portBytes[1];
    if (command !== 1) return await refuse(REPLY.badCommand);
    const sameHost = host === ticket.host || sameAddress(host, ticket.host);
    if (!sameHost || port !== ticket.port) return await refuse(REPLY.notAllowed);

    let upstream: Deno.TcpConn | undefined;
    for (const address of ticket.addresses) {
      try {
        upstream = await Deno.connect({ hostname: address, port });
        upstream.setNoDelay(true); // pass small TLS records on at once, as the client sent them
        break;
      } catch (error) {
        ticket.failure = socketFailure(error);
      }
    }
    if (!upstream) return await refuse(REPLY.refused);
    ticket.failure = undefined;
    await reply(REPLY.ok);
    const server = upstream;
    let open = true;
    const closeBoth = () => {
      if (!open) return;
      open = false;
      for (const c of [conn, server]) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
    };
    await Promise.allSettled([
      copy(conn, server).finally(closeBoth),
      copy(server, conn).catch((error) => {
        if (open) ticket.failure = socketFailure(error); // a reset before the answer, say
      }).finally(closeBoth),
    ]);
  }
}
