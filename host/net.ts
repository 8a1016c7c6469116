/**
 * Where the host lets traffic go (SPEC §5.6). Two checks: a quick one on the URL's text when a
 * webhook or base URL is saved (scheme, credentials, `permissions.net`, literal addresses), and
 * the one that matters, at connection time, on every address the host resolves to, with the
 * connection pinned to a checked address (`./net/connect.ts`):
 *
 * - loopback (127.0.0.0/8, ::1, and IPv6 forms carrying them, such as `[::ffff:7f00:1]`) only
 *   with HOST_ALLOW_LOOPBACK=1;
 * - link-local and cloud metadata (169.254.0.0/16, fe80::/10, fd00:ec2::254,
 *   `metadata.google.internal`), unspecified (0.0.0.0/8, ::), multicast and reserved: never;
 * - private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7): for webhooks and manifest
 *   entries, and for a plugin only when its manifest's `permissions.net` names the host exactly;
 * - redirects are never followed: a redirect could lead anywhere.
 * @module
 */
import { HostError } from "./errors.ts";
import { hostAllowed } from "./manifest.ts";
import { type AddressKind, classifyAddress, classifyName, hostOf } from "./net/address.ts";
import { guardedFetch, type NetworkOptions } from "./net/connect.ts";

export { checkedAddresses, type NetworkOptions, type Resolver } from "./net/connect.ts";

/** What a URL's host is known to be from its text alone: an IP literal or a well-known name. */
function textKind(url: URL): { kind: AddressKind; address: string } | undefined {
  const host = hostOf(url);
  return classifyAddress(host) ?? classifyName(host);
}

const NEVER_TEXT: Partial<Record<AddressKind, string>> = {
  "link-local": "a link-local address",
  metadata: "a cloud metadata address",
  unspecified: "the unspecified address",
  multicast: "a multicast address",
  reserved: "a reserved address",
};

/** True for a loopback host: 127.0.0.0/8, ::1, their IPv6 forms, `localhost`, `*.localhost`. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.+$/, "");
  return (classifyAddress(host) ?? classifyName(host))?.kind === "loopback";
}

/** True when `permissions.net` names the host itself (no wildcard): private addresses allowed. */
function namedExactly(url: URL, patterns: readonly string[]): boolean {
  return patterns.includes(hostOf(url));
}

/** Checks a URL a plugin wants to reach, on its text; returns the reason it may not, or undefined. */
export function pluginUrlProblem(
  url: URL,
  patterns: readonly string[],
  allowLoopback: boolean,
): string | undefined {
  const known = textKind(url);
  if (known?.kind === "loopback") {
    return allowLoopback
      ? undefined
      : `${url.host} is loopback; set HOST_ALLOW_LOOPBACK=1 to allow it (simulators and tests only)`;
  }
  if (url.protocol !== "https:") {
    return `${url.protocol} is not allowed; plugins reach the network over https only`;
  }
  const never = known && NEVER_TEXT[known.kind];
  if (never) return `${url.hostname} is ${never}, never allowed`;
  if (!hostAllowed(hostOf(url), patterns)) {
    return `${url.hostname} is not in the manifest's permissions.net (${patterns.join(", ")})`;
  }
  if (known?.kind === "private" && !namedExactly(url, patterns)) {
    return `${url.hostname} is a private address that permissions.net does not name`;
  }
  return undefined;
}

/**
 * A fetch for one plugin: only what `pluginUrlProblem` allows, and at connection time only the
 * addresses §5.6 allows (private ones when `permissions.net` names the host); no redirects;
 * network failures named with their cause and host. `base` is the network (see `guardedFetch`).
 */
export function limitedFetch(
  pluginId: string,
  patterns: readonly string[],
  allowLoopback: boolean,
  base: typeof fetch = fetch,
  network: NetworkOptions = {},
): typeof fetch {
  const guarded = guardedFetch(
    (url) => ({ allowLoopback, allowPrivate: namedExactly(url, patterns) }),
    base,
    network,
  );
  const refusal = (error: unknown) =>
    error instanceof HostError && error.code === "NET_DENIED"
      ? new HostError("NET_DENIED", `[plugin ${pluginId}] ${error.message}`, {
        hint: error.hint,
        cause: error,
      })
      : error;
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const problem = pluginUrlProblem(url, patterns, allowLoopback);
    if (problem) {
      throw new HostError(
        "NET_DENIED",
        `[plugin ${pluginId}] Cannot reach ${url.origin}: ${problem}`,
      );
    }
    try {
      return await guarded(input, init);
    } catch (error) {
      throw refusal(error);
    }
  };
}

/** Checks a webhook destination URL on its text; returns the problem, or undefined. */
export function webhookUrlProblem(text: string, allowLoopback: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "Enter an absolute URL such as https://siem.example.com/hooks/mimecast";
  }
  if (url.username || url.password) {
    return "Put no credentials in the URL; the webhook secret signs every request";
  }
  const known = textKind(url);
  if (known?.kind === "loopback") {
    if (!["http:", "https:"].includes(url.protocol)) return "Use http or https";
    return allowLoopback ? undefined : "Loopback destinations need HOST_ALLOW_LOOPBACK=1";
  }
  if (url.protocol !== "https:") return "The webhook URL must use https";
  const never = known && NEVER_TEXT[known.kind];
  if (never) return `${url.hostname} is ${never}; webhooks may not go there`;
  return undefined;
}

/**
 * A fetch for webhook delivery: the URL's text is checked again (the settings may have changed
 * since it was saved), then every address at connection time; private addresses are allowed.
 */
export function webhookFetch(
  allowLoopback: boolean,
  base: typeof fetch = fetch,
  network: NetworkOptions = {},
): typeof fetch {
  const guarded = guardedFetch(() => ({ allowLoopback, allowPrivate: true }), base, network);
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const problem = webhookUrlProblem(url, allowLoopback);
    if (problem) {
      return Promise.reject(new HostError("NET_DENIED", `Cannot reach ${url}: ${problem}`));
    }
    return guarded(input, init);
  };
}

/** A fetch for manifest entries (`https:` only): the webhook rules, private addresses allowed. */
export function entryFetch(
  allowLoopback: boolean,
  base: typeof fetch = fetch,
  network: NetworkOptions = {},
): typeof fetch {
  const guarded = guardedFetch(() => ({ allowLoopback, allowPrivate: true }), base, network);
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== "https:") {
      return Promise.reject(
        new HostError(
          "NET_DENIED",
          `Cannot reach ${url.origin}/: entries are fetched over https only`,
        ),
      );
    }
    return guarded(input, init);
  };
}
