import { describe, expect, it } from "vitest";
import {
  completeRanges,
  copyRange,
  type FileSource,
  type RangeDone,
  type RangeSpec,
  S3Error,
  type SourceVersion,
} from "../../functions/core/index.js";
import { objectKey, type S3Location } from "../../functions/core/locations.js";
import { remoteFilePath } from "../../functions/core/paths.js";
import { randomFile, sha256 } from "../support/bytes.js";
import { MemoryS3 } from "../support/memory-s3.js";
import { memorySource, modifiedAt } from "../support/memory-source.js";

// The range legs and their completion against in-memory ends, with parts of 1,000 bytes (the core
// does not hold parts to S3's 5 MiB: planRanges does, and memory S3 is told the smaller minimum).
const path = remoteFilePath("/in/big.bin");
const target = { bucket: "b", key: objectKey("big.bin") };
const file = randomFile(4500);
const version: SourceVersion = { size: file.length, modifiedAt: modifiedAt.toISOString() };
/** Five parts: ranges of two, two and one (the short last part). */
const ranges: RangeSpec[] = [
  { index: 0, start: 0, end: 2000, firstPart: 1, partSize: 1000 },
  { index: 1, start: 2000, end: 4000, firstPart: 3, partSize: 1000 },
  { index: 2, start: 4000, end: 4500, firstPart: 5, partSize: 1000 },
];

async function setUp() {
  const s3 = new MemoryS3(1000);
  const uploadId = await s3.createMultipartUpload(target, { metadata: {}, ifNoneMatch: true });
  return { s3, uploadId };
}

async function leg(source: FileSource, s3: MemoryS3, uploadId: string, range: RangeSpec): Promise<RangeDone> {
  const copied = await copyRange(source, s3, {
    path,
    target,
    uploadId,
    range,
    version,
    signal: new AbortController().signal,
    parts: { queueSize: 1 },
  });
  return { ...range, bytes: copied.bytes, crc64nvme: copied.crc64nvme };
}

const completion = (uploadId: string, done: RangeDone[]) => ({
  path,
  target,
  uploadId,
  size: file.length,
  partSize: 1000,
  ranges: done,
  version,
  ifNoneMatch: true,
});

describe("copyRange and completeRanges", () => {
  it("uploads each range as its own part numbers; completing makes the file, in order", async () => {
    // Arrange
    const { s3, uploadId } = await setUp();
    const source = memorySource({ [path]: file });

    // Act: the legs in reverse order, as concurrent legs may finish.
    const done = [];
    for (const range of [...ranges].reverse()) done.push(await leg(source, s3, uploadId, range));
    const committed = await completeRanges(source, s3, completion(uploadId, done));

    // Assert
    expect(sha256(s3.objects.get("big.bin")?.bytes as Buffer)).toBe(sha256(file));
    expect(s3.sent("UploadPart").map((r) => [r.partNumber, r.bytes])).toEqual([
      [5, 500],
      [3, 1000],
      [4, 1000],
      [1, 1000],
      [2, 1000],
    ]);
    expect(s3.sent("CompleteMultipartUpload")).toHaveLength(1);
    expect(committed.crc64nvme).toBeNull(); // memory S3 sends no checksums
    expect(source.downloads).toEqual([
      "/in/big.bin [4000, 4500)",
      "/in/big.bin [2000, 4000)",
      "/in/big.bin [0, 2000)",
    ]);
  });

  it("reports the range's parts with their sizes", async () => {
    const { s3, uploadId } = await setUp();

    const copied = await copyRange(memorySource({ [path]: file }), s3, {
      path,
      target,
      uploadId,
      range: ranges[1] as RangeSpec,
      version,
      signal: new AbortController().signal,
    });

    expect(copied.bytes).toBe(2000);
    expect(copied.parts.map((p) => [p.partNumber, p.size])).toEqual([
      [3, 1000],
      [4, 1000],
    ]);
  });

  it("a leg that finds the file changed reads nothing", async () => {
    const { s3, uploadId } = await setUp();
    const source = memorySource({ [path]: file }, () => ({ size: file.length + 1, modifiedAt }));

    await expect(leg(source, s3, uploadId, ranges[0] as RangeSpec)).rejects.toMatchObject({
      code: "SOURCE_CHANGED",
      message:
        "ftp://h/in/big.bin changed since its ranged copy was planned (range 0: size 4500 is now 4501): its ranges are not committed",
    });
    expect(source.downloads).toEqual([]);
    expect(s3.sent("UploadPart")).toEqual([]);
  });

  it("a file whose MDTM the server no longer gives counts as changed", async () => {
    const { s3, uploadId } = await setUp();
    const source = memorySource({ [path]: file }, () => ({ size: file.length, modifiedAt: null }));

    await expect(leg(source, s3, uploadId, ranges[0] as RangeSpec)).rejects.toMatchObject({
      code: "SOURCE_CHANGED",
    });
  });

  it("a session that cannot read ranges: FTP_NO_RESTART", async () => {
    const { s3, uploadId } = await setUp();
    const { downloadRange: _, ...plain } = memorySource({ [path]: file });

    await expect(leg(plain as FileSource, s3, uploadId, ranges[0] as RangeSpec)).rejects.toMatchObject({
      code: "FTP_NO_RESTART",
    });
  });

  it("an upload that is gone: a clear S3 error before anything is read", async () => {
    const s3 = new MemoryS3(1000);
    const source = memorySource({ [path]: file });

    await expect(leg(source, s3, "no-such-upload", ranges[0] as RangeSpec)).rejects.toThrow(
      /upload no-such-upload no longer exists/,
    );
    expect(source.downloads).toEqual([]);
  });

  it("a part S3 refuses fails the leg and leaves the upload open for a retry", async () => {
    const { s3, uploadId } = await setUp();
    const source = memorySource({ [path]: file });
    s3.fault = (request) => {
      if (request.operation === "UploadPart" && request.partNumber === 4)
        throw new S3Error("SlowDown (HTTP 503)", 503);
    };

    await expect(leg(source, s3, uploadId, ranges[1] as RangeSpec)).rejects.toMatchObject({ code: "S3" });
    expect(s3.openUploads()).toEqual([uploadId]);
    expect(s3.sent("AbortMultipartUpload")).toEqual([]);

    s3.fault = undefined;
    const done = [
      await leg(source, s3, uploadId, ranges[0] as RangeSpec),
      await leg(source, s3, uploadId, ranges[1] as RangeSpec),
      await leg(source, s3, uploadId, ranges[2] as RangeSpec),
    ];
    await completeRanges(source, s3, completion(uploadId, done));
    expect(sha256(s3.objects.get("big.bin")?.bytes as Buffer)).toBe(sha256(file));
  });

  it("the caller's signal stops the leg at once, with its reason, and leaves the upload open", async () => {
    const { s3, uploadId } = await setUp();
    const stop = new AbortController();
    let held = 0;
    s3.fault = async (request) => {
      if (request.operation !== "UploadPart") return;
      held += 1;
      stop.abort(new Error("the deadline is near"));
      await new Promise((resolve) => setTimeout(resolve, 20));
    };

    const copying = copyRange(memorySource({ [path]: file }), s3, {
      path,
      target,
      uploadId,
      range: ranges[1] as RangeSpec,
      version,
      signal: stop.signal,
    });

    await expect(copying).rejects.toMatchObject({
      code: "ABORTED",
      message: "transfer cancelled: the deadline is near",
    });
    expect(held).toBeGreaterThan(0);
    expect(s3.openUploads()).toEqual([uploadId]);
  });

  it("a file shorter than the plan: the last range fails SIZE_MISMATCH", async () => {
    const { s3, uploadId } = await setUp();
    const short = file.subarray(0, 4300);
    const source = memorySource({ [path]: short }, () => ({ size: file.length, modifiedAt }));

    await expect(leg(source, s3, uploadId, ranges[2] as RangeSpec)).rejects.toMatchObject({
      code: "SIZE_MISMATCH",
    });
  });
});

describe("completeRanges refuses before any Complete", () => {
  async function copiedAll() {
    const { s3, uploadId } = await setUp();
    const source = memorySource({ [path]: file });
    const done = [];
    for (const range of ranges) done.push(await leg(source, s3, uploadId, range));
    return { s3, uploadId, source, done };
  }

  it("a part S3 does not hold, naming the range and the part", async () => {
    const { s3, uploadId, source, done } = await copiedAll();
    s3.uploads.get(uploadId)?.parts.delete(4);

    await expect(completeRanges(source, s3, completion(uploadId, done))).rejects.toMatchObject({
      code: "SIZE_MISMATCH",
      message:
        "s3://b/big.bin: range 1 (parts 3-4 of upload upload-1): part 4 is missing; the range must be copied again",
      expectedBytes: 2000,
      receivedBytes: 1000,
    });
    expect(s3.sent("CompleteMultipartUpload")).toEqual([]);
  });

  it("a part of another size than planned", async () => {
    const { s3, uploadId, source, done } = await copiedAll();
    await s3.uploadPart(target, uploadId, 2, Buffer.alloc(999));

    await expect(completeRanges(source, s3, completion(uploadId, done))).rejects.toThrow(
      /range 0 \(parts 1-2 of upload upload-1\): part 2 is 999 bytes, not 1000/,
    );
  });

  it("ranges that do not cover the file", async () => {
    const { s3, uploadId, source, done } = await copiedAll();

    await expect(completeRanges(source, s3, completion(uploadId, done.slice(0, 2)))).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message:
        "ftp://h/in/big.bin: the ranges cover 4000 of the file's 4500 bytes: the ranges do not make the plan",
    });
    await expect(
      completeRanges(source, s3, completion(uploadId, [done[0], done[2]] as RangeDone[])),
    ).rejects.toThrow(/range 2 starts at byte 4000 \(part 5\), where byte 2000 \(part 3\) was due/);
  });

  it("a file changed since the legs read it", async () => {
    const { s3, uploadId, done } = await copiedAll();
    const later = memorySource({ [path]: file }, () => ({
      size: file.length,
      modifiedAt: new Date(modifiedAt.getTime() + 1000),
    }));

    await expect(completeRanges(later, s3, completion(uploadId, done))).rejects.toMatchObject({
      code: "SOURCE_CHANGED",
    });
    expect(s3.sent("CompleteMultipartUpload")).toEqual([]);
    expect(s3.openUploads()).toEqual([uploadId]); // the caller aborts
  });
});

describe("completeRanges after a completion whose answer was lost", () => {
  /** Every range copied, and the upload completed by an attempt whose answer never came back. */
  async function completedUnawares(shownCrc: string) {
    const s3 = new (class extends MemoryS3 {
      override async head(location: S3Location, options?: { checksum?: boolean }) {
        const found = await super.head(location);
        return found === null || !options?.checksum ? found : { ...found, crc64nvme: shownCrc };
      }
      combineChecksums(pieces: { crc64nvme: string }[]): string {
        return pieces.map((piece) => piece.crc64nvme).join("+"); // a stand-in: only equality matters here
      }
    })(1000);
    const uploadId = await s3.createMultipartUpload(target, { metadata: {}, ifNoneMatch: true });
    const source = memorySource({ [path]: file });
    const done = [];
    for (const range of ranges) {
      done.push({ ...(await leg(source, s3, uploadId, range)), crc64nvme: `crc${range.index}` });
    }
    await completeRanges(source, s3, completion(uploadId, done));
    return { s3, uploadId, source, done };
  }

  it("finds the upload gone and the object the ranges make at the key: committed, with a warning", async () => {
    const { s3, uploadId, source, done } = await completedUnawares("crc0+crc1+crc2");

    const committed = await completeRanges(source, s3, completion(uploadId, done));

    expect(committed.answerLost).toMatch(/4500 bytes, CRC64NVME crc0\+crc1\+crc2 as sent/);
    expect(committed.etag).toBe(s3.objects.get("big.bin")?.etag);
    expect(s3.sent("CompleteMultipartUpload")).toHaveLength(1);
  });

  it("an object with another checksum: the upload-gone failure, as before", async () => {
    const { s3, uploadId, source, done } = await completedUnawares("other");

    await expect(completeRanges(source, s3, completion(uploadId, done))).rejects.toThrow(
      "s3://b/big.bin: upload upload-1 no longer exists (completed, aborted, or expired by the lifecycle rule)",
    );
  });
});
