import { describe, expect, it } from "vitest";
import { parseListing, parseTimeVal } from "../../functions/adapters/ftp-listing-parse.js";

const unix = [
  "total 24",
  "drwxr-xr-x   3 ftp  ftp     4096 Jan  2 03:04 .",
  "drwxr-xr-x   3 ftp  ftp     4096 Jan  2 03:04 ..",
  "-rw-r--r--   1 ftp  ftp     1000 Jan  2 03:04 a.csv",
  "drwxr-xr-x   2 ftp  ftp     4096 Jan  2  2023 sub dir",
  "crw-rw-rw-   1 root root    1, 3 Jan  2 03:04 null",
  "brw-rw----   1 root disk    8, 0 Jan  2 03:04 sda",
  "srwxrwxrwx   1 root root       0 Jan  2 03:04 socket",
  "prw-r--r--   1 root root       0 Jan  2 03:04 fifo",
  "lrwxrwxrwx   1 root root       5 Jan  2 03:04 link -> a.csv",
  "",
].join("\r\n");

describe("parseListing", () => {
  it("reads a Unix LIST: only '-' lines are files; devices, sockets, fifos and links are 'other'", () => {
    // Arrange / Act
    const parsed = parseListing(unix, "LIST");

    // Assert
    expect(parsed.badLines).toBe(0);
    expect(parsed.entries.map((e) => [e.name, e.kind, e.size])).toEqual([
      ["a.csv", "file", 1000],
      ["sub dir", "directory", null],
      ["null", "other", null],
      ["sda", "other", null],
      ["socket", "other", null],
      ["fifo", "other", null],
      ["link", "other", null],
    ]);
    expect(parsed.entries[0]).toMatchObject({ modifiedAt: null, modifiedRaw: "Jan  2 03:04" });
  });

  it("reads a DOS/IIS LIST", () => {
    const parsed = parseListing(
      "12-05-96  05:03PM       <DIR>          my dir\r\n01-02-24  03:04AM                 1234 a.csv\r\n",
      "LIST",
    );

    expect(parsed.badLines).toBe(0);
    expect(parsed.entries.map((e) => [e.name, e.kind, e.size])).toEqual([
      ["my dir", "directory", null],
      ["a.csv", "file", 1234],
    ]);
  });

  it("counts lines of no known format and keeps the first, rather than dropping them", () => {
    const text = `${unix}ls: cannot access '/tree/sub': No such file or directory\r\nGARBAGE\r\n`;

    const parsed = parseListing(text, "LIST");

    expect(parsed.badLines).toBe(2);
    expect(parsed.firstBadLine).toBe("ls: cannot access '/tree/sub': No such file or directory");
  });

  it("takes a listing in one dialect only: a DOS line among Unix lines is a bad line", () => {
    const parsed = parseListing(`${unix}01-02-24  03:04AM  1234 dos.csv\r\n`, "LIST");

    expect(parsed.badLines).toBe(1);
  });

  it("reads MLSD facts, every one optional: no size is null (unknown), never 0", () => {
    const text = [
      "type=cdir;modify=20240102030405; /tree",
      "type=pdir;modify=20240102030405; ..",
      "type=file;size=42;modify=20240102030405.5;unique=801g1; a b.csv",
      "type=file;modify=20240102030405; no-size.bin",
      "Type=File;Size=7; upper.txt",
      "type=dir;sizd=4096;modify=20240102030405; sub",
      "type=OS.unix=slink:/etc; link",
      "size=1; untyped",
      "type=file;size=12;modify=20241302030405; bad-date",
    ].join("\r\n");

    const parsed = parseListing(text, "MLSD");

    expect(parsed.badLines).toBe(0);
    expect(parsed.entries.map((e) => [e.name, e.kind, e.size, e.modifiedAt?.toISOString() ?? null])).toEqual([
      ["a b.csv", "file", 42, "2024-01-02T03:04:05.500Z"],
      ["no-size.bin", "file", null, "2024-01-02T03:04:05.000Z"],
      ["upper.txt", "file", 7, null],
      ["sub", "directory", null, "2024-01-02T03:04:05.000Z"],
      ["link", "other", null, null],
      ["untyped", "other", null, null],
      ["bad-date", "file", 12, null],
    ]);
    // The unique fact, where given, lets the mirror recognise a directory it has listed before.
    expect(parsed.entries.map((e) => e.unique ?? null)).toEqual([
      "801g1",
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it.each([
    ["no space between facts and name", "type=file;size=1;name"],
    ["a size that is not a number", "type=file;size=-1; neg"],
    ["a fact without '='", "type=file;junk; x"],
    ["a name with '/'", "type=file;size=1; ../../etc/passwd"],
    ["a name with NUL", "type=file;size=1; a\u0000b"],
  ])("takes an MLSD line with %s as bad", (_why, line) => {
    const parsed = parseListing(`type=file;size=1; ok\r\n${line}\r\n`, "MLSD");

    expect(parsed.badLines).toBe(1);
    expect(parsed.firstBadLine).toBe(line);
    expect(parsed.entries.map((e) => e.name)).toEqual(["ok"]);
  });

  it("gives a size past 2^53 as unknown rather than rounded", () => {
    const parsed = parseListing("type=file;size=99999999999999999999; huge\r\n", "MLSD");

    expect(parsed.entries[0]?.size).toBeNull();
  });

  it("stops reading when the caller says so", () => {
    const text = Array.from({ length: 10 }, (_, i) => `type=file;size=1; f${i}`).join("\r\n");

    const parsed = parseListing(text, "MLSD", (count) => count < 3);

    expect(parsed.entries).toHaveLength(3);
  });
});

describe("parseTimeVal", () => {
  it.each([
    ["20240102030405", "2024-01-02T03:04:05.000Z"],
    ["20240229235959.123", "2024-02-29T23:59:59.123Z"],
    ["20230229000000", null],
    ["2024010203040", null],
    ["20240102030460", null],
  ])("%s -> %s", (value, iso) => {
    expect(parseTimeVal(value)?.toISOString() ?? null).toBe(iso);
  });
});
