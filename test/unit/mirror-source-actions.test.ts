import { describe, expect, it } from "vitest";
import { FtpReplyError } from "../../functions/core/errors.js";
import { type MirrorRun, runMirror } from "../../functions/core/mirror.js";
import { normaliseRemotePath } from "../../functions/core/paths.js";
import type { FileSource, RemoteEntry } from "../../functions/core/ports.js";
import { MemoryS3 } from "../support/memory-s3.js";

const modifiedAt = new Date("2026-01-01T00:00:00Z");

/** /data/sub/<files>: a listing that can fail, a DELE that can be refused, and the commands it got. */
function server(files: Record<string, Buffer>) {
  const state = { listingFails: false, refuseDele: false, commands: [] as string[] };
  const source: FileSource = {
    urlOf: (p) => `ftp://h${p}`,
    list: async (d) => {
      if (d === "/data")
        return [{ name: "sub", kind: "directory", size: null, modifiedAt: null, modifiedRaw: null }];
      if (state.listingFails) throw new FtpReplyError("LIST /data/sub failed: 450", 450, "busy");
      return Object.entries(files).map(
        ([path, data]): RemoteEntry => ({
          name: path.slice("/data/sub/".length),
          kind: "file",
          size: data.length,
          modifiedAt,
          modifiedRaw: null,
        }),
      );
    },
    stat: async (p) => ({ size: files[p]?.length ?? null, modifiedAt }),
    download: async (p, destination) => {
      state.commands.push(`RETR ${p}`);
      destination.end(files[p]);
      return { code: 226, message: "Transfer complete" };
    },
    deleteFile: async (p) => {
      state.commands.push(`DELE ${p}`);
      if (state.refuseDele) throw new FtpReplyError(`DELE ${p} failed: 550`, 550, "Permission denied");
      delete files[p];
    },
    rename: async () => {},
    makeDirectory: async () => {},
    close: () => {},
  };
  return { source, state };
}

const request: MirrorRun = {
  remoteDir: normaliseRemotePath("/data"),
  keyPrefix: "in/",
  include: [],
  exclude: [],
  recursive: true,
  deleteExtraneous: true,
  dryRun: false,
  afterCopy: "delete",
};

function journal(s3: MemoryS3): Record<string, unknown> {
  const text = s3.objects.get(".ftp2s3-state/in/manifest.json")?.bytes.toString("utf8") ?? "{}";
  // Format 2: each entry [size, version, etag, afterCopy?].
  return Object.fromEntries(
    Object.entries((JSON.parse(text) as { entries: Record<string, unknown[]> }).entries).map(
      ([path, entry]) => [path, entry[3]],
    ),
  );
}

describe("a mirror's source actions, journaled in its manifest", () => {
  it("keeps a pending action pending while its directory cannot be listed, and its object; done once the file is seen gone", async () => {
    // Arrange: the first run copies and is refused its DELE
    const files: Record<string, Buffer> = { "/data/sub/a.csv": Buffer.from("abc") };
    const { source, state } = server(files);
    const s3 = new MemoryS3();
    const mirror = () =>
      runMirror(async () => source, s3, "b", request, { copy: { tagWithSha256: false }, concurrency: 1 });
    state.refuseDele = true;
    const first = await mirror();

    // Act: the directory cannot be listed, then the file is gone (someone else took it)
    state.listingFails = true;
    const second = await mirror();
    const whileUnlisted = journal(s3);
    state.listingFails = false;
    delete files["/data/sub/a.csv"];
    const third = await mirror();

    // Assert
    expect(first.afterCopy).toEqual({
      done: 0,
      failed: [expect.objectContaining({ path: "/data/sub/a.csv" })],
    });
    expect(whileUnlisted).toEqual({ "sub/a.csv": "pending" });
    expect(second.deleted).toBe(0);
    expect(third).toMatchObject({ deleted: 0, afterCopy: { done: 0, failed: [] } });
    expect(third.deleteRefused).toBeUndefined();
    expect(journal(s3)).toEqual({ "sub/a.csv": "done" });
    expect(s3.objects.has("in/sub/a.csv")).toBe(true);
    expect(state.commands.filter((c) => c.startsWith("RETR"))).toHaveLength(1);
  });

  it("a dry run takes nothing away", async () => {
    // Arrange
    const files = { "/data/sub/b.csv": Buffer.from("b") };
    const { source, state } = server(files);

    // Act
    const summary = await runMirror(
      async () => source,
      new MemoryS3(),
      "b",
      { ...request, dryRun: true },
      {
        copy: {},
        concurrency: 1,
      },
    );

    // Assert
    expect(summary.wouldCopy).toEqual(["in/sub/b.csv"]);
    expect(state.commands).toEqual([]);
  });

  it("forgets an object's mark once the object is replaced by someone else: it may be deleted again", async () => {
    // Arrange: copied and taken away, then another writer replaces the object
    const files = { "/data/sub/c.csv": Buffer.from("c") };
    const { source } = server(files);
    const s3 = new MemoryS3();
    // The directory lists empty afterwards: allowed to delete below it, so only the mark decides.
    const rules = { deleteRules: { allowEmptySource: true, maxDelete: undefined } };
    const mirror = () =>
      runMirror(
        async () => source,
        s3,
        "b",
        { ...request, ...rules },
        { copy: { tagWithSha256: false }, concurrency: 1 },
      );
    await mirror();
    s3.seed("in/sub/c.csv", Buffer.from("someone else's"));

    // Act
    const summary = await mirror();

    // Assert
    expect(summary.deletedKeys).toEqual(["in/sub/c.csv"]);
    expect(journal(s3)).toEqual({});
  });
  it("a job set back to keep still keeps the objects an earlier run took the sources of", async () => {
    // Arrange: taken away by a run with afterCopy delete
    const files: Record<string, Buffer> = {
      "/data/sub/d.csv": Buffer.from("d"),
      "/data/sub/e.csv": Buffer.from("e"),
    };
    const { source } = server(files);
    const s3 = new MemoryS3();
    const options = { copy: { tagWithSha256: false }, concurrency: 1 };
    await runMirror(async () => source, s3, "b", request, options);
    files["/data/sub/f.csv"] = Buffer.from("f");

    // Act
    const kept = { ...request, afterCopy: "keep" as const };
    const first = await runMirror(async () => source, s3, "b", kept, options);
    const second = await runMirror(async () => source, s3, "b", kept, options);

    // Assert
    expect(first).toMatchObject({ copied: 1, deleted: 0 });
    expect(second).toMatchObject({ copied: 0, deleted: 0 });
    expect(journal(s3)).toEqual({ "sub/d.csv": "done", "sub/e.csv": "done", "sub/f.csv": undefined });
    expect([...s3.objects.keys()].filter((k) => k.startsWith("in/")).sort()).toEqual([
      "in/sub/d.csv",
      "in/sub/e.csv",
      "in/sub/f.csv",
    ]);
  });
});
