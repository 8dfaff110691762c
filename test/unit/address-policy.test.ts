import { describe, expect, it } from "vitest";
import { resolveAllowedAddress } from "../../functions/adapters/host-resolution.js";
import { addressClass } from "../../functions/core/address-policy.js";

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
    ["64:ff9b::a00:1", "reserved"],
  ])("%s is %s", (address, kind) => {
    expect(addressClass(address)).toBe(kind);
  });
});

describe("resolveAllowedAddress", () => {
  const lookupTo =
    (...addresses: string[]) =>
    async () =>
      addresses.map((address) => ({ address }));

  it("returns the first address of a public host, to be connected to as it is", async () => {
    await expect(
      resolveAllowedAddress("c", "ftp.example.com", false, lookupTo("203.0.113.7", "10.0.0.1")),
    ).resolves.toBe("203.0.113.7");
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
