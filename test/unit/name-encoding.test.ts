import { describe, expect, it } from "vitest";
import {
  escapedName,
  isUtf8Encoding,
  nameCodecFor,
  readableEntries,
  utf8Names,
} from "../../functions/adapters/name-encoding.js";
import { serverEncodingProblem } from "../../functions/contracts/server-encoding.js";
import type { RemoteEntry } from "../../functions/core/index.js";
import { InvalidInputError } from "../../functions/core/index.js";

/** A name's bytes as basic-ftp reads them with "latin1": one character per byte. */
const wire = (...bytes: number[]) => Buffer.from(bytes).toString("latin1");
const file = (name: string): RemoteEntry => ({
  name,
  kind: "file",
  size: 1,
  modifiedAt: null,
  modifiedRaw: null,
});

describe("the server's name encoding", () => {
  it("accepts what iconv-lite knows and writes ASCII as ASCII; refuses the rest in one line", () => {
    // Arrange / Act / Assert
    for (const name of [
      "utf8",
      "UTF-8",
      "latin1",
      "ISO-8859-1",
      "windows-1252",
      "cp1252",
      "shift_jis",
      "gbk",
    ]) {
      expect(serverEncodingProblem(name), name).toBeUndefined();
    }
    expect(serverEncodingProblem("klingon")).toMatch(/^unknown encoding "klingon" \(e\.g\. utf8, latin1/);
    for (const name of ["utf16le", "utf7", "base64", "hex", "utf32"]) {
      expect(serverEncodingProblem(name), name).toMatch(/does not write ASCII as ASCII/);
    }
  });

  it("keeps a UTF-8 server on basic-ftp's own strings", async () => {
    expect(isUtf8Encoding("UTF-8")).toBe(true);
    expect(isUtf8Encoding("utf_8")).toBe(true);
    expect(isUtf8Encoding("latin1")).toBe(false);
    expect(await nameCodecFor("utf-8")).toBe(utf8Names);
    const entries = [file("café.txt")];
    expect(readableEntries(entries, utf8Names)).toBe(entries);
  });

  it("turns the server's bytes into UTF-8 and back, byte for byte (Latin-1, Windows-1252, Shift-JIS, GBK)", async () => {
    // Arrange
    const cases: [string, number[], string][] = [
      ["latin1", [0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74], "café.txt"],
      ["windows-1252", [0x80, 0x75, 0x72, 0x6f, 0x2e, 0x63, 0x73, 0x76], "€uro.csv"],
      ["shift_jis", [0x82, 0xa0, 0x2e, 0x74, 0x78, 0x74], "あ.txt"],
      ["gbk", [0xd6, 0xd0, 0xce, 0xc4, 0x2e, 0x74, 0x78, 0x74], "中文.txt"],
    ];
    for (const [encoding, bytes, text] of cases) {
      // Act
      const names = await nameCodecFor(encoding);

      // Assert
      expect(names.clientEncoding).toBe("latin1");
      expect(names.fromWire(wire(...bytes)), encoding).toBe(text);
      expect(Buffer.from(names.toWire(`/in/${text}`), "latin1")).toEqual(
        Buffer.concat([Buffer.from("/in/"), Buffer.from(bytes)]),
      );
    }
  });

  it("refuses a name whose bytes are not valid in the encoding, found by the round trip, not by guessing", async () => {
    const sjis = await nameCodecFor("shift_jis");
    const cp1252 = await nameCodecFor("windows-1252");

    // A lead byte without its second byte; 0x81 is no character in Windows-1252.
    expect(sjis.fromWire(wire(0x82, 0x2e, 0x74, 0x78, 0x74))).toBeUndefined();
    expect(cp1252.fromWire(wire(0x81, 0x61))).toBeUndefined();
    // A real "?" and a real U+FFFD are names like any other.
    expect(cp1252.fromWire("a?.txt")).toBe("a?.txt");
    expect((await nameCodecFor("gbk")).fromWire(wire(0xa1, 0xa1))).toBe("\u3000");
  });

  it("refuses a path with a character the encoding cannot represent: INVALID_INPUT naming it", async () => {
    const latin1 = await nameCodecFor("latin1");

    expect(() => latin1.toWire("/in/☃.txt")).toThrow(InvalidInputError);
    expect(() => latin1.toWire("/in/☃.txt")).toThrow(
      '"/in/☃.txt" has "☃" (U+2603), which latin1 (the server\'s name encoding) cannot represent',
    );
    // "?" is what iconv-lite writes for the unrepresentable: a real one still goes through.
    expect(latin1.toWire("/in/what?.txt")).toBe("/in/what?.txt");
  });

  it("names an undecodable entry by its bytes, escaped and in hex, and says why", async () => {
    // Arrange
    const sjis = await nameCodecFor("shift_jis");
    const entries = [file(wire(0x82, 0xa0, 0x2e, 0x74)), file(wire(0x62, 0x61, 0x64, 0x82, 0x5c))];

    // Act
    const read = readableEntries(entries, sjis);

    // Assert
    expect(read[0]).toEqual(file("あ.t"));
    expect(read[1]).toEqual({
      ...file("bad\\x82\\\\"),
      unreadableName:
        "the name's bytes (62 61 64 82 5c) are not valid shift_jis, the server's name encoding: not copied",
    });
  });

  it("escapes without ambiguity: printable ASCII as it is, '\\' doubled, other bytes as \\xHH", () => {
    expect(escapedName(wire(0x63, 0x61, 0x66, 0xe9))).toBe("caf\\xe9");
    expect(escapedName("a\\xe9")).toBe("a\\\\xe9");
    expect(escapedName(wire(0x0a, 0x7f, 0x20))).toBe("\\x0a\\x7f ");
  });
});
