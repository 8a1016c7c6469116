/**
 * Which way a message went: Mimecast's `route` when it gives one, else the organisation's
 * internal domains and networks from the config.
 * @module
 */
import type { Alert } from "../host/types.ts";

/** Direction of an alert's message. */
export type Direction = Alert["direction"];

/** What direction inference needs from the config. */
export interface InternalScope {
  internalDomains?: readonly string[];
  internalNetworks?: readonly string[];
}

const ROUTES: ReadonlySet<string> = new Set(["inbound", "outbound", "internal", "external"]);

/**
 * Mimecast's route, lower-cased, if it is one we know: the attachment log documents `external`
 * besides inbound, outbound and internal (research §5.3).
 */
export function directionFromRoute(route: unknown): Direction | undefined {
  if (typeof route !== "string") return undefined;
  const r = route.trim().toLowerCase();
  return ROUTES.has(r) ? r as Direction : undefined;
}

function domainOf(address: string | undefined): string {
  if (!address) return "";
  const at = address.lastIndexOf("@");
  if (at < 0) return "";
  const end = address.endsWith(">") ? address.length - 1 : address.length;
  return address.slice(at + 1, end).toLowerCase();
}

function isInternalDomain(address: string | undefined, domains: readonly string[]): boolean {
  const domain = domainOf(address);
  return domain !== "" && domains.some((d) => domain === d || domain.endsWith(`.${d}`));
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** True when the IPv4 address lies in one of the CIDRs. */
export function inNetworks(ip: string | undefined, cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return false;
  const addr = ip === undefined ? undefined : ipv4ToInt(ip);
  if (addr === undefined) return false;
  return cidrs.some((cidr) => {
    const [base, bits] = cidr.split("/");
    const start = ipv4ToInt(base);
    if (start === undefined) return false;
    const size = 2 ** (32 - Number(bits));
    return Math.floor(addr / size) === Math.floor(start / size);
  });
}

/**
 * Infers direction from who sent and who received: both internal → internal, internal sender →
 * outbound, internal recipient → inbound; `fallback` when the scope cannot tell.
 */
export function inferDirection(
  message: { from?: string; to?: string; senderIp?: string; senderInternal?: boolean },
  scope: InternalScope,
  fallback: Direction = "unknown",
): Direction {
  const domains = scope.internalDomains ?? [];
  const networks = scope.internalNetworks ?? [];
  const fromInside = message.senderInternal === true || isInternalDomain(message.from, domains) ||
    inNetworks(message.senderIp, networks);
  const toInside = isInternalDomain(message.to, domains);
  if (fromInside && toInside) return "internal";
  if (fromInside) return "outbound";
  if (toInside) return "inbound";
  return fallback;
}
