import { describe, expect, it } from "vitest";
import { resolveAllowedAddress } from "../../functions/adapters/host-resolution.js";
import { addressClass, embeddedIpv4, ipv6Words } from "../../functions/core/address-policy.js";

describe("addressClass", () => {
  it.each([
    ["8.8.8.8", "public"],
    ["2606:4700:4700::1111", "public"],
    ["127.0.0.1", "loopback"],
    ["127.8.9.10", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", "public"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["fd12:3456::1", "private"],
    ["169.254.169.254", "link-local"],
    ["fe80::1", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["240.0.0.1", "reserved"],
    ["203.0.113.7", "reserved"],
    ["fec0::1", "private"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "reserved"],
    ["2001:db9::1", "public"],
  ])("%s is %s", (address, kind) => {
    expect(addressClass(address)).toBe(kind);
  });

  // Each transition scheme, refused by the internal IPv4 address it carries and allowed by a public one.
  it.each([
    ["NAT64", "64:ff9b::a9fe:a9fe", "link-local", "64:ff9b::808:808"],
    ["NAT64 dotted", "64:ff9b::10.0.0.1", "private", "64:ff9b::8.8.4.4"],
    ["local-use NAT64", "64:ff9b:1:0:808:8:800::", "private", "64:ff9b:2::808:808"],
    ["6to4", "2002:a9fe:a9fe::1", "link-local", "2002:808:808::1"],
    ["6to4 loopback", "2002:7f00:1::", "loopback", "2002:4136:e378::"],
    // Teredo: server 65.54.227.120 (public), client 127.0.0.1 stored inverted as 80ff:fffe.
    ["Teredo client", "2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback", undefined],
    [
      "Teredo server",
      "2001:0:a9fe:a9fe:8000:63bf:3fff:fdd2",
      "link-local",
      "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
    ],
    ["IPv4-mapped", "::ffff:a9fe:a9fe", "link-local", "::ffff:8.8.8.8"],
    ["IPv4-translated", "::ffff:0:7f00:1", "loopback", "::ffff:0:808:808"],
    ["IPv4-compatible", "::a9fe:a9fe", "link-local", "::8.8.8.8"],
  ])("%s: %s is %s", (_scheme, refused, kind, allowed) => {
    expect(addressClass(refused)).toBe(kind);
    if (allowed !== undefined) expect(addressClass(allowed)).toBe("public");
  });

  it("reads the IPv4 address each scheme embeds", () => {
    expect(embeddedIpv4(ipv6Words("64:ff9b::a9fe:a9fe"))).toEqual(["169.254.169.254"]);
    expect(embeddedIpv4(ipv6Words("2002:c0a8:101::"))).toEqual(["192.168.1.1"]);
    expect(embeddedIpv4(ipv6Words("2001:0:4136:e378:8000:63bf:3fff:fdd2"))).toEqual([
      "65.54.227.120",
      "192.0.2.45",
    ]);
    expect(embeddedIpv4(ipv6Words("2606:4700:4700::1111"))).toEqual([]);
  });

  it("ignores a zone", () => {
    expect(addressClass("fe80::1%eth0")).toBe("link-local");
  });
});

describe("resolveAllowedAddress", () => {
  const lookupTo =
    (...addresses: string[]) =>
    async () =>
      addresses.map((address) => ({ address }));

  it("returns the first address of a public host, to be connected to as it is", async () => {
    await expect(
      resolveAllowedAddress("c", "ftp.example.com", false, lookupTo("8.8.8.8", "2606:4700:4700::1111")),
    ).resolves.toBe("8.8.8.8");
  });

  it("refuses a host when any of its addresses is internal, not only the first", async () => {
    await expect(
      resolveAllowedAddress("c", "ftp.example.com", false, lookupTo("8.8.8.8", "64:ff9b::a9fe:a9fe")),
    ).rejects.toMatchObject({
      code: "NOT_ALLOWED",
      message: expect.stringContaining("ftp.example.com (64:ff9b::a9fe:a9fe) is a link-local address"),
    });
  });

  it.each([
    ["files.internal", ["10.0.0.5"], 'connection "c": files.internal (10.0.0.5) is a private address'],
    ["metadata", ["169.254.169.254"], "metadata (169.254.169.254) is a link-local address"],
    ["127.0.0.1", [], 'connection "c": 127.0.0.1 is a loopback address; set "allowPrivateAddresses": true'],
  ])("refuses %s unless the connection allows private addresses", async (host, addresses, message) => {
    await expect(resolveAllowedAddress("c", host, false, lookupTo(...addresses))).rejects.toMatchObject({
      code: "NOT_ALLOWED",
      message: expect.stringContaining(message),
    });
    await expect(resolveAllowedAddress("c", host, true, lookupTo(...addresses))).resolves.toBe(
      addresses[0] ?? host,
    );
  });

  it("says when the name does not resolve", async () => {
    const failing = async () => {
      throw new Error("getaddrinfo ENOTFOUND nowhere.invalid");
    };
    await expect(resolveAllowedAddress("c", "nowhere.invalid", false, failing)).rejects.toMatchObject({
      code: "FTP_CONNECTION",
      message: 'connection "c": cannot resolve nowhere.invalid: getaddrinfo ENOTFOUND nowhere.invalid',
    });
  });
});
