import { Crc64Nvme } from "@aws-sdk/crc64-nvme";
import { describe, expect, it } from "vitest";
import { crc64nvme } from "../../functions/adapters/crc64nvme.js";
import {
  offeredDigests,
  parseHashReply,
  parseXDigestReply,
} from "../../functions/adapters/ftp-digest-replies.js";
import { chooseServerDigest } from "../../functions/core/source-digest.js";

const hex64 = "0123456789abcdef".repeat(4);

describe("the server's digest commands, read from FEAT", () => {
  it("takes HASH's algorithms (the * marks the selected one) before the X commands, strongest first", () => {
    const features = new Map([
      ["HASH", "MD5;SHA-256*;CRC32"],
      ["XSHA1", ""],
      ["XMD5", ""],
      ["SIZE", ""],
    ]);
    expect(offeredDigests(features)).toEqual([
      { algorithm: "sha-256", verb: "HASH", name: "SHA-256", selected: true },
      { algorithm: "sha-1", verb: "XSHA1" },
      { algorithm: "md5", verb: "HASH", name: "MD5", selected: false },
      { algorithm: "crc32", verb: "HASH", name: "CRC32", selected: false },
    ]);
  });

  it("offers nothing without HASH or an X command, and ignores algorithms it does not know", () => {
    expect(offeredDigests(new Map([["SIZE", ""]]))).toEqual([]);
    expect(offeredDigests(new Map([["HASH", "SHA-512;BLAKE2"]]))).toEqual([]);
  });
});

describe("parseHashReply (draft-bryan-ftp-hash: <algorithm> <start>-<end> <hex> <path>)", () => {
  it("reads the digest of the whole file, in lower case", () => {
    expect(
      parseHashReply(`SHA-256 0-1234 ${hex64.toUpperCase()} /out/a b.bin`, "sha-256", "SHA-256"),
    ).toEqual({
      algorithm: "sha-256",
      value: hex64,
    });
  });

  it.each([
    ["another algorithm", `MD5 0-10 ${"a".repeat(32)} /f`, "MD5, not the SHA-256"],
    ["a range not from byte 0", `SHA-256 5-10 ${hex64} /f`, "from 5"],
    ["a digest of the wrong length", "SHA-256 0-10 abcdef /f", "6 hex digits"],
    ["prose", "File hashed successfully", "does not parse"],
  ])("takes %s as no digest, saying why", (_, text, why) => {
    const verdict = parseHashReply(text, "sha-256", "SHA-256");
    expect(verdict).toEqual({ unavailable: expect.stringContaining(why) });
  });
});

describe("parseXDigestReply (XSHA256, XSHA1, XMD5, XCRC: formats vary)", () => {
  it.each([
    [`${"A".repeat(32)}`, "md5", "a".repeat(32)],
    [`${"b".repeat(40)} /out/file.bin`, "sha-1", "b".repeat(40)],
    [`SHA256 ${hex64}`, "sha-256", hex64],
    ["1a2b3c4d", "crc32", "1a2b3c4d"],
  ] as const)("reads %s as %s", (text, algorithm, value) => {
    expect(parseXDigestReply(text, algorithm)).toEqual({ algorithm, value });
  });

  it("takes no word, two candidates, or a decimal CRC as no digest", () => {
    expect(parseXDigestReply("OK", "md5")).toHaveProperty("unavailable");
    expect(parseXDigestReply(`${"a".repeat(32)} ${"b".repeat(32)}`, "md5")).toHaveProperty("unavailable");
    expect(parseXDigestReply("3735928559", "crc32")).toHaveProperty("unavailable");
  });
});

describe("chooseServerDigest", () => {
  it("takes the strongest, computing a digest of its own for one that is not the SHA-256", () => {
    expect(chooseServerDigest(["md5", "crc32"], 0)).toMatchObject({
      algorithm: "md5",
      extra: expect.any(Object),
    });
    expect(chooseServerDigest(["sha-256", "md5"], 0)).toEqual({ algorithm: "sha-256", extra: null });
  });

  it("uses only the SHA-256 for a resumed leg: the others' states did not cross the legs", () => {
    expect(chooseServerDigest(["sha-256"], 5_242_880)).toEqual({ algorithm: "sha-256", extra: null });
    expect(chooseServerDigest(["md5"], 5_242_880)).toEqual({
      why: expect.stringContaining("only a SHA-256 covers the earlier legs' bytes"),
    });
  });
});

describe("crc64nvme: the value is the state", () => {
  it("goes on from a saved value to the CRC64NVME of the whole, as the SDK computes it in one go", async () => {
    const data = Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 31) % 256));
    const whole = new Crc64Nvme();
    whole.update(data);
    const expected = Buffer.from(await whole.digest()).toString("base64");

    const first = crc64nvme();
    first.update(data.subarray(0, 65_536));
    const second = crc64nvme(await first.value());
    second.update(data.subarray(65_536));

    expect(await second.value()).toBe(expected);
  });
});
