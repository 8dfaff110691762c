import { createHash } from "node:crypto";
import { PassThrough, type Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import {
  DataConnectionError,
  FtpReplyError,
  ObjectExistsError,
  S3Error,
  SizeMismatchError,
  TransferTimeoutError,
} from "../../functions/core/errors.js";
import type {
  CancelReport,
  FileSource,
  FtpReply,
  ObjectSink,
  ObjectUpload,
  RemoteFileInfo,
  UploadOptions,
} from "../../functions/core/ports.js";
import type { ProgressSnapshot } from "../../functions/core/progress.js";
import { type CopyRequest, copyFile } from "../../functions/core/transfer.js";

const target = { bucket: "b", key: "k.bin" };
const request: CopyRequest = { path: "/in/k.bin", target, ifExists: "fail" };
const modifiedAt = new Date("2026-01-02T03:04:05Z");

type DownloadScript = (destination: Writable, signal: AbortSignal) => Promise<FtpReply>;

/** A source whose RETR does what the test says; it ends its destination like basic-ftp does. */
function fakeSource(info: RemoteFileInfo, script: DownloadScript): FileSource & { closed: boolean } {
  return {
    closed: false,
    urlOf: (path) => `ftp://h${path}`,
    list: async () => [],
    stat: async () => info,
    download: async (_path, destination, signal) => {
      try {
        return await script(destination, signal);
      } finally {
        destination.end(); // basic-ftp's finally: the intake must not pass this on
      }
    },
    close() {
      this.closed = true;
    },
  };
}

const serve =
  (data: Buffer, reply: FtpReply = { code: 226, message: "Transfer complete" }): DownloadScript =>
  async (destination) => {
    for (let offset = 0; offset < data.length; offset += 1000)
      destination.write(data.subarray(offset, offset + 1000));
    return reply;
  };

interface MemoryUpload {
  options: UploadOptions;
  received: Buffer[];
  bodyEnded: boolean;
  committed: boolean;
  cancelled: Error | undefined;
}

/** A sink that keeps objects in a map; what a test configures decides how S3 behaves. */
function memorySink(
  behaviour: {
    existing?: string[];
    existingMetadata?: Record<string, string>;
    failUploadWith?: Error;
    cancelReport?: CancelReport;
    tagError?: Error;
  } = {},
) {
  const objects = new Map<string, Buffer>();
  const tags = new Map<string, Record<string, string>>();
  const uploads: MemoryUpload[] = [];
  for (const key of behaviour.existing ?? []) objects.set(key, Buffer.from("old"));
  const sink: ObjectSink = {
    list: async () => [],
    readText: async () => null,
    writeText: async () => {},
    delete: async () => [],
    head: async ({ key }) => {
      const object = objects.get(key);
      return object === undefined
        ? null
        : { size: object.length, etag: "old-etag", metadata: behaviour.existingMetadata ?? {} };
    },
    startUpload({ key }, options): ObjectUpload {
      const body = new PassThrough();
      const record: MemoryUpload = {
        options,
        received: [],
        bodyEnded: false,
        committed: false,
        cancelled: undefined,
      };
      uploads.push(record);
      body.on("data", (chunk: Buffer) => record.received.push(chunk));
      const ended = new Promise<void>((resolve) => body.on("end", resolve));
      body.on("end", () => {
        record.bodyEnded = true;
      });
      body.on("error", () => {});
      return {
        body,
        failed: behaviour.failUploadWith
          ? new Promise<never>((_, reject) => setTimeout(() => reject(behaviour.failUploadWith), 5))
          : new Promise<never>(() => {}),
        async commit() {
          body.end();
          await ended;
          record.committed = true;
          objects.set(key, Buffer.concat(record.received));
          return { etag: "etag-1", versionId: undefined };
        },
        async cancel(reason) {
          record.cancelled = reason;
          body.destroy();
          return behaviour.cancelReport ?? { uploadId: "u-1", clean: true, error: undefined };
        },
      };
    },
    async tag({ key }, t) {
      if (behaviour.tagError) throw behaviour.tagError;
      tags.set(key, t);
    },
  };
  return { sink, objects, tags, uploads };
}

describe("copyFile", () => {
  it("streams the bytes into the object, then commits with digest, metadata and tag", async () => {
    // Arrange
    const data = Buffer.from("x".repeat(12_345));
    const source = fakeSource({ size: data.length, modifiedAt }, serve(data));
    const { sink, objects, tags, uploads } = memorySink();

    // Act
    const result = await copyFile(source, sink, request, { partSize: 5 * 2 ** 20 });

    // Assert
    const sha256 = createHash("sha256").update(data).digest("hex");
    expect(objects.get("k.bin")).toEqual(data);
    expect(result).toMatchObject({
      bucket: "b",
      key: "k.bin",
      bytes: 12_345,
      etag: "etag-1",
      sha256,
      ftpReply: { code: 226, message: "Transfer complete" },
      source: { url: "ftp://h/in/k.bin", size: 12_345, modifiedAt: "2026-01-02T03:04:05.000Z" },
      sizeCheck: "matched",
      partSize: 5 * 2 ** 20,
      tagged: true,
    });
    expect(tags.get("k.bin")).toEqual({ sha256 });
    expect(uploads[0]?.options).toEqual({
      partSize: 5 * 2 ** 20,
      queueSize: 4,
      metadata: {
        "source-url": "ftp://h/in/k.bin",
        "source-size": "12345",
        "source-mtime": "2026-01-02T03:04:05.000Z",
      },
      ifNoneMatch: true,
    });
  });

  it("does not end the upload body when the source ends its destination and then fails (426)", async () => {
    const data = Buffer.alloc(5000, 1);
    const source = fakeSource({ size: data.length, modifiedAt }, async (destination) => {
      await serve(data)(destination, new AbortController().signal);
      throw new FtpReplyError("RETR ftp://h/in/k.bin failed: 426 Aborted", 426, "Aborted");
    });
    const { sink, objects, uploads } = memorySink();

    await expect(copyFile(source, sink, request)).rejects.toMatchObject({ code: "FTP_REPLY", ftpCode: 426 });

    expect(objects.has("k.bin")).toBe(false);
    expect(uploads[0]?.bodyEnded).toBe(false);
    expect(uploads[0]?.committed).toBe(false);
    expect(uploads[0]?.cancelled).toBeInstanceOf(FtpReplyError);
  });

  it("refuses a final reply that is not 2xx even when the source resolved with it", async () => {
    const source = fakeSource(
      { size: 3, modifiedAt },
      serve(Buffer.from("abc"), { code: 451, message: "Local error" }),
    );
    const { sink, objects } = memorySink();

    await expect(copyFile(source, sink, request)).rejects.toThrow(
      "RETR ftp://h/in/k.bin ended with 451 Local error",
    );
    expect(objects.size).toBe(0);
  });

  it("refuses a byte count other than SIZE and says both numbers", async () => {
    const source = fakeSource({ size: 10_000, modifiedAt }, serve(Buffer.alloc(9_000)));
    const { sink, objects, uploads } = memorySink();

    const copying = copyFile(source, sink, request);

    await expect(copying).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(copying).rejects.toThrow(/after 9000 bytes, but SIZE announced 10000/);
    expect(objects.size).toBe(0);
    expect(uploads[0]?.cancelled).toBeInstanceOf(SizeMismatchError);
  });

  it("commits without a size check when the server gave no SIZE, and says so", async () => {
    const source = fakeSource({ size: null, modifiedAt: null }, serve(Buffer.alloc(700)));
    const { sink, uploads } = memorySink();

    const result = await copyFile(source, sink, request);

    expect(result).toMatchObject({
      bytes: 700,
      sizeCheck: "skipped",
      source: { size: null, modifiedAt: null },
    });
    expect(uploads[0]?.options.metadata).toEqual({ "source-url": "ftp://h/in/k.bin" });
    expect(uploads[0]?.options.partSize).toBe(16 * 2 ** 20);
  });

  it("stops the download when the upload fails under it and reports the S3 error", async () => {
    let downloadSignal: AbortSignal | undefined;
    const source = fakeSource({ size: 1000, modifiedAt }, (_destination, signal) => {
      downloadSignal = signal;
      // A download that only ends when it is told to stop.
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    });
    const s3Failure = new S3Error("upload to s3://b/k.bin failed: InternalError (HTTP 500)", 500);
    const { sink, objects } = memorySink({ failUploadWith: s3Failure });

    await expect(copyFile(source, sink, request)).rejects.toBe(s3Failure);
    expect(downloadSignal?.aborted).toBe(true);
    expect(objects.size).toBe(0);
  });

  it("turns the caller's deadline into the error and aborts the upload", async () => {
    const deadline = new AbortController();
    const source = fakeSource({ size: 1000, modifiedAt }, (destination, signal) => {
      destination.write(Buffer.alloc(10));
      deadline.abort(new TransferTimeoutError("the Lambda deadline is near"));
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("closed"))));
    });
    const { sink, uploads } = memorySink();

    await expect(copyFile(source, sink, request, { signal: deadline.signal })).rejects.toThrow(
      "the Lambda deadline is near",
    );
    expect(uploads[0]?.cancelled).toBeInstanceOf(TransferTimeoutError);
  });

  it("refuses to start when the key exists and overwriting is off", async () => {
    const source = fakeSource({ size: 3, modifiedAt }, serve(Buffer.from("abc")));
    const { sink, objects, uploads } = memorySink({ existing: ["k.bin"] });

    await expect(copyFile(source, sink, request)).rejects.toBeInstanceOf(ObjectExistsError);
    expect(uploads).toHaveLength(0);
    expect(objects.get("k.bin")?.toString()).toBe("old");

    await copyFile(source, sink, { ...request, ifExists: "replace" });
    expect(objects.get("k.bin")?.toString()).toBe("abc");
  });

  describe("skip-unchanged", () => {
    const recorded = {
      "source-url": "ftp://h/in/k.bin",
      "source-size": "3",
      "source-mtime": "2026-01-02T03:04:05.000Z",
    };

    it("leaves an object that records the same source, size and time, without reading the file", async () => {
      const retr = vi.fn(serve(Buffer.from("new")));
      const source = fakeSource({ size: 3, modifiedAt }, retr);
      const { sink, objects, uploads } = memorySink({ existing: ["k.bin"], existingMetadata: recorded });

      const result = await copyFile(source, sink, { ...request, ifExists: "skip-unchanged" });

      expect(result).toMatchObject({ status: "unchanged", key: "k.bin", bytes: 3, etag: "old-etag" });
      expect(retr).not.toHaveBeenCalled();
      expect(uploads).toHaveLength(0);
      expect(objects.get("k.bin")?.toString()).toBe("old");
    });

    it.each([
      ["a newer modification time", { size: 3, modifiedAt: new Date("2026-02-01T00:00:00Z") }, recorded],
      ["another size", { size: 4, modifiedAt }, recorded],
      ["no SIZE from the server", { size: null, modifiedAt }, recorded],
      ["another source", { size: 3, modifiedAt }, { ...recorded, "source-url": "ftp://other/in/k.bin" }],
    ])("copies again given %s", async (_name, info, metadata) => {
      const data = Buffer.alloc(info.size ?? 3, 7);
      const source = fakeSource(info, serve(data));
      const { sink, objects } = memorySink({ existing: ["k.bin"], existingMetadata: metadata });

      const result = await copyFile(source, sink, { ...request, ifExists: "skip-unchanged" });

      expect(result.status).toBe("copied");
      expect(objects.get("k.bin")).toEqual(data);
    });
  });

  it("warns about a failed abort but rejects with the original error", async () => {
    const source = fakeSource({ size: 3, modifiedAt }, async () => {
      throw new DataConnectionError("ftp://h/in/k.bin: the data connection failed: ECONNRESET");
    });
    const abortError = new Error("aborting upload u-1: MethodNotAllowed (HTTP 405)");
    const { sink } = memorySink({ cancelReport: { uploadId: "u-1", clean: false, error: abortError } });
    const onWarning = vi.fn();

    await expect(copyFile(source, sink, request, { onWarning })).rejects.toBeInstanceOf(DataConnectionError);
    expect(onWarning).toHaveBeenCalledWith(
      "could not abort the multipart upload of s3://b/k.bin; the lifecycle rule will",
      { uploadId: "u-1", reason: abortError.message },
    );
  });

  it("keeps a committed object when only the tag fails, and says so", async () => {
    const source = fakeSource({ size: 3, modifiedAt }, serve(Buffer.from("abc")));
    const { sink, objects } = memorySink({ tagError: new Error("AccessDenied") });
    const onWarning = vi.fn();

    const result = await copyFile(source, sink, request, { onWarning });

    expect(result).toMatchObject({ status: "copied", tagged: false });
    expect(objects.get("k.bin")?.toString()).toBe("abc");
    expect(onWarning).toHaveBeenCalledWith("committed s3://b/k.bin but could not tag it with its SHA-256", {
      reason: "AccessDenied",
    });
  });

  it("reports progress from 0 to the full count", async () => {
    let clock = 0;
    const source = fakeSource({ size: 3000, modifiedAt }, async (destination) => {
      for (let i = 0; i < 3; i += 1) {
        clock += 1000;
        destination.write(Buffer.alloc(1000));
      }
      return { code: 226, message: "ok" };
    });
    const reports: ProgressSnapshot[] = [];

    await copyFile(source, memorySink().sink, request, {
      progressIntervalMs: 1000,
      onProgress: (s) => reports.push(s),
      now: () => clock,
    });

    expect(reports.map((r) => [r.bytes, r.percent, r.done])).toEqual([
      [0, 0, false],
      [1000, 33.3, false],
      [2000, 66.7, false],
      [3000, 100, false],
      [3000, 100, true],
    ]);
  });

  it.each([
    ["/in/", /does not name a file/],
    ["/in/a\r\nDELE b", /contains CR, LF or NUL/],
  ])("refuses the remote path %j before talking to anyone", async (path, message) => {
    const source = fakeSource({ size: 3, modifiedAt }, serve(Buffer.from("abc")));
    const stat = vi.spyOn(source, "stat");

    await expect(copyFile(source, memorySink().sink, { ...request, path })).rejects.toThrow(message);
    expect(stat).not.toHaveBeenCalled();
  });
});
