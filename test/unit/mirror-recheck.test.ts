import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { FtpConnectionError, SourceChangedError, TransferAbortedError } from "../../functions/core/errors.js";
import { objectKey } from "../../functions/core/locations.js";
import { type MirrorOptions, type PlannedFile, runMirror } from "../../functions/core/mirror.js";
import { directoriesToBatch, MIN_FILES_TO_BATCH } from "../../functions/core/mirror-recheck.js";
import { normaliseRemotePath, remoteFilePath } from "../../functions/core/paths.js";
import type { FileSource, RemoteEntry, RemoteFileInfo } from "../../functions/core/ports.js";
import { copyFile } from "../../functions/core/transfer.js";
import { MemoryS3 } from "../support/memory-s3.js";
import { readOnlyChanges } from "../support/memory-source.js";

const modifiedAt = new Date("2026-01-02T03:04:05Z");
const names = Array.from({ length: 20 }, (_, n) => `f${String(n).padStart(2, "0")}.txt`);

/** A server holding /data/<name> = "abc" for each name, listed with exact facts (as MLSD does). */
function server(options: { failRetrOf?: string; onRetr?: (path: string, count: number) => void } = {}) {
  const calls = { list: 0, stat: 0, retr: 0, sessions: 0 };
  const entry = (name: string): RemoteEntry => ({
    name,
    kind: "file",
    size: 3,
    modifiedAt,
    modifiedRaw: null,
  });
  const connect = async (): Promise<FileSource> => {
    calls.sessions += 1;
    return {
      ...readOnlyChanges,
      urlOf: (p) => `ftp://h${p}`,
      list: async () => {
        calls.list += 1;
        return names.map(entry);
      },
      stat: async () => {
        calls.stat += 1;
        return { size: 3, modifiedAt };
      },
      download: async (path, destination) => {
        calls.retr += 1;
        if (path === options.failRetrOf) {
          destination.end();
          throw new FtpConnectionError("ftp://h: the control connection failed: ECONNRESET");
        }
        destination.end(Buffer.from("abc"));
        options.onRetr?.(path, calls.retr);
        return { code: 226, message: "Transfer complete" };
      },
      close: () => {},
    };
  };
  return { calls, connect };
}

const request = {
  remoteDir: normaliseRemotePath("/data"),
  keyPrefix: "in/",
  include: [],
  exclude: [],
  recursive: false,
  deleteExtraneous: false,
  dryRun: false,
};

const options = (extra: Partial<MirrorOptions> = {}): MirrorOptions => ({
  copy: { tagWithSha256: false },
  concurrency: 1,
  ...extra,
});

const mirrored = (s3: MemoryS3) => [...s3.objects.keys()].filter((key) => key.startsWith("in/")).sort();

describe("a mirror checks its small files after their transfer by one re-listing", () => {
  it("lists the directory once more for its files, and stats none", async () => {
    // Arrange
    const { calls, connect } = server();
    const s3 = new MemoryS3();

    // Act
    const summary = await runMirror(connect, s3, "b", request, options());

    // Assert
    expect(summary).toMatchObject({ copied: names.length, failed: [], changed: [] });
    expect(calls).toMatchObject({ list: 2, stat: 0, retr: names.length });
    expect(mirrored(s3)).toEqual(names.map((n) => `in/${n}`));
  });

  it("commits the checked files four at a time while the session reads on", async () => {
    // Arrange: each PutObject of a mirrored file takes 10 ms; count how many run at once
    const { calls, connect } = server();
    const s3 = new MemoryS3();
    let running = 0;
    let peak = 0;
    s3.fault = async (req) => {
      if (req.operation !== "PutObject" || !req.key.startsWith("in/")) return;
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 10));
      running -= 1;
    };

    // Act
    const summary = await runMirror(connect, s3, "b", request, options());

    // Assert
    expect(summary).toMatchObject({ copied: names.length, failed: [] });
    expect(peak).toBe(4);
    expect(calls).toMatchObject({ list: 2, stat: 0 });
  });

  it("checks each file before the next is read when one file fills the session's memory share", async () => {
    // Arrange: 64 KiB for the session's copies: one file's 64 KiB buffer is all it may hold
    const { calls, connect } = server();
    const s3 = new MemoryS3();

    // Act
    const summary = await runMirror(
      connect,
      s3,
      "b",
      request,
      options({ copy: { tagWithSha256: false, memoryBudget: 64 * 1024 } }),
    );

    // Assert: each file checked on its own once it is read (a batch of one)
    expect(summary).toMatchObject({ copied: names.length, failed: [] });
    expect(calls).toMatchObject({ list: 1, stat: names.length });
  });

  it("commits none of the files waiting for their check when the run is stopped", async () => {
    // Arrange: the stop comes as the last file is read, before the re-listing
    const stop = new AbortController();
    const { calls, connect } = server({
      onRetr: (_path, count) => {
        if (count === names.length) stop.abort(new TransferAbortedError("interrupted (SIGINT)"));
      },
    });
    const s3 = new MemoryS3();

    // Act
    const summary = await runMirror(connect, s3, "b", request, options({ signal: stop.signal }));

    // Assert
    expect(summary.copied).toBe(0);
    expect(summary.failed).toHaveLength(names.length);
    expect(new Set(summary.failed.map((f) => f.code))).toEqual(new Set(["ABORTED"]));
    expect(calls.list).toBe(1); // the planning's only: nothing is sent once stopped
    expect(mirrored(s3)).toEqual([]);
  });

  it("checks and commits the waiting files before the rest goes to the queue when time runs short", async () => {
    // Arrange: time runs out once 18 files are read
    const { calls, connect } = server();
    const queued: PlannedFile[] = [];
    const s3 = new MemoryS3();

    // Act
    const summary = await runMirror(
      connect,
      s3,
      "b",
      request,
      options({
        enqueue: async (file) => {
          queued.push(file);
        },
        inlineBudget: { files: 100, bytes: 1e9 },
        outOfTime: () => calls.retr >= 18,
      }),
    );

    // Assert
    expect(summary).toMatchObject({ copied: 18, enqueued: 2, failed: [], changed: [] });
    expect(queued.map((f) => f.relativePath)).toEqual(names.slice(18));
    expect(calls).toMatchObject({ list: 2, stat: 0 });
    expect(mirrored(s3)).toEqual(names.slice(0, 18).map((n) => `in/${n}`));
  });

  it("checks the files read before a session broke on the session opened after it", async () => {
    // Arrange: the connection breaks while f10 is read
    const { calls, connect } = server({ failRetrOf: "/data/f10.txt" });
    const s3 = new MemoryS3();

    // Act
    const summary = await runMirror(connect, s3, "b", request, options());

    // Assert
    expect(summary.copied).toBe(names.length - 1);
    expect(summary.failed.map((f) => f.path)).toEqual(["/data/f10.txt"]);
    expect(calls).toMatchObject({ sessions: 2, list: 2, stat: 0 });
  });
});

describe("which directories batch their checks", () => {
  const planned = (dir: string, count: number): PlannedFile[] =>
    Array.from({ length: count }, (_, n) => ({
      path: remoteFilePath(`${dir}/f${n}`),
      relativePath: `f${n}`,
      key: objectKey(`in/f${n}`),
      size: 3,
      version: modifiedAt.toISOString(),
      modifiedAt,
    }));

  it("takes a directory with enough files to copy and a listing short enough to read again", () => {
    const files = [...planned("/few", MIN_FILES_TO_BATCH - 1), ...planned("/many", MIN_FILES_TO_BATCH)];
    const sizes = new Map([
      ["/few", 100],
      ["/many", 100],
      ["/huge", MIN_FILES_TO_BATCH * 64 + 1],
    ]);

    expect(directoriesToBatch(files, sizes)).toEqual(new Set(["/many"]));
    expect(directoriesToBatch(planned("/huge", MIN_FILES_TO_BATCH), sizes)).toEqual(new Set());
    expect(directoriesToBatch(planned("/unknown", MIN_FILES_TO_BATCH), sizes)).toEqual(new Set());
  });
});

describe("a copy whose after-copy facts the caller supplies (CopyOptions.recheck)", () => {
  const path = remoteFilePath("/in/k.txt");
  const target = { bucket: "b", key: objectKey("k.txt") };
  const known: RemoteFileInfo = { size: 3, modifiedAt };

  function source(log: string[]): FileSource {
    return {
      ...readOnlyChanges,
      urlOf: (p) => `ftp://h${p}`,
      list: async () => [],
      stat: async () => {
        throw new Error("no stat: the caller supplies the facts");
      },
      download: async (_path, destination) => {
        destination.end(Buffer.from("abc"));
        log.push("read");
        return { code: 226, message: "Transfer complete" };
      },
      close: () => {},
    };
  }

  it("releases the session first, and commits only once the facts equal the first look", async () => {
    // Arrange
    const log: string[] = [];
    const s3 = new MemoryS3();
    let supply: (facts: RemoteFileInfo | null) => void = () => {};
    const facts = new Promise<RemoteFileInfo | null>((resolve) => {
      supply = resolve;
    });

    // Act
    const copying = copyFile(
      source(log),
      s3,
      { path, target, ifExists: "create", known },
      {
        tagWithSha256: false,
        recheck: (asked, before) => {
          log.push(`recheck ${asked} ${before.size}`);
          return facts;
        },
        onDownloaded: () => log.push("released"),
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    const beforeFacts = s3.objects.size;
    supply({ size: 3, modifiedAt: new Date(modifiedAt.getTime() + 400) }); // the same second
    const outcome = await copying;

    // Assert
    expect(log).toEqual(["read", "recheck /in/k.txt 3", "released"]);
    expect(beforeFacts).toBe(0);
    expect(outcome.status).toBe("copied");
    expect(s3.objects.get("k.txt")?.bytes.toString()).toBe("abc");
  });

  it("stores nothing when the facts say the file is gone or changed, or cannot be had", async () => {
    const attempt = (facts: () => Promise<RemoteFileInfo | null>) => {
      const s3 = new MemoryS3();
      const copying = copyFile(
        source([]),
        s3,
        { path, target, ifExists: "create", known },
        { tagWithSha256: false, recheck: facts },
      );
      return { s3, copying };
    };

    const gone = attempt(async () => null);
    await expect(gone.copying).rejects.toThrow(
      new SourceChangedError(
        "ftp://h/in/k.txt changed while it was copied (it was 3 bytes modified 2026-01-02T03:04:05.000Z, it is gone): nothing was stored, it is left for the next run",
      ),
    );
    const grown = attempt(async () => ({ size: 4, modifiedAt }));
    await expect(grown.copying).rejects.toBeInstanceOf(SourceChangedError);
    const failed = attempt(async () => {
      throw new FtpConnectionError("ftp://h: the control connection failed: ECONNRESET");
    });
    await expect(failed.copying).rejects.toBeInstanceOf(FtpConnectionError);
    for (const { s3 } of [gone, grown, failed]) {
      expect(s3.objects.size).toBe(0);
      expect(s3.openUploads()).toEqual([]);
    }
  });

  it("lets go of the download's destination once the file is read: its check may wait for seconds", async () => {
    // Arrange: basic-ftp's pipeline leaves its listeners on the destination, holding the data socket.
    let socket: WeakRef<object> | undefined;
    const leavesListeners: FileSource = {
      ...source([]),
      download: async (_path, destination) => {
        const dataSocket = { received: Buffer.alloc(1024) };
        destination.on("close", () => dataSocket.received.length);
        socket = new WeakRef(dataSocket);
        destination.end(Buffer.from("abc"));
        return { code: 226, message: "Transfer complete" };
      },
    };
    let supply: (facts: RemoteFileInfo | null) => void = () => {};
    let asked: () => void = () => {};
    const waiting = new Promise<void>((resolve) => {
      asked = resolve;
    });

    // Act
    const copying = copyFile(
      leavesListeners,
      new MemoryS3(),
      { path, target, ifExists: "create", known },
      {
        tagWithSha256: false,
        recheck: () => {
          asked();
          return new Promise((resolve) => {
            supply = resolve;
          });
        },
      },
    );
    await waiting;
    await new Promise((resolve) => setImmediate(resolve)); // a WeakRef holds its target until the job ends
    collectGarbage();
    const heldWhileWaiting = socket?.deref() !== undefined;
    supply(known);

    // Assert
    expect(heldWhileWaiting).toBe(false);
    expect((await copying).status).toBe("copied");
  });
});

/** A full collection, from a test run without --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}
