import { describe, expect, it } from "vitest";
import { planMirror } from "../../functions/core/mirror.js";
import { normaliseRemotePath } from "../../functions/core/paths.js";
import type { FileSource, RemoteEntry } from "../../functions/core/ports.js";
import { readOnlyChanges } from "../support/memory-source.js";

const why = "the name's bytes (82 2e 74) are not valid shift_jis, the server's name encoding: not copied";
const entry = (name: string, kind: RemoteEntry["kind"], unreadable = false): RemoteEntry => ({
  name,
  kind,
  size: kind === "file" ? 1 : null,
  modifiedAt: null,
  modifiedRaw: null,
  ...(unreadable ? { unreadableName: why } : {}),
});

function listingSource(tree: Record<string, RemoteEntry[]>): FileSource & { listed: string[] } {
  const listed: string[] = [];
  return {
    ...readOnlyChanges,
    listed,
    urlOf: (p) => `ftp://h${p}`,
    list: async (d) => {
      listed.push(d);
      return tree[d] ?? [];
    },
    stat: async () => ({ size: null, modifiedAt: null }),
    download: async () => ({ code: 226, message: "" }),
    close: () => {},
  };
}

const request = {
  remoteDir: normaliseRemotePath("/data"),
  keyPrefix: "in/",
  include: [],
  exclude: [],
  recursive: true,
};

describe("mirror planning of names not valid in the server's encoding", () => {
  it("never plans, lists or keys them: each is skipped and counted unreadable, by its escaped name", async () => {
    // Arrange
    const source = listingSource({
      "/data": [
        entry("ok.csv", "file"),
        entry("\\x82.t", "file", true),
        entry("\\x82dir", "directory", true),
      ],
    });

    // Act
    const plan = await planMirror(source, request);

    // Assert
    expect(plan.files.map((f) => f.key)).toEqual(["in/ok.csv"]);
    expect(source.listed).toEqual(["/data"]);
    expect(plan.unreadable).toEqual([
      { path: "/data/\\x82.t", message: why },
      { path: "/data/\\x82dir", message: why },
    ]);
    expect(plan.skipped).toEqual([
      { path: "/data/\\x82.t", reason: why },
      { path: "/data/\\x82dir", reason: why },
    ]);
  });

  it("lets the filters leave one out by its escaped name; a link or a directory without recursion is only skipped", async () => {
    // Arrange
    const source = listingSource({
      "/data": [
        entry("caf\\xe9.tmp", "file", true),
        entry("\\x82link", "other", true),
        entry("\\x82dir", "directory", true),
      ],
    });

    // Act
    const plan = await planMirror(source, { ...request, exclude: ["*.tmp"], recursive: false });

    // Assert
    expect(plan.unreadable).toEqual([]);
    expect(plan.excluded).toBe(1);
    expect(plan.skipped.map((s) => s.path)).toEqual(["/data/\\x82link", "/data/\\x82dir"]);
  });
});
