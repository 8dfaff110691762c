import { BlockList, isIP } from "node:net";

/** What kind of network an address belongs to; only "public" is reachable without an explicit opt-in. */
export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "unspecified"
  | "multicast"
  | "reserved";

type Family = "ipv4" | "ipv6";

function blocks(entries: [string, number, Family][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of entries) list.addSubnet(network, prefix, family);
  return list;
}

// Ordered: the first class whose list holds the address names it. The IPv6 prefixes that embed an
// IPv4 address (NAT64, 6to4, Teredo, mapped, compatible) are not here: they take the class of the
// IPv4 address they reach (embeddedIpv4 below).
const classes: [Exclude<AddressClass, "public">, BlockList][] = [
  [
    "unspecified",
    blocks([
      ["0.0.0.0", 8, "ipv4"],
      ["::", 128, "ipv6"],
    ]),
  ],
  [
    "loopback",
    blocks([
      ["127.0.0.0", 8, "ipv4"],
      ["::1", 128, "ipv6"],
    ]),
  ],
  [
    "private",
    blocks([
      ["10.0.0.0", 8, "ipv4"],
      ["172.16.0.0", 12, "ipv4"],
      ["192.168.0.0", 16, "ipv4"],
      ["100.64.0.0", 10, "ipv4"], // carrier-grade NAT
      ["fc00::", 7, "ipv6"], // unique local
      ["fec0::", 10, "ipv6"], // site-local (deprecated, still routed inside some networks)
      // Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the site's prefix length,
      // and the prefix only ever reaches the site's own networks.
      ["64:ff9b:1::", 48, "ipv6"],
    ]),
  ],
  [
    "link-local",
    blocks([
      ["169.254.0.0", 16, "ipv4"], // cloud metadata lives here
      ["fe80::", 10, "ipv6"],
    ]),
  ],
  [
    "multicast",
    blocks([
      ["224.0.0.0", 4, "ipv4"],
      ["ff00::", 8, "ipv6"],
    ]),
  ],
  [
    "reserved",
    blocks([
      ["240.0.0.0", 4, "ipv4"],
      ["192.0.0.0", 24, "ipv4"],
      ["192.0.2.0", 24, "ipv4"], // documentation
      ["198.51.100.0", 24, "ipv4"], // documentation
      ["203.0.113.0", 24, "ipv4"], // documentation
      ["198.18.0.0", 15, "ipv4"],
      ["2001:db8::", 32, "ipv6"], // documentation
      ["100::", 64, "ipv6"], // discard-only
    ]),
  ],
];

/**
 * The class of an IP address. An IPv6 address that embeds an IPv4 address (NAT64 64:ff9b::/96, 6to4
 * 2002::/16, Teredo 2001::/32, IPv4-mapped ::ffff:0:0/96, -translated ::ffff:0:0:0/96, -compatible
 * ::/96) is judged by the IPv4 address it reaches: 64:ff9b::a9fe:a9fe is 169.254.169.254.
 */
export function addressClass(address: string): AddressClass {
  const ip = address.replace(/%.*$/, ""); // a zone ("fe80::1%eth0") says nothing about the class
  const family: Family | undefined = isIP(ip) === 4 ? "ipv4" : isIP(ip) === 6 ? "ipv6" : undefined;
  if (family === undefined) throw new Error(`not an IP address: ${address}`);
  const listed = listedClass(ip, family);
  if (listed !== "public" || family === "ipv4") return listed;
  const inner = embeddedIpv4(ipv6Words(ip)).map((v4) => listedClass(v4, "ipv4"));
  return inner.find((kind) => kind !== "public") ?? "public";
}

function listedClass(ip: string, family: Family): AddressClass {
  for (const [name, list] of classes) if (list.check(ip, family)) return name;
  return "public";
}

/** The IPv4 addresses an IPv6 address carries by one of the transition schemes; none for a plain one. */
export function embeddedIpv4(words: readonly number[]): string[] {
  const w = (i: number) => words[i] ?? 0;
  const zeros = (from: number, to: number) => words.slice(from, to).every((word) => word === 0);
  const v4 = (high: number, low: number) => `${high >>> 8}.${high & 0xff}.${low >>> 8}.${low & 0xff}`;
  const last = v4(w(6), w(7));
  if (zeros(0, 5) && w(5) === 0xffff) return [last]; // ::ffff:a.b.c.d, mapped
  if (zeros(0, 4) && w(4) === 0xffff && w(5) === 0) return [last]; // ::ffff:0:a.b.c.d, translated
  if (zeros(0, 6)) return [last]; // ::a.b.c.d, compatible (:: and ::1 are classed before)
  if (w(0) === 0x64 && w(1) === 0xff9b && zeros(2, 6)) return [last]; // 64:ff9b::/96, NAT64
  if (w(0) === 0x2002) return [v4(w(1), w(2))]; // 6to4: the site's IPv4 in bits 16-48
  if (w(0) === 0x2001 && w(1) === 0) {
    // Teredo: the server's IPv4 in bits 32-64, the client's in the last 32 bits, inverted.
    return [v4(w(2), w(3)), v4(w(6) ^ 0xffff, w(7) ^ 0xffff)];
  }
  return [];
}

/** The eight 16-bit words of a valid IPv6 address (checked by isIP), a dotted IPv4 tail included. */
export function ipv6Words(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) =>
    part === "" ? [] : part.split(":").map((word) => Number.parseInt(word, 16));
  const [head = "", tail] = text.split("::");
  if (tail === undefined) return parse(head);
  const before = parse(head);
  const after = parse(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}
