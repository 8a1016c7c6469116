/**
 * Network failures named by their real cause (SPEC §3.7). Deno's `fetch` rejects every one of
 * them with the same `TypeError: fetch failed`; the cause hides in `error.cause.message`, in the
 * words of the Rust HTTP stack. Measured on Deno 2.9.5 (Linux):
 *
 * | condition                       | `error.cause.message` ends with                              |
 * | ------------------------------- | ------------------------------------------------------------ |
 * | unknown name                    | `dns error: failed to lookup address information: Name or service not known` |
 * | closed port                     | `tcp connect error: Connection refused (os error 111)`       |
 * | accepted, then closed           | `client error (SendRequest): connection closed before message completed` |
 * | reset (RST)                     | `Connection reset by peer (os error 104)`                    |
 * | https to a plain-HTTP port      | `received corrupt message of type InvalidContentType`        |
 * | https, accepted then closed     | `tls handshake eof`                                          |
 * | self-signed certificate         | `invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))` |
 * | the request's signal timed out  | (no cause) `TimeoutError: The operation was aborted due to timeout` |
 *
 * The host applies this to plugins' `ctx.fetch` and to webhook delivery; a plugin only ever sees
 * the resulting message. Their connections go through the host's pinning relay
 * (`net/socks_relay.ts`), so a refused or reset connection to the server is seen by the relay,
 * which names it with `socketFailure`; a failed lookup is named by `dnsFailure`.
 * @module
 */
import { HostError } from "./errors.ts";

/** The kinds of network failure an operator can act on differently. */
export type NetworkFailureKind = "dns" | "refused" | "reset" | "tls" | "timeout" | "other";

/** A network failure in words: its kind and a short description without the host. */
export interface NetworkFailure {
  kind: NetworkFailureKind;
  detail: string;
}

/** A request that failed on the network, named by its cause and host (code `NET_FAILED`). */
export class NetworkError extends HostError {
  readonly kind: NetworkFailureKind;
  readonly host: string;
  /** The failure without the host, e.g. `connection refused`. */
  readonly detail: string;

  constructor(host: string, failure: NetworkFailure, cause: unknown) {
    super("NET_FAILED", `Cannot connect to ${host}: ${failure.detail}`, { cause });
    this.kind = failure.kind;
    this.host = host;
    this.detail = failure.detail;
  }
}

const RULES: [NetworkFailureKind, RegExp, (m: string) => string][] = [
  [
    "dns",
    /dns error|failed to lookup address|name or service not known|nodename nor servname|no such host|name resolution/i,
    (m) =>
      /not known|no such host|NXDOMAIN/i.test(m)
        ? "DNS lookup failed (name not found)"
        : `DNS lookup failed (${tail(m)})`,
  ],
  ["refused", /connection refused|os error (111|61|10061)\b/i, () => "connection refused"],
  ["reset", /connection reset|os error (104|54|10054)\b/i, () => "connection reset by the server"],
  [
    "reset",
    /connection closed before message completed|broken pipe|unexpected eof|connection closed/i,
    () => "the server closed the connection before answering",
  ],
  [
    "tls",
    /certificate|UnknownIssuer|NotValidForName|CaUsedAsEndEntity/i,
    (m) => `TLS certificate not accepted (${tail(m)})`,
  ],
  [
    "tls",
    /InvalidContentType/,
    () => "TLS handshake failed (the server did not answer in TLS; is it plain http?)",
  ],
  [
    "tls",
    /tls|handshake|corrupt message|fatal alert|peer is incompatible|peer misbehaved/i,
    (m) => `TLS handshake failed (${tail(m)})`,
  ],
];

/** The specific part of a Rust error chain: what follows "client error (Connect): ". */
function tail(message: string): string {
  const at = message.lastIndexOf("): ");
  return (at >= 0 ? message.slice(at + 3) : message)
    .replace(/^dns error: (failed to lookup address information: )?/, "");
}

/**
 * Names what went wrong under a failed `fetch`, or returns undefined when the error is not a
 * network failure (an abort, a bad URL, a refusal by the host's own rules).
 */
export function networkFailure(
  error: unknown,
  options: { timeoutMs?: number } = {},
): NetworkFailure | undefined {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    const after = options.timeoutMs === undefined ? "" : ` after ${options.timeoutMs} ms`;
    return { kind: "timeout", detail: `timed out${after}` };
  }
  if (!(error instanceof TypeError)) return undefined;
  const inner = error.cause instanceof Error ? error.cause.message : "";
  const text = `${error.message}: ${inner}`;
  for (const [kind, pattern, describe] of RULES) {
    if (pattern.test(text)) return { kind, detail: describe(inner || error.message) };
  }
  if (error.message === "fetch failed" || /error sending request|os error/i.test(text)) {
    return { kind: "other", detail: inner ? tail(inner) : error.message };
  }
  return undefined;
}

/**
 * Names a failure of the host's own sockets and lookups (`Deno.connect`, `Deno.resolveDns`, a
 * relayed connection's read), which throw `Deno.errors.*` rather than fetch's TypeError.
 */
export function socketFailure(error: unknown): NetworkFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.TimedOut) return { kind: "timeout", detail: "timed out" };
  for (const [kind, pattern, describe] of RULES) {
    if (pattern.test(message)) return { kind, detail: describe(message) };
  }
  return { kind: "other", detail: message };
}

/** Names a failed DNS lookup: `DNS lookup failed (name not found)`. */
export function dnsFailure(error: unknown): NetworkFailure {
  if (error instanceof Deno.errors.NotFound) {
    return { kind: "dns", detail: "DNS lookup failed (name not found)" };
  }
  if (error instanceof Deno.errors.TimedOut) {
    return { kind: "dns", detail: "DNS lookup failed (no answer in time)" };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "dns", detail: `DNS lookup failed (${message})` };
}

/**
 * Wraps a `fetch` so that network failures reject with a NetworkError naming the cause and host.
 * Anything else, and every failure after the caller's own signal fired (a cancelled run, the
 * caller's timeout, which the caller words itself), passes through unchanged.
 */
export function namingFailures(base: typeof fetch): typeof fetch {
  return async (input, init) => {
    try {
      return await base(input, init);
    } catch (error) {
      if (init?.signal?.aborted) throw error;
      const failure = networkFailure(error);
      if (!failure) throw error;
      const url = new URL(input instanceof Request ? input.url : String(input));
      throw new NetworkError(url.host, failure, error);
    }
  };
}
