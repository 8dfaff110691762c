import { describe, expect, it } from "vitest";
import { TransferAbortedError } from "../../functions/core/errors.js";
import { defaultMaxDelete, type MirrorRun, planMirror, runMirror } from "../../functions/core/mirror.js";
import { normaliseRemotePath } from "../../functions/core/paths.js";
import type { FileSource, RemoteEntry } from "../../functions/core/ports.js";
import { MemoryS3 } from "../support/memory-s3.js";
import { readOnlyChanges } from "../support/memory-source.js";

const file = (name: string, size = 3): RemoteEntry => ({
  name,
  kind: "file",
  size,
  modifiedAt: new Date("2026-01-01T00:00:00Z"),
  modifiedRaw: null,
});
const dir = (name: string, unique?: string): RemoteEntry => ({
  name,
  kind: "directory",
  size: null,
  modifiedAt: null,
  modifiedRaw: null,
  ...(unique === undefined ? {} : { unique }),
});

type Listing = RemoteEntry[] | Error | ((dir: string) => RemoteEntry[] | Promise<RemoteEntry[]>);

/** A server whose listings are scripted per directory; every file holds "abc"; counts LIST calls. */
function scriptedSource(tree: Record<string, Listing>, fallback?: Listing): FileSource & { lists: string[] } {
  const lists: string[] = [];
  return {
    lists,
    urlOf: (p) => `ftp://h${p}`,
    ...readOnlyChanges,
    list: async (d) => {
      lists.push(d);
      const listing = tree[d] ?? fallback;
      if (listing === undefined) throw new Error(`550 ${d}: no such directory`);
      if (listing instanceof Error) throw listing;
      return typeof listing === "function" ? listing(d) : listing;
    },
    stat: async () => ({ size: 3, modifiedAt: new Date("2026-01-01T00:00:00Z") }),
    download: async (_path, destination) => {
      destination.end(Buffer.from("abc"));
      return { code: 226, message: "Transfer complete" };
    },
    close: () => {},
  };
}

const run = (overrides: Partial<MirrorRun> = {}): MirrorRun => ({
  remoteDir: normaliseRemotePath("/data"),
  keyPrefix: "in/",
  include: [],
  exclude: [],
  recursive: true,
  deleteExtraneous: true,
  dryRun: false,
  ...overrides,
});

async function mirror(source: FileSource, s3: MemoryS3, request: MirrorRun, signal?: AbortSignal) {
  const deleted: string[] = [];
  const summary = await runMirror(async () => source, s3, "b", request, {
    copy: { tagWithSha256: false },
    concurrency: 1,
    onDelete: (key) => deleted.push(key),
    ...(signal ? { signal } : {}),
  });
  return { summary, deleted };
}

const keys = (s3: MemoryS3) => [...s3.objects.keys()].sort();

describe("a mirror never deletes on partial knowledge", () => {
  it("keeps every object below a directory whose listing failed, deletes elsewhere, and names the failure", async () => {
    // Arrange
    const s3 = new MemoryS3();
    s3.seed("in/locked/x.csv", Buffer.from("x"));
    s3.seed("in/gone.csv", Buffer.from("g"));
    const source = scriptedSource({
      "/data": [dir("locked"), file("ok.csv")],
      "/data/locked": new Error("450 LIST /data/locked: temporarily unavailable"),
    });

    // Act
    const { summary, deleted } = await mirror(source, s3, run());

    // Assert
    expect(keys(s3)).toEqual([".ftp2s3-state/in/manifest.json", "in/locked/x.csv", "in/ok.csv"]);
    expect(deleted).toEqual(["in/gone.csv"]);
    expect(summary).toMatchObject({ deleted: 1, deletedKeys: ["in/gone.csv"], deleteHeld: 1 });
    expect(summary.listingFailures).toEqual([
      {
        dir: "/data/locked",
        code: "UNEXPECTED",
        message: "listing failed: 450 LIST /data/locked: temporarily unavailable",
      },
    ]);
  });

  it("deletes nothing when the root lists empty while the prefix holds objects, unless allowed", async () => {
    const s3 = new MemoryS3();
    for (const name of ["a", "b", "c"]) s3.seed(`in/${name}.csv`, Buffer.from(name));
    const empty = scriptedSource({ "/data": [] });

    const refused = await mirror(empty, s3, run());

    expect(keys(s3)).toEqual(expect.arrayContaining(["in/a.csv", "in/b.csv", "in/c.csv"]));
    expect(refused.deleted).toEqual([]);
    expect(refused.summary.deleteRefused).toMatchObject({
      reason: "EMPTY_SOURCE",
      wouldDelete: 3,
      keys: ["in/a.csv", "in/b.csv", "in/c.csv"],
    });

    const allowed = await mirror(
      empty,
      s3,
      run({ deleteRules: { allowEmptySource: true, maxDelete: undefined } }),
    );
    expect(allowed.summary).toMatchObject({ deleted: 3 });
    expect(keys(s3)).toEqual([".ftp2s3-state/in/manifest.json"]);
  });

  it("deletes nothing above the cap and says what it would have deleted; every deletion below it is logged", async () => {
    const s3 = new MemoryS3();
    for (let i = 0; i < 150; i += 1) s3.seed(`in/old-${String(i).padStart(3, "0")}.csv`, Buffer.from("o"));
    const source = scriptedSource({ "/data": [file("new.csv")] });

    const capped = await mirror(source, s3, run());

    expect(capped.deleted).toEqual([]);
    expect(capped.summary.deleted).toBe(0);
    expect(capped.summary.deleteRefused).toMatchObject({ reason: "DELETE_LIMIT", wouldDelete: 150 });
    expect(capped.summary.deleteRefused?.message).toMatch(/more than the limit of 100/);
    expect(capped.summary.deleteRefused?.keys).toHaveLength(100);
    expect(s3.sent("DeleteObjects")).toEqual([]);

    const explicit = await mirror(
      source,
      s3,
      run({ deleteRules: { allowEmptySource: false, maxDelete: 150 } }),
    );
    expect(explicit.summary).toMatchObject({ deleted: 150 });
    expect(explicit.deleted).toHaveLength(150);
    expect(explicit.summary.deletedKeys).toHaveLength(100);
    expect(keys(s3)).toEqual([".ftp2s3-state/in/manifest.json", "in/new.csv"]);
  });

  it("caps at 100 objects or a tenth of the prefix, whichever is larger", () => {
    expect(defaultMaxDelete(0)).toBe(100);
    expect(defaultMaxDelete(1000)).toBe(100);
    expect(defaultMaxDelete(50_000)).toBe(5000);
  });
});

describe("listings have bounds", () => {
  const request = {
    remoteDir: normaliseRemotePath("/d"),
    keyPrefix: "",
    include: [],
    exclude: [],
    recursive: true,
  };

  it("stops a directory that lists itself (LIST: no unique fact) at the depth limit, naming it", async () => {
    const source = scriptedSource({}, [dir("d"), file("f")]);

    const plan = await planMirror(source, request, { maxDepth: 5 });

    expect(source.lists).toHaveLength(6); // /d and five levels below it
    expect(plan.unlisted).toEqual([expect.objectContaining({ path: "/d/d/d/d/d/d/d", code: "DEPTH_LIMIT" })]);
  });

  it("stops it at once where MLSD gives the unique fact", async () => {
    const source = scriptedSource({}, [dir("d", "801U1234"), file("f")]);

    const plan = await planMirror(source, request);

    expect(source.lists).toEqual(["/d", "/d/d"]);
    expect(plan.unlisted).toEqual([expect.objectContaining({ path: "/d/d/d", code: "LISTING_LOOP" })]);
  });

  it("cuts a huge directory at the entry limit; nothing below it is deleted", async () => {
    const huge = Array.from({ length: 200_000 }, (_, i) => file(`f${i}`));
    const s3 = new MemoryS3();
    s3.seed("in/big/zzz-not-listed.csv", Buffer.from("z"));
    const source = scriptedSource({ "/data": [dir("big")], "/data/big": huge, "/data/later": [] });

    const plan = await planMirror(
      source,
      { ...request, remoteDir: normaliseRemotePath("/data") },
      { maxEntries: 1000 },
    );
    const { summary } = await mirror(
      source,
      s3,
      run({
        exclude: ["big/f*"],
        limits: { maxEntries: 1000 },
        deleteRules: { allowEmptySource: true, maxDelete: 10 },
      }),
    );

    expect(plan.listed).toBe(1000);
    expect(plan.unlisted).toEqual([expect.objectContaining({ path: "/data/big", code: "ENTRY_LIMIT" })]);
    expect(summary.listingFailures.map((f) => f.code)).toEqual(["ENTRY_LIMIT"]);
    expect(keys(s3)).toContain("in/big/zzz-not-listed.csv");
  });

  it("sends no LIST after the signal fired, and rejects with its reason", async () => {
    const stop = new AbortController();
    let served = 0;
    const source = scriptedSource({}, () => {
      served += 1;
      if (served === 3) stop.abort(new TransferAbortedError("deadline"));
      return [dir("a"), dir("b")];
    });

    const planning = planMirror(source, request, { signal: stop.signal });

    await expect(planning).rejects.toMatchObject({ code: "ABORTED" });
    expect(source.lists).toHaveLength(3);
  });
});

describe("a single file is not a directory", () => {
  it("refuses a path whose LIST shows the file itself, writing nothing", async () => {
    const s3 = new MemoryS3();
    const source = scriptedSource({
      "/data/report.csv": [file("report.csv")],
      "/data": [file("report.csv")],
    });

    const mirroring = mirror(source, s3, run({ remoteDir: normaliseRemotePath("/data/report.csv") }));

    await expect(mirroring).rejects.toThrow(
      "ftp://h/data/report.csv is a file, not a directory: mirror copies directories",
    );
    expect(keys(s3)).toEqual([]);
  });

  it("mirrors a directory holding one file of its own name", async () => {
    const s3 = new MemoryS3();
    const source = scriptedSource({ "/data/x": [file("x")], "/data": [dir("x")] });

    const { summary } = await mirror(source, s3, run({ remoteDir: normaliseRemotePath("/data/x") }));

    expect(summary).toMatchObject({ copied: 1 });
    expect(keys(s3)).toContain("in/x");
  });
});

describe("the mirror's state lives outside the prefix", () => {
  it("moves an old manifest from the prefix to the state key: nothing recopied, and only that key deleted", async () => {
    // Arrange: a tree mirrored by an older release, its manifest beside the files.
    const s3 = new MemoryS3();
    const source = scriptedSource({ "/data": [file("a.csv"), file("b.csv")] });
    await mirror(source, s3, run({ deleteExtraneous: false }));
    const manifest = s3.objects.get(".ftp2s3-state/in/manifest.json")?.bytes as Buffer;
    s3.objects.delete(".ftp2s3-state/in/manifest.json");
    s3.seed("in/.ftp2s3-manifest.json", manifest);

    // Act
    const { summary, deleted } = await mirror(source, s3, run());

    // Assert
    expect(summary).toMatchObject({ copied: 0, unchanged: 2, deleted: 0 });
    expect(deleted).toEqual([]);
    expect(keys(s3)).toEqual([".ftp2s3-state/in/manifest.json", "in/a.csv", "in/b.csv"]);
    expect(s3.sent("DeleteObjects").map((r) => r.key)).toEqual(["in/.ftp2s3-manifest.json"]);
  });

  it("reads a manifest of format 1 (an older release): nothing recopied, and rewritten once as format 2", async () => {
    // Arrange: the objects of a first run, and the manifest an older release wrote for them.
    const s3 = new MemoryS3();
    const source = scriptedSource({ "/data": [file("a.csv"), file("b.csv")] });
    await mirror(source, s3, run());
    const etag = s3.objects.get("in/a.csv")?.etag;
    const version = "2026-01-01T00:00:00.000Z";
    const formatOne = {
      format: 1,
      source: "ftp://h/data",
      entries: { "a.csv": { size: 3, version, etag }, "b.csv": { size: 3, version, etag } },
    };
    s3.seed(".ftp2s3-state/in/manifest.json", Buffer.from(JSON.stringify(formatOne)));
    const before = s3.requests.length;

    // Act
    const first = await mirror(source, s3, run());
    const second = await mirror(source, s3, run());

    // Assert
    expect(first.summary).toMatchObject({ copied: 0, unchanged: 2, deleted: 0 });
    expect(second.summary).toMatchObject({ copied: 0, unchanged: 2, deleted: 0 });
    expect(s3.requests.slice(before).map((r) => r.operation)).not.toContain("HeadObject");
    const stored = JSON.parse(s3.objects.get(".ftp2s3-state/in/manifest.json")?.bytes.toString() ?? "");
    expect(stored).toEqual({
      format: 2,
      source: "ftp://h/data",
      entries: { "a.csv": [3, Date.parse(version), etag], "b.csv": [3, Date.parse(version), etag] },
    });
    expect(s3.sent("PutObject").filter((r) => r.key === ".ftp2s3-state/in/manifest.json")).toHaveLength(2);
  });

  it("refuses a state key inside the mirrored prefix, and a prefix inside the state root", async () => {
    const { assertStateOutsidePrefix } = await import("../../functions/core/mirror.js");

    expect(() => assertStateOutsidePrefix({ bucket: "b", key: "in/state.json" }, "b", "in/")).toThrow(
      /lies inside the mirrored prefix s3:\/\/b\/in\//,
    );
    expect(() => assertStateOutsidePrefix({ bucket: "b", key: ".s/m.json" }, "b", "")).toThrow(
      /another bucket/,
    );
    expect(() =>
      assertStateOutsidePrefix(
        { bucket: "b", key: ".ftp2s3-state/.ftp2s3-state/x/m" },
        "b",
        ".ftp2s3-state/x/",
        ".ftp2s3-state/",
      ),
    ).toThrow(/inside the mirror state prefix/);
    expect(() => assertStateOutsidePrefix({ bucket: "other", key: "m.json" }, "b", "")).not.toThrow();
  });

  it("records the files committed before an interrupt, so the rerun skips them, and deletes nothing", async () => {
    const s3 = new MemoryS3();
    s3.seed("in/gone.csv", Buffer.from("g"));
    const stop = new AbortController();
    const source = scriptedSource({ "/data": [file("a.csv"), file("b.csv"), file("c.csv")] });
    const summary = await runMirror(async () => source, s3, "b", run(), {
      copy: { tagWithSha256: false },
      concurrency: 1,
      signal: stop.signal,
      onFile: (event) => {
        if (event.outcome === "copied") stop.abort(new TransferAbortedError("interrupted (SIGINT)"));
      },
    });

    // Small files overlap (the next RETR starts while S3 stores the last): one or two got in.
    expect(summary.copied).toBeGreaterThanOrEqual(1);
    expect(summary.copied).toBeLessThan(3);
    expect(summary).toMatchObject({ deleted: 0 });
    expect(keys(s3)).toContain("in/gone.csv");
    const rerun = await mirror(source, s3, run({ deleteExtraneous: false }));
    expect(rerun.summary).toMatchObject({ unchanged: summary.copied, copied: 3 - summary.copied });
  });
});
