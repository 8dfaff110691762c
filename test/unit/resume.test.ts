import { randomBytes } from "node:crypto";
import type { Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { FtpReplyError, RestartRefusedError } from "../../functions/core/errors.js";
import { objectKey } from "../../functions/core/locations.js";
import { partSize as toPartSize } from "../../functions/core/part-size.js";
import { remoteFilePath } from "../../functions/core/paths.js";
import type { FileSource, FtpReply, RemoteFileInfo } from "../../functions/core/ports.js";
import type { ProgressSnapshot } from "../../functions/core/progress.js";
import type { ResumePoint } from "../../functions/core/resume.js";
import {
  type CopyOptions,
  type CopyOutcome,
  type CopyRequest,
  copyFile,
  type SuspendedResult,
} from "../../functions/core/transfer.js";
import { sha256 } from "../support/bytes.js";
import { MemoryS3 } from "../support/memory-s3.js";
import { readOnlyChanges } from "../support/memory-source.js";

const MiB = 2 ** 20;
const partSize = toPartSize(5 * MiB);
const target = { bucket: "b", key: objectKey("k.bin") };
const request: CopyRequest = { path: remoteFilePath("/in/k.bin"), target, ifExists: "fail" };
const modifiedAt = new Date("2026-01-02T03:04:05Z");

interface ServerFile {
  data: Buffer;
  info: RemoteFileInfo;
  /** Refuse REST: a download from an offset rejects with RestartRefusedError. */
  refuseRest?: boolean;
  /** Send the bytes, then fail with this instead of confirming. */
  failAfterData?: () => Error;
  /** Answer REST with 350 but send the file from byte 0 anyway (a broken server). */
  ignoreRest?: boolean;
}

/**
 * A source serving `file.data` (which a test may swap between legs) from the offset asked, in 64 KiB
 * chunks with backpressure, a turn of the event loop between chunks, and stopping when told to.
 */
function fakeSource(file: ServerFile): FileSource & { startedAt: number[] } {
  const startedAt: number[] = [];
  return {
    startedAt,
    urlOf: (path) => `ftp://h${path}`,
    ...readOnlyChanges,
    list: async () => [],
    stat: async () => file.info,
    async download(
      _path: string,
      destination: Writable,
      signal: AbortSignal,
      startAt = 0,
    ): Promise<FtpReply> {
      startedAt.push(startAt);
      try {
        if (startAt > 0 && file.refuseRest) {
          throw new RestartRefusedError(`REST ${startAt} refused: 502 Command not implemented`);
        }
        const rest = file.data.subarray(file.ignoreRest ? 0 : startAt);
        for (let offset = 0; offset < rest.length; offset += 64 * 1024) {
          if (signal.aborted) throw signal.reason;
          if (!destination.write(rest.subarray(offset, offset + 64 * 1024))) {
            await new Promise((resolve) => destination.once("drain", resolve));
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (file.failAfterData) throw file.failAfterData();
        return { code: 226, message: "Transfer complete" };
      } finally {
        destination.end(); // like basic-ftp
      }
    },
    close() {},
  };
}

/** One leg: suspended once `suspendAfter` bytes (overall) have been received, if given. */
async function leg(
  source: FileSource,
  s3: MemoryS3,
  resumeFrom: ResumePoint | undefined,
  suspendAfter: number | undefined,
  options: Partial<CopyOptions> = {},
): Promise<{ outcome: CopyOutcome; progress: ProgressSnapshot[] }> {
  const suspend = new AbortController();
  const progress: ProgressSnapshot[] = [];
  const outcome = await copyFile(
    source,
    s3,
    resumeFrom === undefined ? request : { ...request, resumeFrom },
    {
      partSize,
      progressIntervalMs: 0,
      suspendSignal: suspend.signal,
      onProgress: (snapshot) => {
        progress.push(snapshot);
        if (suspendAfter !== undefined && snapshot.bytes >= suspendAfter) suspend.abort();
      },
      ...options,
    },
  );
  return { outcome, progress };
}

function suspended(outcome: CopyOutcome): SuspendedResult {
  expect(outcome.status).toBe("suspended");
  return outcome as SuspendedResult;
}

function resumePoint(outcome: CopyOutcome): ResumePoint {
  const point = suspended(outcome).resumeAt;
  if (point === null) throw new Error("the leg left no resume point");
  return point;
}

/** A `parts`-part file whose first leg was suspended after 1.5 parts: the server's file, the source, S3, the point. */
async function suspendedHalfway(parts = 3) {
  const file: ServerFile = {
    data: randomBytes(parts * partSize),
    info: { size: parts * partSize, modifiedAt },
  };
  const source = fakeSource(file);
  const s3 = new MemoryS3();
  const point = resumePoint((await leg(source, s3, undefined, 1.5 * partSize)).outcome);
  return { file, source, s3, point };
}

describe("copyFile, resumable", () => {
  it("copies a file in three legs: two suspended at part boundaries, the last one committing", async () => {
    const data = randomBytes(5.5 * partSize);
    const source = fakeSource({ data, info: { size: data.length, modifiedAt } });
    const s3 = new MemoryS3();

    const first = await leg(source, s3, undefined, 1.5 * partSize);
    const firstStop = suspended(first.outcome);
    const point1 = resumePoint(first.outcome);

    expect(firstStop).toMatchObject({ reason: "deadline", fromOffset: 0, key: "k.bin" });
    expect(point1).toMatchObject({
      uploadId: "upload-1",
      partSize,
      size: data.length,
      modifiedAt: modifiedAt.toISOString(),
    });
    expect(point1.offset).toBeGreaterThan(0);
    expect(point1.offset % partSize).toBe(0);
    expect(s3.openUploads()).toEqual(["upload-1"]);
    expect(s3.objects.size).toBe(0);

    const second = await leg(source, s3, point1, point1.offset + 2 * partSize);
    const point2 = resumePoint(second.outcome);
    expect(suspended(second.outcome)).toMatchObject({ reason: "deadline", fromOffset: point1.offset });
    expect(point2.uploadId).toBe("upload-1");
    expect(point2.offset).toBeGreaterThan(point1.offset);
    expect(point2.offset % partSize).toBe(0);
    expect(second.progress[0]?.bytes).toBe(point1.offset);
    expect(s3.objects.size).toBe(0);

    const third = await leg(source, s3, point2, undefined);

    expect(third.outcome).toMatchObject({
      status: "copied",
      bytes: data.length,
      sha256: sha256(data),
      resumedFrom: point2.offset,
      sizeCheck: "matched",
      partSize,
    });
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
    expect(s3.tags.get("k.bin")).toEqual({ sha256: sha256(data) });
    expect(source.startedAt).toEqual([0, point1.offset, point2.offset]);
    expect(third.progress[0]?.bytes).toBe(point2.offset);
    expect(third.progress.at(-1)).toMatchObject({ bytes: data.length, percent: 100, done: true });
    for (const snapshot of [...second.progress, ...third.progress]) {
      expect(snapshot.bytes).toBeGreaterThanOrEqual(point1.offset);
    }
    expect(s3.sent("CreateMultipartUpload")).toHaveLength(1);
    expect(s3.openUploads()).toEqual([]);
  });

  it("starts over from byte 0 when the source changed between legs, aborting the old upload", async () => {
    const { file, source, s3, point } = await suspendedHalfway();
    file.data = randomBytes(2.5 * partSize);
    file.info = { size: file.data.length, modifiedAt: new Date("2026-03-01T00:00:00Z") };
    const onWarning = vi.fn();

    const { outcome } = await leg(source, s3, point, undefined, { onWarning });

    expect(onWarning).toHaveBeenCalledWith(
      expect.stringMatching(
        /^the source changed since the copy started .*; the copy starts over from byte 0$/,
      ),
      { uploadId: "upload-1", offset: point.offset },
    );
    expect(source.startedAt).toEqual([0, 0]);
    expect(s3.sent("AbortMultipartUpload").map((r) => r.uploadId)).toEqual(["upload-1"]);
    expect(outcome).toMatchObject({ status: "copied", bytes: file.data.length, sha256: sha256(file.data) });
    expect(outcome).not.toHaveProperty("resumedFrom");
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(file.data));
    expect(s3.openUploads()).toEqual([]);
  });

  it("stops at once when a server ignores REST and sends the file from byte 0: no object, no upload", async () => {
    const { file, source, s3, point } = await suspendedHalfway(4);
    file.ignoreRest = true;

    const copying = leg(source, s3, point, undefined);

    await expect(copying).rejects.toThrow(
      `ftp://h/in/k.bin: the server sent more than the ${4 * partSize} bytes SIZE announced (did it ignore REST ${point.offset}?)`,
    );
    // It stopped as soon as the count passed SIZE, not after the whole file: fewer parts than a full copy.
    expect(s3.sent("UploadPart").length).toBeLessThan(4 + point.offset / partSize);
    expect(s3.objects.size).toBe(0);
    expect(s3.openUploads()).toEqual([]);
  });

  it("fails with INVALID_INPUT on a damaged hash state, and aborts the earlier legs' upload", async () => {
    const { source, s3, point } = await suspendedHalfway();

    const copying = leg(source, s3, { ...point, hashState: "bm90IGEgc3RhdGU=" }, undefined);

    await expect(copying).rejects.toThrow("the saved SHA-256 state of the copy is damaged");
    expect(s3.sent("AbortMultipartUpload").map((r) => r.uploadId)).toEqual([point.uploadId]);
    expect(s3.openUploads()).toEqual([]);
    expect(s3.objects.size).toBe(0);
  });

  it("starts over from byte 0 when the upload is gone", async () => {
    const { file, source, s3, point } = await suspendedHalfway();
    await s3.abortMultipartUpload(target, point.uploadId); // as the lifecycle rule would
    const onWarning = vi.fn();

    const { outcome } = await leg(source, s3, point, undefined, { onWarning });

    expect(onWarning).toHaveBeenCalledWith(
      "upload upload-1 no longer exists (completed by an earlier delivery, aborted, or expired by the lifecycle rule); the copy starts over from byte 0",
      { uploadId: "upload-1", offset: point.offset },
    );
    expect(source.startedAt).toEqual([0, 0]);
    expect(outcome).toMatchObject({ status: "copied", bytes: file.data.length, sha256: sha256(file.data) });
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(file.data));
    expect(s3.sent("CreateMultipartUpload")).toHaveLength(2);
    expect(s3.openUploads()).toEqual([]);
  });

  it("suspends with no resume point when the server refuses REST, leaving nothing open", async () => {
    const { file, source, s3, point } = await suspendedHalfway();
    file.refuseRest = true;
    const onWarning = vi.fn();

    const { outcome } = await leg(source, s3, point, undefined, { onWarning });

    expect(outcome).toMatchObject({
      status: "suspended",
      reason: "no-restart",
      resumeAt: null,
      fromOffset: point.offset,
      bytes: 0,
    });
    expect(onWarning).toHaveBeenCalledWith(
      expect.stringMatching(
        /REST 5242880 refused: 502 Command not implemented; the copy starts over from byte 0 in the next leg$/,
      ),
      {},
    );
    expect(s3.sent("AbortMultipartUpload").map((r) => r.uploadId)).toEqual(["upload-1"]);
    expect(s3.openUploads()).toEqual([]);
    expect(s3.objects.size).toBe(0);

    // The next leg, from byte 0, copies the file.
    const again = await leg(source, s3, undefined, undefined);
    expect(again.outcome).toMatchObject({ status: "copied", sha256: sha256(file.data) });
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(file.data));
  });

  it("stores nothing when the last leg ends with a 426", async () => {
    const { file, source, s3, point } = await suspendedHalfway();
    file.failAfterData = () => new FtpReplyError("RETR ftp://h/in/k.bin failed: 426 Aborted", 426, "Aborted");

    await expect(leg(source, s3, point, undefined)).rejects.toMatchObject({
      code: "FTP_REPLY",
      ftpCode: 426,
    });

    expect(s3.objects.size).toBe(0);
    expect(s3.openUploads()).toEqual([]);
    expect(s3.sent("CompleteMultipartUpload")).toEqual([]);
    expect(s3.sent("AbortMultipartUpload").map((r) => r.uploadId)).toEqual(["upload-1"]);
  });

  it.each([
    ["no SIZE", { size: null, modifiedAt }],
    ["no MDTM", { size: 2 * partSize, modifiedAt: null }],
  ])("warns that a copy with %s cannot be resumed, and ignores the suspend signal", async (_name, info) => {
    const data = randomBytes(2 * partSize);
    const source = fakeSource({ data, info });
    const s3 = new MemoryS3();
    const onWarning = vi.fn();

    const { outcome } = await copyFile(source, s3, request, {
      partSize,
      suspendSignal: AbortSignal.abort(),
      onWarning,
    }).then((outcome) => ({ outcome }));

    expect(onWarning).toHaveBeenCalledWith(
      "ftp://h/in/k.bin cannot be resumed if it runs out of time: the server gave no SIZE or no MDTM",
      {},
    );
    expect(outcome).toMatchObject({ status: "copied", bytes: data.length, sha256: sha256(data) });
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
  });

  it("changes nothing when the suspend signal fires after the download finished", async () => {
    const data = randomBytes(2.5 * partSize);
    const source = fakeSource({ data, info: { size: data.length, modifiedAt } });
    const s3 = new MemoryS3();
    const suspend = new AbortController();

    const outcome = await copyFile(source, s3, request, {
      partSize,
      suspendSignal: suspend.signal,
      onDownloaded: () => suspend.abort(),
    });

    expect(suspend.signal.aborted).toBe(true);
    expect(outcome).toMatchObject({ status: "copied", bytes: data.length, sha256: sha256(data) });
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
    expect(s3.openUploads()).toEqual([]);
  });
});
