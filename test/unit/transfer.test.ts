import { createHash, randomBytes } from "node:crypto";
import type { Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import {
  DataConnectionError,
  FtpReplyError,
  ObjectExistsError,
  S3Error,
  SizeMismatchError,
  SourceChangedError,
  TransferTimeoutError,
} from "../../functions/core/errors.js";
import { objectKey } from "../../functions/core/locations.js";
import { partSize as toPartSize } from "../../functions/core/part-size.js";
import { remoteFilePath } from "../../functions/core/paths.js";
import type { FileSource, FtpReply, RemoteFileInfo } from "../../functions/core/ports.js";
import type { ProgressSnapshot } from "../../functions/core/progress.js";
import { type CopyRequest, copyFile } from "../../functions/core/transfer.js";
import { sha256 } from "../support/bytes.js";
import { MemoryS3 } from "../support/memory-s3.js";
import { readOnlyChanges } from "../support/memory-source.js";

const target = { bucket: "b", key: objectKey("k.bin") };
const request: CopyRequest = { path: remoteFilePath("/in/k.bin"), target, ifExists: "fail" };
const modifiedAt = new Date("2026-01-02T03:04:05Z");
const MiB = 2 ** 20;

type DownloadScript = (destination: Writable, signal: AbortSignal) => Promise<FtpReply>;

/** A source whose RETR does what the test says; it ends its destination like basic-ftp does. */
function fakeSource(info: RemoteFileInfo, script: DownloadScript): FileSource & { closed: boolean } {
  return {
    closed: false,
    urlOf: (path) => `ftp://h${path}`,
    ...readOnlyChanges,
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

/** Writes the bytes in 1000-byte chunks, as fast as the destination takes them (no waiting). */
const serve =
  (data: Buffer, reply: FtpReply = { code: 226, message: "Transfer complete" }): DownloadScript =>
  async (destination) => {
    for (let offset = 0; offset < data.length; offset += 1000)
      destination.write(data.subarray(offset, offset + 1000));
    return reply;
  };

/** Writes the bytes in 64 KiB chunks, waiting for "drain" like a socket does (backpressure). */
async function pour(destination: Writable, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; offset += 64 * 1024) {
    if (!destination.write(data.subarray(offset, offset + 64 * 1024))) {
      await new Promise((resolve) => destination.once("drain", resolve));
    }
  }
}

const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");

/** Nothing is left of a failed copy: no object, no upload open, nothing committed. */
function expectNothingStored(s3: MemoryS3): void {
  expect(s3.objects.size).toBe(0);
  expect(s3.openUploads()).toEqual([]);
  expect(s3.sent("PutObject")).toEqual([]);
  expect(s3.sent("CompleteMultipartUpload")).toEqual([]);
}

describe("copyFile", () => {
  it("streams the bytes into the object, then commits with digest, metadata and tag", async () => {
    // Arrange
    const data = Buffer.from("x".repeat(12_345));
    const source = fakeSource({ size: data.length, modifiedAt }, serve(data));
    const s3 = new MemoryS3();

    // Act
    const result = await copyFile(source, s3, request, { partSize: toPartSize(5 * 2 ** 20) });

    // Assert
    const digest = sha256(data);
    expect(s3.objects.get("k.bin")?.bytes).toEqual(data);
    expect(result).toMatchObject({
      bucket: "b",
      key: "k.bin",
      bytes: 12_345,
      etag: md5(data),
      sha256: digest,
      ftpReply: { code: 226, message: "Transfer complete" },
      source: { url: "ftp://h/in/k.bin", size: 12_345, modifiedAt: "2026-01-02T03:04:05.000Z" },
      sizeCheck: "matched",
      partSize: 5 * 2 ** 20,
      tagged: true,
    });
    expect(s3.tags.get("k.bin")).toEqual({ sha256: digest });
    expect(s3.objects.get("k.bin")?.metadata).toEqual({
      "source-url": "ftp://h/in/k.bin",
      "source-size": "12345",
      "source-mtime": "2026-01-02T03:04:05.000Z",
    });
    // A file within one part: one conditional PutObject carrying its tag; no multipart upload.
    expect(s3.requests.map((r) => r.operation)).toEqual(["HeadObject", "PutObject"]);
    expect(s3.sent("PutObject")[0]).toMatchObject({
      bytes: 12_345,
      ifNoneMatch: true,
      tags: { sha256: digest },
    });
  });

  it("uploads a file of several parts with the default queue of four parts at once", async () => {
    const partSize = toPartSize(5 * MiB);
    const data = randomBytes(6 * partSize + 123);
    const source = fakeSource({ size: data.length, modifiedAt }, async (destination) => {
      await pour(destination, data);
      return { code: 226, message: "Transfer complete" };
    });
    const s3 = new MemoryS3();
    let inFlight = 0;
    let mostInFlight = 0;
    s3.fault = async ({ operation }) => {
      if (operation !== "UploadPart") return;
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
    };

    const result = await copyFile(source, s3, request, { partSize });

    expect(result).toMatchObject({ status: "copied", bytes: data.length, partSize, sha256: sha256(data) });
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
    expect(s3.sent("UploadPart").map((r) => r.bytes)).toEqual([...Array(6).fill(partSize), 123]);
    expect(mostInFlight).toBe(4);
    expect(s3.sent("CompleteMultipartUpload")).toMatchObject([{ ifNoneMatch: true }]);
    expect(s3.uploads.size).toBe(0);
  });

  it.each([
    ["within one part", 5000],
    ["of several parts", 11 * MiB],
  ])(
    "does not store a file %s when the source ends its destination and then fails (426)",
    async (_name, size) => {
      const data = randomBytes(size);
      const source = fakeSource({ size: data.length, modifiedAt }, async (destination) => {
        await pour(destination, data);
        throw new FtpReplyError("RETR ftp://h/in/k.bin failed: 426 Aborted", 426, "Aborted");
      });
      const s3 = new MemoryS3();

      await expect(copyFile(source, s3, request, { partSize: toPartSize(5 * MiB) })).rejects.toMatchObject({
        code: "FTP_REPLY",
        ftpCode: 426,
      });

      expectNothingStored(s3);
      // Whatever multipart upload was opened for the parts is aborted.
      expect(s3.sent("AbortMultipartUpload").map((r) => r.uploadId)).toEqual(
        s3.sent("CreateMultipartUpload").map((r) => r.uploadId),
      );
      if (size > 5 * MiB) expect(s3.sent("AbortMultipartUpload")).toHaveLength(1);
    },
  );

  it("refuses a final reply that is not 2xx even when the source resolved with it", async () => {
    const source = fakeSource(
      { size: 3, modifiedAt },
      serve(Buffer.from("abc"), { code: 451, message: "Local error" }),
    );
    const s3 = new MemoryS3();

    await expect(copyFile(source, s3, request)).rejects.toThrow(
      "RETR ftp://h/in/k.bin ended with 451 Local error",
    );
    expectNothingStored(s3);
  });

  it("refuses a byte count other than SIZE and says both numbers", async () => {
    const source = fakeSource({ size: 10_000, modifiedAt }, serve(Buffer.alloc(9_000)));
    const s3 = new MemoryS3();

    const copying = copyFile(source, s3, request);

    await expect(copying).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(copying).rejects.toThrow(/after 9000 bytes, but SIZE announced 10000/);
    expectNothingStored(s3);
  });

  it("a file that grows past SIZE while read from byte 0 changed (still being written): nothing stored", async () => {
    const source = fakeSource({ size: 1_000, modifiedAt }, serve(Buffer.alloc(1_500)));
    const s3 = new MemoryS3();

    const copying = copyFile(source, s3, request);

    await expect(copying).rejects.toBeInstanceOf(SourceChangedError);
    await expect(copying).rejects.toThrow(
      "ftp://h/in/k.bin grew past the 1000 bytes SIZE announced while it was read (still being written): nothing was stored, it is left for the next run",
    );
    expectNothingStored(s3);
  });

  it("commits without a size check when the server gave no SIZE, and says so", async () => {
    const source = fakeSource({ size: null, modifiedAt: null }, serve(Buffer.alloc(700)));
    const s3 = new MemoryS3();

    const result = await copyFile(source, s3, request);

    expect(result).toMatchObject({
      bytes: 700,
      sizeCheck: "skipped",
      source: { size: null, modifiedAt: null },
      partSize: 16 * 2 ** 20,
    });
    expect(s3.objects.get("k.bin")?.metadata).toEqual({ "source-url": "ftp://h/in/k.bin" });
    expect(s3.objects.get("k.bin")?.bytes).toEqual(Buffer.alloc(700));
  });

  it.each([
    [
      "a one-part file that grew",
      3000,
      { size: 3500, modifiedAt },
      "3500 bytes modified 2026-01-02T03:04:05.000Z",
    ],
    [
      "a multipart file rewritten at the same size",
      12 * MiB,
      { size: 12 * MiB, modifiedAt: new Date("2026-01-02T03:05:00Z") },
      `${12 * MiB} bytes modified 2026-01-02T03:05:00.000Z`,
    ],
  ])(
    "refuses %s while it was copied (SIZE or MDTM after the transfer), leaving nothing",
    async (_, bytes, after, now) => {
      // Arrange: the server answers SIZE and MDTM anew after the RETR
      const looks = [{ size: bytes, modifiedAt }, after];
      const source = {
        ...fakeSource(looks[0] as RemoteFileInfo, serve(Buffer.alloc(bytes))),
        stat: async () => looks.shift() as RemoteFileInfo,
      };
      const s3 = new MemoryS3();

      // Act
      const copying = copyFile(
        source,
        s3,
        { ...request, ifExists: "replace" },
        { partSize: toPartSize(5 * MiB) },
      );

      // Assert
      await expect(copying).rejects.toBeInstanceOf(SourceChangedError);
      await expect(copying).rejects.toThrow(
        `ftp://h/in/k.bin changed while it was copied (it was ${bytes} bytes modified 2026-01-02T03:04:05.000Z, it is now ${now}): nothing was stored, it is left for the next run`,
      );
      expect(s3.objects.size).toBe(0);
      expect(s3.openUploads()).toEqual([]);
      expect(s3.sent("CompleteMultipartUpload")).toEqual([]);
      expect(s3.sent("PutObject")).toEqual([]);
    },
  );

  it("commits when the second look agrees to the second, or gives nothing to compare", async () => {
    const later = new Date(modifiedAt.getTime() + 400); // MLSD's modify and MDTM may differ in fractions
    for (const after of [
      { size: 700, modifiedAt: later },
      { size: null, modifiedAt: null },
    ]) {
      const looks = [{ size: 700, modifiedAt }, after];
      const source = {
        ...fakeSource(looks[0] as RemoteFileInfo, serve(Buffer.alloc(700))),
        stat: async () => looks.shift() as RemoteFileInfo,
      };
      const s3 = new MemoryS3();

      await expect(copyFile(source, s3, { ...request, ifExists: "replace" })).resolves.toMatchObject({
        status: "copied",
        bytes: 700,
      });
    }
  });

  it("stops the download when the upload fails under it and reports the S3 error", async () => {
    let downloadSignal: AbortSignal | undefined;
    const source = fakeSource({ size: 11 * MiB, modifiedAt }, async (destination, signal) => {
      downloadSignal = signal;
      // More than a part, then a download that only ends when it is told to stop.
      await pour(destination, randomBytes(6 * MiB));
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    });
    const s3Failure = new S3Error("upload to s3://b/k.bin failed: InternalError (HTTP 500)", 500);
    const s3 = new MemoryS3();
    s3.fault = ({ operation }) => {
      if (operation === "UploadPart") throw s3Failure;
    };

    await expect(copyFile(source, s3, request, { partSize: toPartSize(5 * MiB) })).rejects.toBe(s3Failure);
    expect(downloadSignal?.aborted).toBe(true);
    expectNothingStored(s3);
    expect(s3.sent("AbortMultipartUpload")).toHaveLength(1);
  });

  it("turns the caller's deadline into the error and aborts the upload", async () => {
    const deadline = new AbortController();
    const source = fakeSource({ size: 1000, modifiedAt }, (destination, signal) => {
      destination.write(Buffer.alloc(10));
      deadline.abort(new TransferTimeoutError("the Lambda deadline is near"));
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("closed"))));
    });
    const s3 = new MemoryS3();

    await expect(copyFile(source, s3, request, { signal: deadline.signal })).rejects.toThrow(
      "the Lambda deadline is near",
    );
    expectNothingStored(s3);
  });

  it("refuses to start when the key exists and overwriting is off", async () => {
    const source = fakeSource({ size: 3, modifiedAt }, serve(Buffer.from("abc")));
    const s3 = new MemoryS3();
    s3.seed("k.bin", Buffer.from("old"));

    await expect(copyFile(source, s3, request)).rejects.toBeInstanceOf(ObjectExistsError);
    expect(s3.requests.map((r) => r.operation)).toEqual(["HeadObject"]);
    expect(s3.objects.get("k.bin")?.bytes.toString()).toBe("old");

    await copyFile(source, s3, { ...request, ifExists: "replace" });
    expect(s3.objects.get("k.bin")?.bytes.toString()).toBe("abc");
    expect(s3.sent("PutObject")).toMatchObject([{ ifNoneMatch: false }]);
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
      const s3 = new MemoryS3();
      s3.seed("k.bin", Buffer.from("old"), recorded);

      const result = await copyFile(source, s3, { ...request, ifExists: "skip-unchanged" });

      expect(result).toMatchObject({
        status: "unchanged",
        key: "k.bin",
        bytes: 3,
        etag: md5(Buffer.from("old")),
      });
      expect(retr).not.toHaveBeenCalled();
      expect(s3.requests.map((r) => r.operation)).toEqual(["HeadObject"]);
      expect(s3.objects.get("k.bin")?.bytes.toString()).toBe("old");
    });

    it.each([
      ["a newer modification time", { size: 3, modifiedAt: new Date("2026-02-01T00:00:00Z") }, recorded],
      ["another size", { size: 4, modifiedAt }, recorded],
      ["no SIZE from the server", { size: null, modifiedAt }, recorded],
      ["another source", { size: 3, modifiedAt }, { ...recorded, "source-url": "ftp://other/in/k.bin" }],
    ])("copies again given %s", async (_name, info, metadata) => {
      const data = Buffer.alloc(info.size ?? 3, 7);
      const source = fakeSource(info, serve(data));
      const s3 = new MemoryS3();
      s3.seed("k.bin", Buffer.from("old"), metadata);

      const result = await copyFile(source, s3, { ...request, ifExists: "skip-unchanged" });

      expect(result.status).toBe("copied");
      expect(s3.objects.get("k.bin")?.bytes).toEqual(data);
    });
  });

  it("warns about a failed abort but rejects with the original error", async () => {
    // Two parts' worth and more, so that a multipart upload is open when the data connection fails.
    const data = randomBytes(11 * MiB);
    const source = fakeSource({ size: data.length, modifiedAt }, async (destination) => {
      await pour(destination, data);
      throw new DataConnectionError("ftp://h/in/k.bin: the data connection failed: ECONNRESET");
    });
    const abortError = new S3Error("aborting upload upload-1: MethodNotAllowed (HTTP 405)", 405);
    const s3 = new MemoryS3();
    s3.fault = ({ operation }) => {
      if (operation === "AbortMultipartUpload") throw abortError;
    };
    const onWarning = vi.fn();

    await expect(
      copyFile(source, s3, request, { partSize: toPartSize(5 * MiB), onWarning }),
    ).rejects.toBeInstanceOf(DataConnectionError);
    expect(onWarning).toHaveBeenCalledWith(
      "could not abort the multipart upload of s3://b/k.bin; the lifecycle rule will",
      { uploadId: "upload-1", reason: abortError.message },
    );
    expect(s3.sent("AbortMultipartUpload")).toMatchObject([
      { uploadId: "upload-1", error: abortError.message },
    ]);
    expect(s3.objects.size).toBe(0);
  });

  it("stores a one-part file untagged when S3 refuses its tag (403), and says so", async () => {
    const source = fakeSource({ size: 3, modifiedAt }, serve(Buffer.from("abc")));
    const s3 = new MemoryS3();
    // On AWS, x-amz-tagging needs s3:PutObjectTagging as well: without it the whole PutObject is refused.
    s3.fault = ({ operation, tags }) => {
      if (operation === "PutObject" && tags !== undefined) throw new S3Error("AccessDenied (HTTP 403)", 403);
    };
    const onWarning = vi.fn();

    const result = await copyFile(source, s3, request, { onWarning });

    expect(result).toMatchObject({ status: "copied", tagged: false });
    expect(s3.objects.get("k.bin")?.bytes.toString()).toBe("abc");
    expect(s3.tags.has("k.bin")).toBe(false);
    expect(s3.sent("PutObject").map((r) => r.tags)).toEqual([{ sha256: expect.any(String) }, undefined]);
    expect(onWarning).toHaveBeenCalledWith("committed s3://b/k.bin but could not tag it with its SHA-256", {
      reason: "AccessDenied (HTTP 403)",
    });
  });

  it("keeps a committed multipart object when only its tagging request fails, and says so", async () => {
    const data = randomBytes(6 * MiB);
    const source = fakeSource({ size: data.length, modifiedAt }, serve(data));
    const s3 = new MemoryS3();
    s3.fault = ({ operation }) => {
      if (operation === "PutObjectTagging") throw new Error("AccessDenied");
    };
    const onWarning = vi.fn();

    const result = await copyFile(source, s3, request, { partSize: toPartSize(5 * MiB), onWarning });

    expect(result).toMatchObject({ status: "copied", tagged: false });
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
    expect(s3.tags.has("k.bin")).toBe(false);
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

    await copyFile(source, new MemoryS3(), request, {
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
    const s3 = new MemoryS3();

    // The check is the constructor of a RemoteFilePath: copyFile takes no path that skipped it.
    await expect(async () =>
      copyFile(source, s3, { ...request, path: remoteFilePath(path) }),
    ).rejects.toThrow(message);
    expect(stat).not.toHaveBeenCalled();
    expect(s3.requests).toEqual([]);
  });
});

describe("copyFile within a memory budget", () => {
  const TiB = 2 ** 40;

  it("refuses a SIZE whose one part does not fit the budget before reading or creating anything", async () => {
    // Arrange: a server announcing 4.9 TiB (S3 takes it in 514 MiB parts) and a 256 MiB budget.
    let retrs = 0;
    const source = fakeSource({ size: Math.floor(4.9 * TiB), modifiedAt }, async () => {
      retrs += 1;
      return { code: 226, message: "Transfer complete" };
    });
    const s3 = new MemoryS3();

    // Act
    const copying = copyFile(source, s3, request, { memoryBudget: 256 * MiB });

    // Assert
    await expect(copying).rejects.toMatchObject({
      code: "TOO_LARGE",
      message: expect.stringMatching(/needs 514 MiB of memory for one part buffer.*budget of 256 MiB/),
    });
    expect(retrs).toBe(0);
    expect(s3.sent("CreateMultipartUpload")).toEqual([]);
    expectNothingStored(s3);
  });

  it("shrinks the queue to the parts the budget holds and still stores the bytes whole", async () => {
    // Arrange: 6.5 parts of 5 MiB, a budget of two and a half buffers: two parts in flight at most.
    const partSize = toPartSize(5 * MiB);
    const data = randomBytes(6 * partSize + 4321);
    const source = fakeSource({ size: data.length, modifiedAt }, async (destination) => {
      await pour(destination, data);
      return { code: 226, message: "Transfer complete" };
    });
    const s3 = new MemoryS3();
    let inFlight = 0;
    let mostInFlight = 0;
    s3.fault = async ({ operation }) => {
      if (operation !== "UploadPart") return;
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
    };

    // Act
    const result = await copyFile(source, s3, request, {
      partSize,
      queueSize: 4,
      memoryBudget: 2.5 * partSize,
    });

    // Assert
    expect(result).toMatchObject({ status: "copied", bytes: data.length, partSize, sha256: sha256(data) });
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
    expect(mostInFlight).toBe(2);
  });

  it("checks a resumed leg's part size against the budget, and aborts the earlier upload", async () => {
    // Arrange: an earlier leg left one 10 MiB part of a 20 MiB file; this leg has 9 MiB (a fresh
    // copy would choose 5 MiB parts and fit, but the parts S3 holds fix the part size at 10 MiB).
    const data = randomBytes(20 * MiB);
    const s3 = new MemoryS3();
    const uploadId = await s3.createMultipartUpload(target, { metadata: {}, ifNoneMatch: true });
    await s3.uploadPart(target, uploadId, 1, data.subarray(0, 10 * MiB));
    let retrs = 0;
    const source = fakeSource({ size: data.length, modifiedAt }, async () => {
      retrs += 1;
      return { code: 226, message: "Transfer complete" };
    });
    const resumeFrom = {
      uploadId,
      offset: 10 * MiB,
      partSize: 10 * MiB,
      size: data.length,
      modifiedAt: modifiedAt.toISOString(),
      hashState: "not read",
    };

    // Act
    const copying = copyFile(
      source,
      s3,
      { ...request, resumeFrom },
      { partSize: toPartSize(5 * MiB), memoryBudget: 9 * MiB },
    );

    // Assert
    await expect(copying).rejects.toMatchObject({
      code: "TOO_LARGE",
      message: expect.stringMatching(/needs 10 MiB/),
    });
    expect(retrs).toBe(0);
    expect(s3.openUploads()).toEqual([]);
    expect(s3.objects.size).toBe(0);
  });
});
