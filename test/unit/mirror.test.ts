import { describe, expect, it } from "vitest";
import { keyFor, planMirror, unsafeNameReason } from "../../functions/core/mirror.js";
import type { FileSource, RemoteEntry } from "../../functions/core/ports.js";

const file = (name: string): RemoteEntry => ({ name, kind: "file", size: 1, modifiedAt: null });
const dir = (name: string): RemoteEntry => ({ name, kind: "directory", size: null, modifiedAt: null });

function listingSource(tree: Record<string, RemoteEntry[] | Error>): FileSource {
  return {
    urlOf: (p) => `ftp://h${p}`,
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
      remoteDir: "/data",
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
      remoteDir: "/data",
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
        remoteDir: "/data",
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

  it("records a subdirectory whose listing fails and goes on; fails when the top directory cannot be listed", async () => {
    const source = listingSource({
      "/data": [dir("locked"), file("ok.csv")],
      "/data/locked": new Error("550 denied"),
    });
    const request = { remoteDir: "/data", keyPrefix: "", include: [], exclude: [], recursive: true };

    const plan = await planMirror(source, request);
    expect(plan.files.map((f) => f.key)).toEqual(["ok.csv"]);
    expect(plan.unlisted).toEqual([{ path: "/data/locked", code: "UNEXPECTED", message: "550 denied" }]);

    await expect(planMirror(source, { ...request, remoteDir: "/missing" })).rejects.toThrow(
      "no listing for /missing",
    );
  });

  it("builds keys that S3 accepts, or refuses them", () => {
    expect(keyFor("p/", "a/b.csv")).toBe("p/a/b.csv");
    expect(() => keyFor("p/", "x".repeat(1100))).toThrow(/more than S3's 1024/);
  });
});
