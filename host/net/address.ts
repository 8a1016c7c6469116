/**
 * Addresses as numbers: IPv4 and IPv6 text read into bytes, and what kind of place each one is
 * (loopback, private, link-local, cloud metadata, ...), for the rules of SPEC §5.6. The text comes
 * from a WHATWG `URL` (which already turned `2130706433`, `0x7f.1` and `017700000001` into
 * `127.0.0.1`) or from DNS answers, so only the canonical forms need reading.
 * @module
 */

/** What an address is, as far as the rules on where traffic may go care. */
export type AddressKind =
  | "public"
  | "private"
  | "loopback"
  | "link-local"
  | "metadata"
  | "unspecified"
  | "multicast"
  | "reserved";

/** An address with its kind; `address` is the IPv4 inside an IPv6 form that carries one. */
export interface Classified {
  kind: AddressKind;
  address: string;
}

/** A URL's host as the rules see it: lower case, no IPv6 brackets, no trailing dots. */
export function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.+$/, "");
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function parseIpv6(text: string): number[] | undefined {
  if (!text.includes(":") || text.includes("%")) return undefined;
  let head = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) { // an IPv4 in the last 32 bits
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail.push(v4[0] << 8 | v4[1], v4[2] << 8 | v4[3]);
    head = text.slice(0, lastColon + 1) + "0"; // placeholder group, dropped below
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  if (tail.length > 0) (halves.length === 2 ? right : left).pop();
  if (![...left, ...right].every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const known = left.length + right.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const words = [
    ...left.map((g) => parseInt(g, 16)),
    ...Array(8 - known).fill(0),
    ...right.map((g) => parseInt(g, 16)),
    ...tail,
  ];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

function classifyIpv4([a, b, c, d]: number[]): AddressKind {
  if (a === 0) return "unspecified"; // 0.0.0.0/8: Linux connects 0.x to the host itself
  if (a === 127) return "loopback";
  if (a === 169 && b === 254) return c === 169 && d === 254 ? "metadata" : "link-local";
  if (a === 100 && b === 100 && c === 100 && d === 200) return "metadata"; // Alibaba Cloud
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "private";
  if (a === 100 && b >= 64 && b <= 127) return "private"; // carrier-grade NAT
  if (a >= 224 && a <= 239) return "multicast";
  if (a >= 240) return "reserved"; // includes 255.255.255.255, broadcast
  return "public";
}

/** The IPv4 address an IPv6 form carries: mapped, compatible, NAT64 (64:ff9b::/96) or 6to4. */
function embeddedIpv4(bytes: number[]): number[] | undefined {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  if (zeros(0, 12) && !(zeros(12, 15) && bytes[15] <= 1)) return bytes.slice(12); // ::a.b.c.d
  if (
    bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)
  ) {
    return bytes.slice(12);
  }
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  return undefined;
}

function classifyIpv6(bytes: number[]): AddressKind {
  if (bytes.every((b) => b === 0)) return "unspecified";
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return "loopback";
  if (bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80) return "link-local"; // fe80::/10
  if (bytes[0] === 0xff) return "multicast";
  const awsMetadata = [0xfd, 0, 0x0e, 0xc2, ...Array(10).fill(0), 0x02, 0x54]; // fd00:ec2::254
  if (bytes.every((b, i) => b === awsMetadata[i])) return "metadata";
  if ((bytes[0] & 0xfe) === 0xfc) return "private"; // fc00::/7, unique local
  if (bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0xc0) return "private"; // fec0::/10, site-local
  return "public";
}

/** Reads an IP address (IPv4 dotted, or IPv6 with or without brackets); undefined for a name. */
export function classifyAddress(text: string): Classified | undefined {
  const bare = text.replace(/^\[|\]$/g, "");
  const v4 = parseIpv4(bare);
  if (v4) return { kind: classifyIpv4(v4), address: v4.join(".") };
  const v6 = parseIpv6(bare);
  if (!v6) return undefined;
  const inner = embeddedIpv4(v6);
  if (inner) {
    const kind = classifyIpv4(inner);
    // A public IPv4 inside an IPv6 form is reached as that IPv6 address: report it as given.
    return kind === "public" ? { kind, address: bare } : { kind, address: inner.join(".") };
  }
  return { kind: classifyIpv6(v6), address: bare };
}

const METADATA_NAMES = new Set([
  "metadata.google.internal",
  "metadata.goog",
  "metadata",
  "instance-data",
  "instance-data.ec2.internal",
]);

/** What a host name is known to be without asking DNS: loopback names and metadata names. */
export function classifyName(host: string): Classified | undefined {
  if (host === "localhost" || host.endsWith(".localhost")) {
    return { kind: "loopback", address: host };
  }
  if (METADATA_NAMES.has(host)) return { kind: "metadata", address: host };
  return undefined;
}

/** The rules for one request: may it reach loopback, and private addresses? */
export interface AddressRule {
  allowLoopback: boolean;
  allowPrivate: boolean;
}

/** Kinds no request may ever reach, whatever the settings. */
const NEVER: Partial<Record<AddressKind, string>> = {
  "link-local": "link-local",
  metadata: "the cloud metadata address",
  unspecified: "the unspecified address",
  multicast: "multicast",
  reserved: "the reserved address",
};

/** Why an address may not be reached under a rule ("loopback 127.0.0.1, allowed only ..."). */
export function addressProblem(found: Classified, rule: AddressRule): string | undefined {
  const never = NEVER[found.kind];
  if (never) return `${never} ${found.address}, never allowed`;
  if (found.kind === "loopback" && !rule.allowLoopback) {
    return `loopback ${found.address}, allowed only with HOST_ALLOW_LOOPBACK=1`;
  }
  if (found.kind === "private" && !rule.allowPrivate) {
    return `private ${found.address}, allowed for a plugin only when its manifest's permissions.net names this host`;
  }
  return undefined;
}

/** True when two texts name the same IP address (`::1` and `0:0:0:0:0:0:0:1`). */
export function sameAddress(a: string, b: string): boolean {
  const bytes = (text: string) => {
    const bare = text.replace(/^\[|\]$/g, "");
    return parseIpv4(bare) ?? parseIpv6(bare);
  };
  const [x, y] = [bytes(a), bytes(b)];
  return x !== undefined && y !== undefined && x.join() === y.join();
}
