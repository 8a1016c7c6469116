/**
 * The connection goes to the address that was checked, and TLS is still checked against the
 * URL's name. A stub resolver answers for names the system's DNS does not know (`siem.test`), so
 * a request that arrives at all arrived through the pin; servers listen on 127.0.0.1 only.
 */
import { deepStrictEqual, equal, match, rejects } from "node:assert/strict";
import type { HostError } from "../../../host/errors.ts";
import { limitedFetch, type Resolver, webhookFetch } from "../../../host/net.ts";
import { guardedFetch } from "../../../host/net/connect.ts";
import { SocksRelay } from "../../../host/net/socks_relay.ts";
import type { NetworkError } from "../../../host/net_errors.ts";

const CERT = await Deno.readTextFile(new URL("../../../fixtures/tls/cert.pem", import.meta.url));
const KEY = await Deno.readTextFile(new URL("../../../fixtures/tls/key.pem", import.meta.url));

/** A TLS server for siem.test on 127.0.0.1 that records the hosts asked for and echoes them. */
function tlsServer(
  answer: (request: Request) => Response = (r) => new Response(new URL(r.url).host),
) {
  const seen = { hosts: [] as string[] };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: CERT, key: KEY, onListen() {} },
    (request) => {
      seen.hosts.push(new URL(request.url).host);
      return answer(request);
    },
  );
  return { port: server.addr.port, seen, close: () => server.shutdown() };
}

/** A resolver that answers `addresses` for every name and counts its calls. */
function stubResolver(...answers: string[][]) {
  const calls: string[] = [];
  const resolve: Resolver = (name) => {
    calls.push(name);
    return Promise.resolve(answers[Math.min(calls.length, answers.length) - 1]);
  };
  return { resolve, calls };
}

Deno.test("a name is connected to its checked address, and TLS is checked against the name", async () => {
  const server = tlsServer();
  const dns = stubResolver(["127.0.0.1"]);
  try {
    const post = webhookFetch(true, fetch, { resolver: dns.resolve, caCerts: [CERT] });
    const response = await post(`https://siem.test:${server.port}/hook`, {
      method: "POST",
      body: "{}",
    });
    equal(response.status, 200);
    equal(await response.text(), `siem.test:${server.port}`, "the server saw the real name");
    deepStrictEqual(dns.calls, ["siem.test"]);
  } finally {
    await server.close();
  }
});

Deno.test("over the pin, a certificate for another name is refused (NET_FAILED, tls)", async () => {
  const server = tlsServer();
  try {
    const dns = stubResolver(["127.0.0.1"]);
    const post = webhookFetch(true, fetch, { resolver: dns.resolve, caCerts: [CERT] });
    const error: NetworkError = await post(`https://wrong.test:${server.port}/`).catch((e) => e);
    equal(error.code, "NET_FAILED");
    equal(error.kind, "tls");
    match(error.message, /^Cannot connect to wrong\.test:\d+: TLS certificate not accepted/);
    // Without the test CA, the certificate is not trusted at all: verification is on.
    const untrusted = webhookFetch(true, fetch, { resolver: dns.resolve });
    const error2: NetworkError = await untrusted(`https://siem.test:${server.port}/`).catch((e) =>
      e
    );
    equal(error2.kind, "tls");
    equal(server.seen.hosts.length, 0, "no request got through");
  } finally {
    await server.close();
  }
});

Deno.test("DNS rebinding: a name that answers differently later cannot redirect a request", async () => {
  const server = tlsServer();
  // First answer: the allowed server. Every later answer: the metadata address.
  const dns = stubResolver(["127.0.0.1"], ["169.254.169.254"]);
  try {
    const f = limitedFetch("p", ["rebind.test"], true, fetch, {
      resolver: dns.resolve,
      caCerts: [CERT],
    });
    const response = await f(`https://rebind.test:${server.port}/`);
    equal(await response.text(), `rebind.test:${server.port}`);
    equal(dns.calls.length, 1, "one lookup per request: fetch did not look the name up again");
    await rejects(
      f(`https://rebind.test:${server.port}/`),
      (e: HostError) =>
        e.code === "NET_DENIED" &&
        e.message ===
          `[plugin p] Cannot reach https://rebind.test:${server.port}/: it resolves to the cloud metadata address 169.254.169.254, never allowed`,
    );
    equal(server.seen.hosts.length, 1, "the second request never connected");
  } finally {
    await server.close();
  }
});

Deno.test("a name with one good and one forbidden address is refused before any connection", async () => {
  const server = tlsServer();
  try {
    const dns = stubResolver(["127.0.0.1", "169.254.169.254"]);
    const f = webhookFetch(true, fetch, { resolver: dns.resolve, caCerts: [CERT] });
    await rejects(
      f(`https://siem.test:${server.port}/`),
      (e: HostError) => e.code === "NET_DENIED",
    );
    equal(server.seen.hosts.length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("redirects are returned, never followed, over the pin", async () => {
  const server = tlsServer(() =>
    new Response(null, { status: 302, headers: { location: "https://169.254.169.254/" } })
  );
  try {
    const dns = stubResolver(["127.0.0.1"]);
    const f = limitedFetch("p", ["siem.test"], true, fetch, {
      resolver: dns.resolve,
      caCerts: [CERT],
    });
    const response = await f(`https://siem.test:${server.port}/`);
    equal(response.status, 302);
    equal(response.headers.get("location"), "https://169.254.169.254/");
    equal(server.seen.hosts.length, 1);
  } finally {
    await server.close();
  }
});

Deno.test("an IPv4-mapped loopback literal is reached only when loopback is allowed", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("plain"),
  );
  const url = `http://[::ffff:7f00:1]:${server.addr.port}/`;
  try {
    const rule = (allowLoopback: boolean) => () => ({ allowLoopback, allowPrivate: true });
    await rejects(guardedFetch(rule(false))(url), (e: HostError) => e.code === "NET_DENIED");
    const response = await guardedFetch(rule(true))(url);
    equal(await response.text(), "plain");
  } finally {
    await server.shutdown();
  }
});

Deno.test("the relay connects only a ticket's own host and port, and only with its ticket", async () => {
  const server = tlsServer();
  const other = tlsServer();
  const relay = new SocksRelay();
  const ticket = relay.open({ host: "siem.test", port: server.port, addresses: ["127.0.0.1"] });
  const through = (username: string, url: string) => {
    const client = Deno.createHttpClient({
      caCerts: [CERT],
      proxy: {
        url: `socks5h://127.0.0.1:${ticket.relayPort}`,
        basicAuth: { username, password: "x" },
      },
    });
    return fetch(url, { client }).then(
      (r) => r.text(),
      (e: Error) => `failed: ${e.message}`,
    ).finally(() => client.close());
  };
  try {
    equal(
      await through(ticket.token, `https://siem.test:${server.port}/`),
      `siem.test:${server.port}`,
    );
    match(await through("guessed", `https://siem.test:${server.port}/`), /^failed/);
    match(await through(ticket.token, `https://siem.test:${other.port}/`), /^failed/);
    match(await through(ticket.token, `https://rebind.test:${server.port}/`), /^failed/);
    equal(server.seen.hosts.length, 1);
    equal(other.seen.hosts.length, 0);
  } finally {
    ticket.release();
    await server.close();
    await other.close();
  }
});

Deno.test("requests to the same checked address reuse one pinned connection", async () => {
  const ports: number[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: CERT, key: KEY, onListen() {} },
    (_request, info) => {
      ports.push(info.remoteAddr.port);
      return new Response("ok");
    },
  );
  try {
    const dns = stubResolver(["127.0.0.1"]);
    const f = webhookFetch(true, fetch, { resolver: dns.resolve, caCerts: [CERT] });
    for (let i = 0; i < 3; i++) {
      equal(
        await (await f(`https://siem.test:${server.addr.port}/`, { method: "POST" })).text(),
        "ok",
      );
    }
    equal(dns.calls.length, 3, "every request is resolved and checked again");
    equal(new Set(ports).size, 1, `one connection for three requests (ports ${ports})`);
  } finally {
    await server.shutdown();
  }
});
