/**
 * Where the host lets traffic go. Plugins get a `fetch` limited to their manifest's
 * `permissions.net` over https (loopback only with HOST_ALLOW_LOOPBACK=1); webhook destinations
 * must be https (or loopback when allowed) and never link-local or cloud metadata addresses.
 * Redirects are not followed: a redirect could lead anywhere.
 * @module
 */
import { HostError } from "./errors.ts";
import { hostAllowed } from "./manifest.ts";
import { namingFailures } from "./net_errors.ts";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** True for the loopback names a simulator or local receiver uses. */
export function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** Addresses nobody should send to: link-local (cloud metadata), unspecified, multicast. */
function isForbiddenAddress(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (/^169\.254\./.test(h) || /^0\./.test(h) || h === "0.0.0.0" || /^22[4-9]\.|^23\d\./.test(h)) {
    return true;
  }
  if (/^fe[89ab][0-9a-f]:/.test(h) || h === "::" || /^ff/.test(h)) return true;
  if (h.startsWith("::ffff:")) return isForbiddenAddress(h.slice(7));
  return h === "metadata.google.internal" || h === "metadata" || h.endsWith(".internal.metadata");
}

/** Checks a URL a plugin wants to reach; returns the reason it may not, or undefined. */
export function pluginUrlProblem(
  url: URL,
  patterns: readonly string[],
  allowLoopback: boolean,
): string | undefined {
  if (isLoopback(url.hostname)) {
    return allowLoopback
      ? undefined
      : `${url.host} is loopback; set HOST_ALLOW_LOOPBACK=1 to allow it (simulators and tests only)`;
  }
  if (url.protocol !== "https:") {
    return `${url.protocol} is not allowed; plugins reach the network over https only`;
  }
  if (isForbiddenAddress(url.hostname)) {
    return `${url.hostname} is a link-local or metadata address`;
  }
  if (!hostAllowed(url.hostname, patterns)) {
    return `${url.hostname} is not in the manifest's permissions.net (${patterns.join(", ")})`;
  }
  return undefined;
}

/**
 * A fetch that only reaches what `pluginUrlProblem` allows, never follows redirects, and names
 * the real cause of a network failure (DNS, refused, reset, TLS) and its host in the error.
 */
export function limitedFetch(
  pluginId: string,
  patterns: readonly string[],
  allowLoopback: boolean,
  base: typeof fetch = fetch,
): typeof fetch {
  const named = namingFailures(base);
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const problem = pluginUrlProblem(url, patterns, allowLoopback);
    if (problem) {
      return Promise.reject(
        new HostError("NET_DENIED", `[plugin ${pluginId}] Cannot reach ${url.origin}: ${problem}`),
      );
    }
    return named(input, { ...init, redirect: "manual" });
  };
}

/** Checks a webhook destination URL; returns the problem, or undefined when it may be used. */
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
  if (isLoopback(url.hostname)) {
    if (!["http:", "https:"].includes(url.protocol)) return "Use http or https";
    return allowLoopback ? undefined : "Loopback destinations need HOST_ALLOW_LOOPBACK=1";
  }
  if (url.protocol !== "https:") return "The webhook URL must use https";
  if (isForbiddenAddress(url.hostname)) {
    return "Link-local and cloud metadata addresses are not allowed";
  }
  return undefined;
}
