/**
 * Where traffic may go, decided at connection time (SPEC §5.6): the URL's host is resolved, every
 * address it resolves to is checked, and the connection is made to a checked address and nowhere
 * else, so a name that answers differently a moment later (DNS rebinding) changes nothing.
 * @module
 */
import { HostError } from "../errors.ts";
import { dnsFailure, namingFailures, NetworkError } from "../net_errors.ts";
import {
  addressProblem,
  type AddressRule,
  classifyAddress,
  classifyName,
  hostOf,
} from "./address.ts";
import { PinnedClients } from "./pinned.ts";

/** Looks a host name up: its IPv4 and IPv6 addresses. Tests pass a stub. */
export type Resolver = (name: string, signal?: AbortSignal) => Promise<string[]>;

/** The system's DNS through `Deno.resolveDns` (which reads /etc/hosts first): A and AAAA. */
export const systemResolver: Resolver = async (name, signal) => {
  const answers = await Promise.allSettled(
    (["A", "AAAA"] as const).map((type) => Deno.resolveDns(name, type, { signal })),
  );
  const found = answers.flatMap((a) => a.status === "fulfilled" ? a.value : []);
  if (found.length > 0) return found;
  throw (answers[0] as PromiseRejectedResult).reason;
};

/** How the network is reached: a resolver (tests stub it) and extra CA certificates (tests). */
export interface NetworkOptions {
  resolver?: Resolver;
  caCerts?: string[];
}

function denied(url: URL, reason: string, addresses: string[] = []): HostError {
  const among = addresses.length > 1 ? ` (its addresses: ${addresses.join(", ")})` : "";
  return new HostError("NET_DENIED", `Cannot reach ${url.origin}/: ${reason}${among}`, {
    hint:
      "See “Where traffic may go” in the README: loopback needs HOST_ALLOW_LOOPBACK=1; link-local, metadata, unspecified and multicast addresses are never reached.",
  });
}

/**
 * The addresses a request to `url` may connect to: the literal address, or every address the
 * name resolves to, each checked against `rule`. Throws NET_DENIED when any one is refused, and
 * NET_FAILED when the name does not resolve. Without a resolver (a test's fake network, which
 * resolves names itself) a name is checked by what it is known to be, and `undefined` returned.
 */
export async function checkedAddresses(
  url: URL,
  rule: AddressRule,
  options: { resolver?: Resolver; signal?: AbortSignal } = {},
): Promise<string[] | undefined> {
  const host = hostOf(url);
  const literal = classifyAddress(host);
  const known = literal ?? classifyName(host);
  const knownProblem = known && addressProblem(known, rule);
  if (knownProblem) throw denied(url, `it resolves to ${knownProblem}`);
  if (literal) return [host];
  if (!options.resolver) return undefined;
  let addresses: string[];
  try {
    addresses = await options.resolver(host, options.signal);
  } catch (error) {
    options.signal?.throwIfAborted();
    throw new NetworkError(url.host, dnsFailure(error), error);
  }
  if (addresses.length === 0) {
    throw new NetworkError(url.host, dnsFailure(new Deno.errors.NotFound()), undefined);
  }
  for (const address of addresses) {
    const found = classifyAddress(address);
    const problem = found
      ? addressProblem(found, rule)
      : `${address}, which is not an IP address, never allowed`;
    if (problem) throw denied(url, `it resolves to ${problem}`, addresses);
  }
  return addresses;
}

/**
 * A fetch that checks where each request would connect under `ruleOf(url)`, never follows
 * redirects, names network failures, and connects to the checked address. `base` is the
 * network: the runtime's `fetch` (a name's connections pinned through a SOCKS5 relay and kept
 * alive per checked address, `pinned.ts`; names resolved with `Deno.resolveDns` unless a resolver
 * is given), or a test's fake, which then receives each request after the checks.
 *
 * An IP literal is its own address: there is no name to answer differently later, so its
 * requests go straight to it on a client of their own (kept alive, no relay hop: the relay's copy
 * of every byte through this process is what the pin costs, and a literal needs no pin).
 */
export function guardedFetch(
  ruleOf: (url: URL) => AddressRule,
  base: typeof fetch = fetch,
  options: NetworkOptions = {},
): typeof fetch {
  const real = base === globalThis.fetch;
  const resolver = options.resolver ?? (real ? systemResolver : undefined);
  const pinned = new PinnedClients({ caCerts: options.caCerts });
  const viaPin = (addresses: readonly string[]) =>
    namingFailures((input, init) => pinned.fetch(addresses, input, init));
  const fake = namingFailures(base);
  const direct = directFetch(options.caCerts);
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const addresses = await checkedAddresses(url, ruleOf(url), { resolver, signal });
    const request = { ...init, redirect: "manual" } as const;
    if (!real || !addresses) return fake(input, request);
    if (classifyAddress(hostOf(url))) return direct(input, request);
    return viaPin(addresses)(input, request);
  };
}

/**
 * The runtime's fetch for IP literals, with failures named: its default client, or one client
 * made on first use when extra CA certificates are given (tests' TLS servers).
 */
function directFetch(caCerts: string[] | undefined): typeof fetch {
  let client: Deno.HttpClient | undefined;
  return namingFailures((input, init) => {
    if (!caCerts) return fetch(input, init);
    client ??= Deno.createHttpClient({ caCerts });
    return fetch(input, { ...init, client });
  });
}
