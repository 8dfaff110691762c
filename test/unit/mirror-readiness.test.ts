import { describe, expect, it } from "vitest";
import { type MirrorRun, runMirror } from "../../functions/core/mirror.js";
import { keyFor, type PlannedFile } from "../../functions/core/mirror-plan.js";
import {
  doneMarkerProblem,
  parseDoneMarker,
  sortByReadiness,
} from "../../functions/core/mirror-readiness.js";
import { normaliseRemotePath } from "../../functions/core/paths.js";
import type { FileSource, RemoteEntry } from "../../functions/core/ports.js";
import type { RemoteFilePath } from "../../functions/core/values.js";
import { MemoryS3 } from "../support/memory-s3.js";
import { readOnlyChanges } from "../support/memory-source.js";

const now = Date.parse("2026-06-01T12:00:00Z");
const secondsAgo = (s: number) => new Date(now - s * 1000);

const planned = (
  relativePath: string,
  modifiedAt: Date | null = secondsAgo(3600),
  size = 3,
): PlannedFile => ({
  path: `/data/${relativePath}` as RemoteFilePath,
  relativePath,
  key: keyFor("in/", relativePath),
  size,
  version: modifiedAt?.toISOString() ?? null,
  modifiedAt,
});

const names = (files: { relativePath: string }[]) => files.map((f) => f.relativePath);

describe("done markers", () => {
  it("with {name}: one marker per file, of the same form", () => {
    const marker = parseDoneMarker("{name}.done");
    expect(marker.markerOf("a.csv")).toBe("a.csv.done");
    expect(marker.isMarker("a.csv.done")).toBe(true);
    expect(marker.isMarker(".done")).toBe(false);
    expect(marker.isMarker("a.csv")).toBe(false);
  });

  it("without {name}: a glob on names, one marker per directory", () => {
    const marker = parseDoneMarker("*.ok");
    expect(marker.markerOf("a.csv")).toBeUndefined();
    expect(marker.isMarker("batch.ok")).toBe(true);
    expect(marker.isMarker(".ok")).toBe(true);
    expect(marker.isMarker("a.csv")).toBe(false);
  });

  it("refuses patterns that name another directory, every file, or nothing", () => {
    expect(doneMarkerProblem("")).toBe("the done marker is empty");
    expect(doneMarkerProblem("done/{name}")).toMatch(/contains "\/"/);
    expect(doneMarkerProblem("{name}")).toMatch(/every file its own marker/);
    expect(doneMarkerProblem("{name}.{name}")).toMatch(/more than once/);
    expect(doneMarkerProblem("_SUCCESS")).toBeUndefined();
  });
});

describe("which candidates are taken now", () => {
  it("minAge: a young file waits, an old one is taken, a future time counts as young", () => {
    // Arrange
    const files = [
      planned("old.csv"),
      planned("young.csv", secondsAgo(10)),
      planned("ahead.csv", secondsAgo(-600)),
    ];
    // Act
    const sorted = sortByReadiness(files, new Set(), { minAgeMs: 60_000 }, now, {});
    // Assert
    expect(names(sorted.ready)).toEqual(["old.csv"]);
    expect(sorted.waiting).toEqual([
      { path: "/data/young.csv", reason: "modified 10 s ago, younger than minAge" },
      { path: "/data/ahead.csv", reason: "modified 0 s ago, younger than minAge" },
    ]);
    expect(sorted.observed).toEqual({});
  });

  it("minAge without a modification time: aged from the first sighting at this size, remembered", () => {
    const rules = { minAgeMs: 60_000 };
    const first = sortByReadiness([planned("a.csv", null)], new Set(), rules, now, {});
    expect(first.ready).toEqual([]);
    expect(first.waiting[0]?.reason).toBe(
      "the server gives no modification time; first seen at this size 0 s ago, less than minAge",
    );
    expect(first.observed).toEqual({
      "a.csv": { size: 3, version: null, since: new Date(now).toISOString() },
    });

    const grown = sortByReadiness(
      [planned("a.csv", null, 9)],
      new Set(),
      rules,
      now + 90_000,
      first.observed,
    );
    expect(grown.ready).toEqual([]);
    expect(grown.observed["a.csv"]?.since).toBe(new Date(now + 90_000).toISOString());

    const later = sortByReadiness([planned("a.csv", null)], new Set(), rules, now + 60_000, first.observed);
    expect(names(later.ready)).toEqual(["a.csv"]);
    expect(later.observed).toEqual({});
  });

  it("minAge with neither time nor size: waits, since growth cannot be seen", () => {
    const file = { ...planned("a.csv", null), size: null };
    const sorted = sortByReadiness([file], new Set(), { minAgeMs: 1000 }, now + 10 ** 9, {
      "a.csv": { size: null, version: null, since: new Date(now).toISOString() },
    });
    expect(sorted.ready).toEqual([]);
    expect(sorted.waiting[0]?.reason).toMatch(/neither modification time nor size/);
  });

  it("doneMarker {name}.done: only the file whose marker is listed beside it is taken", () => {
    const files = [planned("a.csv"), planned("b.csv"), planned("sub/c.csv"), planned("d.csv")];
    const markers = new Set(["a.csv.done", "c.csv.done", "sub/c.csv.done"]);
    const sorted = sortByReadiness(files, markers, { doneMarker: "{name}.done" }, now, {});
    expect(names(sorted.ready)).toEqual(["a.csv", "sub/c.csv"]);
    expect(sorted.waiting).toEqual([
      { path: "/data/b.csv", reason: "no done marker: b.csv.done is not listed" },
      { path: "/data/d.csv", reason: "no done marker: d.csv.done is not listed" },
    ]);
  });

  it("doneMarker glob: a marker in the directory releases its files, not those of other directories", () => {
    const files = [planned("a.csv"), planned("sub/b.csv")];
    const sorted = sortByReadiness(files, new Set(["sub/_SUCCESS"]), { doneMarker: "_SUCCESS" }, now, {});
    expect(names(sorted.ready)).toEqual(["sub/b.csv"]);
    expect(sorted.waiting).toEqual([
      { path: "/data/a.csv", reason: "no done marker: nothing matching _SUCCESS is listed in its directory" },
    ]);
  });

  it("stableFor: first seen waits and is remembered; taken once unchanged that long; a change starts over", () => {
    const rules = { stableForMs: 300_000 };
    const first = sortByReadiness([planned("a.csv")], new Set(), rules, now, {});
    expect(first.ready).toEqual([]);
    expect(first.observed).toEqual({
      "a.csv": { size: 3, version: secondsAgo(3600).toISOString(), since: new Date(now).toISOString() },
    });

    const tooSoon = sortByReadiness([planned("a.csv")], new Set(), rules, now + 299_000, first.observed);
    expect(tooSoon.waiting).toEqual([
      { path: "/data/a.csv", reason: "size and time unchanged for 299 s, less than stableFor" },
    ]);
    expect(tooSoon.observed).toEqual(first.observed);

    const grown = sortByReadiness(
      [planned("a.csv", secondsAgo(3600), 4)],
      new Set(),
      rules,
      now + 400_000,
      first.observed,
    );
    expect(grown.ready).toEqual([]);
    expect(grown.observed["a.csv"]?.since).toBe(new Date(now + 400_000).toISOString());

    const steady = sortByReadiness([planned("a.csv")], new Set(), rules, now + 300_000, first.observed);
    expect(names(steady.ready)).toEqual(["a.csv"]);
    // Taken: nothing left to remember, so the manifest does not grow with every file ever seen.
    expect(steady.observed).toEqual({});
  });
});

describe("a mirror run with readiness rules", () => {
  const entry = (name: string, modifiedAt: Date): RemoteEntry => ({
    name,
    kind: "file",
    size: 3,
    modifiedAt,
    modifiedRaw: null,
  });

  function source(entries: RemoteEntry[]): FileSource & { downloads: string[]; stats: string[] } {
    const downloads: string[] = [];
    const stats: string[] = [];
    return {
      downloads,
      stats,
      urlOf: (p) => `ftp://h${p}`,
      ...readOnlyChanges,
      list: async () => entries,
      stat: async (path) => {
        stats.push(path);
        return { size: 3, modifiedAt: null };
      },
      download: async (path, destination) => {
        downloads.push(path);
        destination.end(Buffer.from("abc"));
        return { code: 226, message: "Transfer complete" };
      },
      close: () => {},
    };
  }

  const request = (readiness: MirrorRun["readiness"]): MirrorRun => ({
    remoteDir: normaliseRemotePath("/data"),
    keyPrefix: "in/",
    include: ["*.csv"],
    exclude: [],
    recursive: false,
    deleteExtraneous: true,
    dryRun: false,
    ...(readiness === undefined ? {} : { readiness }),
  });

  const mirror = (s3: MemoryS3, from: FileSource, run: MirrorRun, at: number) =>
    runMirror(async () => from, s3, "b", run, {
      copy: { tagWithSha256: false },
      concurrency: 1,
      now: () => at,
    });

  it("copies the marked file, never the marker, and keeps the object of a file that waits", async () => {
    // Arrange: b.csv was copied before; it is being rewritten now, without its marker yet.
    const s3 = new MemoryS3();
    await s3.writeText({ bucket: "b", key: "in/b.csv" }, "old");
    const from = source([
      entry("a.csv", secondsAgo(3600)),
      entry("a.csv.done", secondsAgo(3600)),
      entry("b.csv", secondsAgo(5)),
    ]);
    // Act
    const summary = await mirror(s3, from, request({ doneMarker: "{name}.done" }), now);
    // Assert
    expect(from.downloads).toEqual(["/data/a.csv"]);
    expect(summary.copied).toBe(1);
    expect(summary.deleted).toBe(0);
    expect(summary.failed).toEqual([]);
    expect(summary.waiting).toEqual([
      { path: "/data/b.csv", reason: "no done marker: b.csv.done is not listed" },
    ]);
    expect(s3.objects.get("in/b.csv")?.bytes.toString()).toBe("old");
    expect(s3.objects.has("in/a.csv.done")).toBe(false);
  });

  it("stableFor across two runs: the manifest remembers the first sighting, the later run copies", async () => {
    const s3 = new MemoryS3();
    const from = source([entry("a.csv", secondsAgo(3600))]);
    const run = request({ stableForMs: 60_000 });

    const first = await mirror(s3, from, run, now);
    expect(first.copied).toBe(0);
    expect(first.waiting).toHaveLength(1);

    const second = await mirror(s3, from, run, now + 60_000);
    expect(second.copied).toBe(1);
    expect(second.waiting).toBeUndefined();
    expect(from.downloads).toEqual(["/data/a.csv"]);
    const manifest = JSON.parse(
      (await s3.readText({ bucket: "b", key: ".ftp2s3-state/in/manifest.json" })) ?? "",
    );
    expect(manifest.waiting).toBeUndefined();
  });

  it("minAge over a listing without times asks MDTM, and waits when the server gives none", async () => {
    const s3 = new MemoryS3();
    const from = source([
      { ...entry("a.csv", secondsAgo(0)), modifiedAt: null, modifiedRaw: "Jun 01 12:00" },
    ]);
    const summary = await mirror(s3, from, request({ minAgeMs: 1000 }), now);
    expect(from.stats).toEqual(["/data/a.csv"]);
    expect(summary.copied).toBe(0);
    expect(summary.waiting?.[0]?.reason).toMatch(/no modification time/);
  });
});
