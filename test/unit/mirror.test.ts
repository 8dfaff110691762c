import { describe, expect, it } from "vitest";
import { keyFor, planMirror, unsafeNameReason } from "../../functions/core/mirror.js";
import {
  parseManifest,
  provenUnchanged,
  serializeManifest,
  versionOf,
} from "../../functions/core/mirror-manifest.js";
import { normaliseRemotePath } from "../../functions/core/paths.js";
import type { FileSource, RemoteEntry } from "../../functions/core/ports.js";
import { readOnlyChanges } from "../support/memory-source.js";

const file = (name: string): RemoteEntry => ({
  name,
  kind: "file",
  size: 1,
  modifiedAt: null,
  modifiedRaw: null,
});
const dir = (name: string): RemoteEntry => ({
  name,
  kind: "directory",
  size: null,
  modifiedAt: null,
  modifiedRaw: null,
});

function listingSource(tree: Record<string, RemoteEntry[] | Error>): FileSource {
  return {
    urlOf: (p) => `ftp://h${p}`,
    ...readOnlyChanges,
    list: async (d) => {
      const entries = tree[d];
      if (entries === undefined) throw new Error(`no listing for ${d}`);
      if (entries instanceof Error) throw entries;
      return entries;
    },
    stat: async () => ({ size: null, modifiedAt: null }),
    download: async () => ({ code: 226, message: "" }),
    close: () => {},
  };
}

describe("mirror planning", () => {
  const tree = {
    "/data": [
      file("a.csv"),
      file("b.txt"),
      dir("2026"),
      dir("tmp"),
      { ...file("link"), kind: "other" as const },
    ],
    "/data/2026": [file("jan.csv"), file("dir with space ü.csv")],
    "/data/tmp": [file("partial.csv")],
  };

  it("walks the tree and maps each file below the prefix by its relative path", async () => {
    const plan = await planMirror(listingSource(tree), {
      remoteDir: normaliseRemotePath("/data"),
      keyPrefix: "in/",
      include: ["**/*.csv"],
      exclude: ["tmp/**"],
      recursive: true,
    });

    expect(plan.files.map((f) => [f.path, f.key])).toEqual([
      ["/data/a.csv", "in/a.csv"],
      ["/data/2026/jan.csv", "in/2026/jan.csv"],
      ["/data/2026/dir with space ü.csv", "in/2026/dir with space ü.csv"],
    ]);
    expect(plan).toMatchObject({ listed: 8, excluded: 2 });
    expect(plan.skipped).toEqual([
      { path: "/data/link", reason: "not a regular file (a link or a special file)" },
    ]);
  });

  it("does not descend without recursive, and says so", async () => {
    const plan = await planMirror(listingSource(tree), {
      remoteDir: normaliseRemotePath("/data"),
      keyPrefix: "",
      include: [],
      exclude: [],
      recursive: false,
    });

    expect(plan.files.map((f) => f.key)).toEqual(["a.csv", "b.txt"]);
    expect(plan.skipped.map((s) => s.reason)).toContain("a directory (recursive is off)");
  });

  it.each(["..", ".", "../etc/passwd", "/etc/passwd", "a\r\nDELE b", ""])(
    "never follows a listed name like %j",
    async (name) => {
      const plan = await planMirror(listingSource({ "/data": [file(name), dir(name)] }), {
        remoteDir: normaliseRemotePath("/data"),
        keyPrefix: "in/",
        include: [],
        exclude: [],
        recursive: true,
      });

      expect(plan.files).toEqual([]);
      expect(plan.skipped).toHaveLength(2);
      expect(unsafeNameReason(name)).toBeDefined();
    },
  );

  it("holds a directory whose entry would make a path too long to send, and copies nothing from it", async () => {
    // Arrange: a name that brings the path past the 4096 characters a remote path may have.
    const long = "x".repeat(4100);
    const source = listingSource({ "/data": [file(long), file("ok.csv")] });
    const request = {
      remoteDir: normaliseRemotePath("/data"),
      keyPrefix: "",
      include: [],
      exclude: [],
      recursive: true,
    };

    // Act
    const plan = await planMirror(source, request);

    // Assert: the other file is planned; the directory is not seen in full, so nothing below it is deleted.
    expect(plan.files.map((f) => f.key)).toEqual(["ok.csv"]);
    expect(plan.unlisted).toEqual([
      expect.objectContaining({ path: "/data", relative: "", code: "INVALID_INPUT" }),
    ]);
  });

  it("records a subdirectory whose listing fails and goes on; fails when the top directory cannot be listed", async () => {
    const source = listingSource({
      "/data": [dir("locked"), file("ok.csv")],
      "/data/locked": new Error("550 denied"),
    });
    const request = {
      remoteDir: normaliseRemotePath("/data"),
      keyPrefix: "",
      include: [],
      exclude: [],
      recursive: true,
    };

    const plan = await planMirror(source, request);
    expect(plan.files.map((f) => f.key)).toEqual(["ok.csv"]);
    expect(plan.unlisted).toEqual([
      { path: "/data/locked", relative: "locked", code: "UNEXPECTED", message: "listing failed: 550 denied" },
    ]);

    await expect(
      planMirror(source, { ...request, remoteDir: normaliseRemotePath("/missing") }),
    ).rejects.toThrow("no listing for /missing");
  });

  it("builds keys that S3 accepts, or refuses them", () => {
    expect(keyFor("p/", "a/b.csv")).toBe("p/a/b.csv");
    expect(() => keyFor("p/", "x".repeat(1100))).toThrow(/more than S3's 1024/);
  });
});

describe("the mirror manifest", () => {
  const source = "ftp://h/data";
  const recorded = { size: 10, version: "2026-01-01T00:00:00.000Z", etag: "e1" };

  it("proves a file unchanged only when size, version and the object's ETag all agree", () => {
    const file = { size: 10, version: "2026-01-01T00:00:00.000Z" };
    const listed = { key: "k", size: 10, etag: "e1" };

    expect(provenUnchanged(file, recorded, listed)).toBe(true);
    expect(provenUnchanged({ ...file, size: 11 }, recorded, listed)).toBe(false);
    expect(provenUnchanged({ ...file, version: "2026-01-02T00:00:00.000Z" }, recorded, listed)).toBe(false);
    expect(provenUnchanged(file, recorded, { ...listed, etag: "replaced-by-someone" })).toBe(false);
    expect(provenUnchanged(file, recorded, undefined)).toBe(false); // the object is gone
    expect(provenUnchanged(file, undefined, listed)).toBe(false);
    expect(provenUnchanged({ size: 10, version: null }, recorded, listed)).toBe(false); // no date: no proof
  });

  it("ignores a manifest that is unreadable or about another source", () => {
    const stored = serializeManifest({ source, entries: { a: recorded } });

    expect(parseManifest(stored, source).entries).toEqual({ a: recorded });
    expect(parseManifest(stored, "ftp://other/data").entries).toEqual({});
    expect(parseManifest("{oops", source).entries).toEqual({});
    expect(parseManifest(null, source).entries).toEqual({});
  });

  it("keeps only well-formed sightings: a forged or damaged one is dropped, never read as old", () => {
    const since = "2026-06-01T12:00:00.000Z";
    const stored = JSON.stringify({
      format: 1,
      source,
      entries: {},
      waiting: {
        good: { size: 3, version: null, since },
        noDate: { size: 3, version: null, since: "long ago" },
        badSize: { size: -1, version: null, since },
        notAnObject: "x",
      },
    });

    expect(parseManifest(stored, source).waiting).toEqual({ good: { size: 3, version: null, since } });
    expect(
      parseManifest(JSON.stringify({ format: 1, source, entries: {}, waiting: [] }), source).waiting,
    ).toBe(undefined);
  });

  it("stores entries compactly (format 2) and reads each back as it was, an afterCopy mark and a LIST date included", () => {
    const entries = {
      "a.csv": recorded,
      "b.csv": { size: 0, version: "Jun 01 12:00", etag: '"e2"', afterCopy: "pending" as const },
      "c.csv": { size: 7, version: "2026-01-01T00:00:00Z", etag: "e3", afterCopy: "done" as const },
    };
    const stored = serializeManifest({ source, entries });

    expect(JSON.parse(stored).entries).toEqual({
      "a.csv": [10, Date.parse("2026-01-01T00:00:00.000Z"), "e1"],
      "b.csv": [0, "Jun 01 12:00", '"e2"', "pending"],
      "c.csv": [7, "2026-01-01T00:00:00Z", "e3", "done"], // not the ISO text a Date gives back: kept as written
    });
    expect(parseManifest(stored, source).entries).toEqual(entries);
  });

  it("drops a format 2 entry that does not read as one a run wrote: its file is checked, never trusted", () => {
    const stored = JSON.stringify({
      format: 2,
      source,
      entries: {
        good: [10, 1767225600000, "e1"],
        noEtag: [10, 1767225600000],
        badSize: [-1, 1767225600000, "e1"],
        badTime: [10, 1e300, "e1"],
        badMark: [10, "x", "e1", "later"],
        notAnArray: { size: 10, version: "x", etag: "e1" },
      },
    });

    expect(parseManifest(stored, source).entries).toEqual({ good: recorded });
  });

  it("serialises entries in key order, so an unchanged manifest is not written again", () => {
    const one = serializeManifest({ source, entries: { b: recorded, a: recorded } });
    const two = serializeManifest({ source, entries: { a: recorded, b: recorded } });

    expect(one).toBe(two);
  });

  it("takes the parsed time as the version, else the listing's date as written", () => {
    expect(versionOf({ modifiedAt: new Date("2026-01-01T00:00:00Z"), modifiedRaw: "Jan  1 00:00" })).toBe(
      "2026-01-01T00:00:00.000Z",
    );
    expect(versionOf({ modifiedAt: null, modifiedRaw: "Jan  1 00:00" })).toBe("Jan  1 00:00");
    expect(versionOf({ modifiedAt: null, modifiedRaw: null })).toBeNull();
  });

  it("keeps its own name out of the mirror", () => {
    expect(unsafeNameReason(".ftp2s3-manifest.json")).toMatch(/mirror manifest/);
  });
});
