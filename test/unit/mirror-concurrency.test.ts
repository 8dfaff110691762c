import { describe, expect, it } from "vitest";
import { objectKey } from "../../functions/core/locations.js";
import { type MirrorOptions, type PlannedFile, runMirror } from "../../functions/core/mirror.js";
import { normaliseRemotePath, remoteFilePath } from "../../functions/core/paths.js";
import type { FileSource, RemoteEntry } from "../../functions/core/ports.js";
import { copyFile } from "../../functions/core/transfer.js";
import { MemoryS3 } from "../support/memory-s3.js";
import { readOnlyChanges } from "../support/memory-source.js";

const mtime = new Date("2026-01-01T00:00:00Z");
const entry = (name: string): RemoteEntry => ({
  name,
  kind: "file",
  size: 3,
  modifiedAt: mtime,
  modifiedRaw: null,
});

/** A server holding /data/<name> = "abc" for each name; counts RETR per path. */
function source(names: string[]): FileSource & { retr: Map<string, number> } {
  const retr = new Map<string, number>();
  return {
    retr,
    urlOf: (p) => `ftp://h${p}`,
    ...readOnlyChanges,
    list: async () => names.map(entry),
    stat: async () => ({ size: 3, modifiedAt: mtime }),
    download: async (path, destination) => {
      retr.set(path, (retr.get(path) ?? 0) + 1);
      destination.end(Buffer.from("abc"));
      return { code: 226, message: "Transfer complete" };
    },
    close: () => {},
  };
}

/** The metadata ftp2s3 writes for /data/<name> at this size and time. */
const versionOf = (name: string, at = mtime) => ({
  "source-url": `ftp://h/data/${name}`,
  "source-size": "3",
  "source-mtime": at.toISOString(),
});

const request = {
  remoteDir: normaliseRemotePath("/data"),
  keyPrefix: "in/",
  include: [],
  exclude: [],
  recursive: false,
  deleteExtraneous: false,
  dryRun: false,
};

function options(queued: PlannedFile[], extra: Partial<MirrorOptions> = {}): MirrorOptions {
  return {
    copy: { tagWithSha256: false },
    concurrency: 2,
    enqueue: async (file) => {
      queued.push(file);
    },
    ...extra,
  };
}

const total = (retr: Map<string, number>) => [...retr.values()].reduce((a, b) => a + b, 0);

describe("the inline budget holds for files rewritten at the same size", () => {
  it.each([
    { budget: { files: 2, bytes: 1024 }, inline: 2 },
    { budget: { files: 10, bytes: 7 }, inline: 2 }, // 3-byte files: two fit in 7 bytes
  ])("copies at most its budget $budget itself and queues the rest", async ({ budget, inline }) => {
    // Arrange: every object holds an older version of the same size (the listing says "check").
    const names = ["a", "b", "c", "d", "e", "f"];
    const s3 = new MemoryS3();
    for (const name of names)
      s3.seed(`in/${name}`, Buffer.from("old"), versionOf(name, new Date("2025-01-01T00:00:00Z")));
    const ftp = source(names);
    const queued: PlannedFile[] = [];

    // Act
    const summary = await runMirror(
      async () => ftp,
      s3,
      "b",
      request,
      options(queued, { inlineBudget: budget }),
    );

    // Assert
    expect(summary).toMatchObject({ copied: inline, enqueued: names.length - inline, failed: [] });
    expect(total(ftp.retr)).toBe(inline);
    expect(queued.map((f) => f.key).sort()).toEqual(
      names
        .map((n) => `in/${n}`)
        .filter((k) => s3.objects.get(k)?.bytes.toString() === "old")
        .sort(),
    );
  });

  it("still checks every probably-unchanged file itself, at no charge", async () => {
    const names = ["a", "b", "c", "d"];
    const s3 = new MemoryS3();
    for (const name of names) s3.seed(`in/${name}`, Buffer.from("abc"), versionOf(name));
    const ftp = source(names);
    const queued: PlannedFile[] = [];

    const summary = await runMirror(
      async () => ftp,
      s3,
      "b",
      request,
      options(queued, { inlineBudget: { files: 1, bytes: 1 } }),
    );

    expect(summary).toMatchObject({ copied: 0, unchanged: 4, enqueued: 0 });
    expect(total(ftp.retr)).toBe(0);
  });
});

describe("a run never overwrites a key it listed as absent", () => {
  /** Another writer stores the key just before this run's write of it reaches S3. */
  function writerFirst(s3: MemoryS3, key: string, metadata: Record<string, string>) {
    s3.fault = (r) => {
      if (r.key === key && (r.operation === "PutObject" || r.operation === "CreateMultipartUpload")) {
        if (!s3.objects.has(key)) s3.seed(key, Buffer.from("xyz"), metadata);
      }
    };
  }

  it("counts the file unchanged when the other writer stored this very version", async () => {
    const s3 = new MemoryS3();
    writerFirst(s3, "in/a", versionOf("a"));
    const ftp = source(["a"]);
    const queued: PlannedFile[] = [];

    const summary = await runMirror(async () => ftp, s3, "b", request, options(queued));

    expect(summary).toMatchObject({ copied: 0, unchanged: 1, enqueued: 0, failed: [] });
    expect(s3.objects.get("in/a")?.bytes.toString()).toBe("xyz"); // the first writer's object stays
    expect(s3.sent("PutObject").find((r) => r.key === "in/a")?.ifNoneMatch).toBe(true);
    expect(s3.openUploads()).toEqual([]);
  });

  it("leaves another version in place and queues the file, whose copy looks again", async () => {
    const s3 = new MemoryS3();
    writerFirst(s3, "in/a", versionOf("a", new Date("2026-02-01T00:00:00Z")));
    const ftp = source(["a"]);
    const queued: PlannedFile[] = [];

    const summary = await runMirror(async () => ftp, s3, "b", request, options(queued));

    expect(summary).toMatchObject({ copied: 0, unchanged: 0, enqueued: 1, failed: [] });
    expect(queued.map((f) => f.key)).toEqual(["in/a"]);
    expect(s3.objects.get("in/a")?.bytes.toString()).toBe("xyz");
  });

  it("without a queue, reports the file failed with OBJECT_EXISTS and leaves the object", async () => {
    const s3 = new MemoryS3();
    writerFirst(s3, "in/a", versionOf("a", new Date("2026-02-01T00:00:00Z")));
    const ftp = source(["a"]);

    const summary = await runMirror(async () => ftp, s3, "b", request, {
      copy: { tagWithSha256: false },
      concurrency: 1,
    });

    expect(summary.failed).toEqual([
      {
        path: "/data/a",
        code: "OBJECT_EXISTS",
        message: expect.stringContaining("was stored by another writer while this copy ran"),
      },
    ]);
    expect(s3.objects.get("in/a")?.bytes.toString()).toBe("xyz");
  });
});

describe("two deliveries of one copy at the same moment", () => {
  it.each(["skip-unchanged", "fail-unless-unchanged"] as const)(
    "(%s) both read the file, one writes it, the other counts it unchanged",
    async (ifExists) => {
      // Arrange: both HEADs answer before either write (a barrier on HeadObject).
      const s3 = new MemoryS3();
      let arrived = 0;
      let release: () => void = () => {};
      const bothChecked = new Promise<void>((resolve) => {
        release = resolve;
      });
      s3.fault = (r) => {
        if (r.operation !== "HeadObject" || arrived >= 2) return;
        arrived += 1;
        if (arrived === 2) release();
        return bothChecked;
      };
      const ftp = source(["a"]);
      const copy = () =>
        copyFile(
          ftp,
          s3,
          { path: remoteFilePath("/data/a"), target: { bucket: "b", key: objectKey("in/a") }, ifExists },
          {
            tagWithSha256: false,
          },
        );

      // Act
      const outcomes = await Promise.all([copy(), copy()]);

      // Assert
      expect(outcomes.map((o) => o.status).sort()).toEqual(["copied", "unchanged"]);
      expect(ftp.retr.get("/data/a")).toBe(2); // the reads are doubled
      const writes = s3.sent("PutObject");
      expect(writes.map((w) => [w.ifNoneMatch, w.error === undefined])).toEqual([
        [true, true],
        [true, false],
      ]);
      expect(s3.objects.get("in/a")?.bytes.toString()).toBe("abc");
    },
  );
});
