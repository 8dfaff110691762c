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

function blocks(entries: [string, number, "ipv4" | "ipv6"][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of entries) list.addSubnet(network, prefix, family);
  return list;
}

// Ordered: the first class whose list holds the address names it.
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
    ]),
  ],
  [
    "link-local",
    blocks([
      ["169.254.0.0", 16, "ipv4"],
      ["fe80::", 10, "ipv6"],
    ]),
  ], // cloud metadata lives here
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
      ["198.18.0.0", 15, "ipv4"],
      ["64:ff9b::", 96, "ipv6"], // NAT64: would reach any IPv4 address, private ones too
    ]),
  ],
];

/** The class of an IP address; an IPv4-mapped IPv6 address is judged by its IPv4 address. */
export function addressClass(address: string): AddressClass {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped?.[1] ?? address;
  const family = isIP(ip) === 4 ? "ipv4" : isIP(ip) === 6 ? "ipv6" : undefined;
  if (family === undefined) throw new Error(`not an IP address: ${address}`);
  for (const [name, list] of classes) if (list.check(ip, family)) return name;
  return "public";
}
