import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { S3Error } from "../../functions/core/errors.js";
import { PartUpload, type PartUploadOptions } from "../../functions/core/part-upload.js";
import { fastSha256, resumableSha256 } from "../../functions/core/sha256.js";
import { sha256 } from "../support/bytes.js";
import { MemoryS3 } from "../support/memory-s3.js";

// S3's smallest part, which memory S3 enforces like S3: at most queueSize x 5 MiB per upload here.
const partSize = 5 * 2 ** 20;
const target = { bucket: "b", key: "k.bin" };

function partUpload(s3: MemoryS3, options: Partial<PartUploadOptions> = {}): PartUpload {
  return new PartUpload(s3, target, {
    partSize,
    queueSize: 2,
    metadata: { "source-url": "ftp://h/k.bin" },
    ifNoneMatch: true,
    expectedBytes: null,
    hash: fastSha256(),
    ...options,
  });
}

/** Writes the bytes in 64 KiB chunks, waiting for "drain" like a socket; resolves once the last is taken in. */
async function writeAll(upload: PartUpload, data: Buffer): Promise<void> {
  let last: Promise<void> = Promise.resolve();
  for (let offset = 0; offset < data.length; offset += 64 * 1024) {
    const chunk = data.subarray(offset, offset + 64 * 1024);
    last = new Promise<void>((resolve, reject) =>
      upload.write(chunk, (error) => (error ? reject(error) : resolve())),
    );
    if (upload.writableNeedDrain) await new Promise((resolve) => upload.once("drain", resolve));
  }
  await last;
}

/** Holds every UploadPart until released, counting how many are in flight at once. */
function holdParts(s3: MemoryS3) {
  const waiting: (() => void)[] = [];
  let open = false;
  const hold = {
    inFlight: 0,
    most: 0,
    get held() {
      return waiting.length;
    },
    /** Lets the held parts go; with `forGood`, the following ones pass at once too. */
    release(forGood = false) {
      open ||= forGood;
      for (const go of waiting.splice(0)) go();
    },
  };
  s3.fault = async ({ operation }) => {
    if (operation !== "UploadPart") return;
    hold.inFlight += 1;
    hold.most = Math.max(hold.most, hold.inFlight);
    if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
    else await new Promise((resolve) => setTimeout(resolve, 1));
    hold.inFlight -= 1;
  };
  return hold;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 1));
  if (!condition()) throw new Error("the condition never came true");
}

describe("PartUpload", () => {
  it.each([
    ["announced", 1000],
    ["unknown", null],
  ])("sends a small file (size %s) as one PutObject", async (_name, expectedBytes) => {
    const s3 = new MemoryS3();
    const data = randomBytes(1000);
    const upload = partUpload(s3, { expectedBytes });

    await writeAll(upload, data);
    const committed = await upload.commit();

    expect(s3.requests.map((r) => r.operation)).toEqual(["PutObject"]);
    expect(s3.sent("PutObject")).toMatchObject([{ bytes: 1000, ifNoneMatch: true }]);
    expect(s3.objects.get("k.bin")?.bytes).toEqual(data);
    expect(s3.objects.get("k.bin")?.metadata).toEqual({ "source-url": "ftp://h/k.bin" });
    expect(committed.sha256).toBe(sha256(data));
    expect(committed.etag).toBe(s3.objects.get("k.bin")?.etag);
  });

  it("sends a file of exactly one part size as one PutObject", async () => {
    const s3 = new MemoryS3();
    const data = randomBytes(partSize);
    const upload = partUpload(s3, { expectedBytes: partSize });

    await writeAll(upload, data);
    const committed = await upload.commit();

    expect(s3.requests.map((r) => r.operation)).toEqual(["PutObject"]);
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
    expect(committed.sha256).toBe(sha256(data));
  });

  it("sends 2.5 parts as a multipart upload of three parts", async () => {
    const s3 = new MemoryS3();
    const data = randomBytes(2.5 * partSize);
    const upload = partUpload(s3, { expectedBytes: data.length });

    await writeAll(upload, data);
    const committed = await upload.commit();

    expect(s3.requests.map((r) => r.operation)).toEqual([
      "CreateMultipartUpload",
      "UploadPart",
      "UploadPart",
      "UploadPart",
      "CompleteMultipartUpload",
    ]);
    expect(s3.sent("UploadPart").map((r) => [r.partNumber, r.bytes])).toEqual([
      [1, partSize],
      [2, partSize],
      [3, partSize / 2],
    ]);
    const object = s3.objects.get("k.bin");
    expect(sha256(object?.bytes as Buffer)).toBe(sha256(data));
    expect(object?.metadata).toEqual({ "source-url": "ftp://h/k.bin" });
    expect(object?.etag).toMatch(/^[0-9a-f]{32}-3$/);
    expect(committed).toMatchObject({ etag: object?.etag, sha256: sha256(data) });
    expect(s3.openUploads()).toEqual([]);
  });

  it("commits every byte written before the commit, even those still queued in the stream", async () => {
    const s3 = new MemoryS3();
    const hold = holdParts(s3);
    const data = randomBytes(3 * partSize + 123);
    const upload = partUpload(s3, { queueSize: 2 });
    // Every write handed over without waiting, as the intake does (it counts them as received).
    for (let offset = 0; offset < data.length; offset += 64 * 1024)
      upload.write(data.subarray(offset, offset + 64 * 1024));

    await until(() => hold.held >= 2);
    hold.release(true);
    const committed = await upload.commit();

    expect(s3.objects.get("k.bin")?.bytes.length).toBe(data.length);
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
    expect(committed.sha256).toBe(sha256(data));
  });

  it("stores nothing when the stream ends: only commit does", async () => {
    const s3 = new MemoryS3();
    const upload = partUpload(s3);

    await writeAll(upload, randomBytes(2.5 * partSize));
    await new Promise((resolve) => upload.end(resolve));

    expect(s3.objects.size).toBe(0);
    expect(s3.sent("CompleteMultipartUpload")).toEqual([]);
    expect(s3.sent("PutObject")).toEqual([]);
    const report = await upload.cancel(new Error("not confirmed"));
    expect(report).toEqual({ uploadId: "upload-1", clean: true, error: undefined });
    expect(s3.openUploads()).toEqual([]);
  });

  it("has at most queueSize parts in flight, and holds writes back while every buffer is busy", async () => {
    const s3 = new MemoryS3();
    const hold = holdParts(s3);
    const data = randomBytes(8 * partSize);
    const upload = partUpload(s3, { queueSize: 2, expectedBytes: data.length });
    let taken = 0;
    const chunk = 64 * 1024;
    for (let offset = 0; offset < data.length; offset += chunk) {
      upload.write(data.subarray(offset, offset + chunk), () => {
        taken += chunk;
      });
    }

    await until(() => hold.held === 2);
    await new Promise((resolve) => setTimeout(resolve, 20)); // room for anything more to go wrong

    expect(hold.inFlight).toBe(2);
    // Two parts in flight, one buffer each, none left to fill: the rest waits in the stream, unread
    // (the write that filled the second part is taken in once a buffer comes back).
    expect(taken).toBeLessThanOrEqual(2 * partSize);
    expect(taken).toBeGreaterThanOrEqual(2 * partSize - chunk);
    expect(upload.writableNeedDrain).toBe(true);

    hold.release(true);
    const committed = await upload.commit();
    expect(hold.most).toBe(2);
    expect(taken).toBe(data.length);
    expect(committed.sha256).toBe(sha256(data));
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
  });

  it("makes progress with one buffer: the writes wait while its part is sent", async () => {
    const s3 = new MemoryS3();
    const hold = holdParts(s3);
    const data = randomBytes(3 * partSize + 77);
    const upload = partUpload(s3, { queueSize: 1, buffers: 1, expectedBytes: data.length });
    let taken = 0;
    const chunk = 64 * 1024;
    for (let offset = 0; offset < data.length; offset += chunk) {
      upload.write(data.subarray(offset, offset + chunk), () => {
        taken += chunk;
      });
    }

    await until(() => hold.held === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));

    // The one buffer is being sent: nothing more is read until it comes back.
    expect(taken).toBeLessThanOrEqual(partSize + chunk);
    hold.release(true);
    const committed = await upload.commit();
    expect(hold.most).toBe(1);
    expect(committed.sha256).toBe(sha256(data));
    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
  });

  it("stops a file without SIZE at 10,000 parts with an error that says why", async () => {
    // Arrange: 1 KiB parts (memory S3 takes them) so that 10,000 of them are 10 MB, not 156 GiB.
    const small = 1024;
    const s3 = new MemoryS3(small);
    const upload = partUpload(s3, { partSize: small, queueSize: 4, expectedBytes: null });

    // Act
    await writeAll(upload, randomBytes(10_000 * small + 1));

    // Assert
    await expect(upload.failed).rejects.toMatchObject({
      code: "TOO_LARGE",
      message: expect.stringMatching(/longer than 10000 parts of 1024 bytes .*the server gave no SIZE/),
    });
    expect(s3.sent("UploadPart").length).toBeLessThanOrEqual(10_000);
    await upload.cancel(new Error("stopped"));
    expect(s3.openUploads()).toEqual([]);
  });

  it("rejects `failed` when a part fails, refuses to commit, and aborts on cancel", async () => {
    const s3 = new MemoryS3();
    const failure = new S3Error("UploadPart 2: InternalError (HTTP 500)", 500);
    s3.fault = ({ operation, partNumber }) => {
      if (operation === "UploadPart" && partNumber === 2) throw failure;
    };
    const data = randomBytes(4 * partSize);
    const upload = partUpload(s3, { queueSize: 1 });
    // Everything handed over at once: writes are still waiting for a buffer when part 2 fails.
    for (let offset = 0; offset < data.length; offset += 64 * 1024)
      upload.write(data.subarray(offset, offset + 64 * 1024));

    await expect(upload.failed).rejects.toBe(failure);
    await expect(upload.commit()).rejects.toBe(failure);
    const report = await upload.cancel(failure);

    expect(report).toEqual({ uploadId: "upload-1", clean: true, error: undefined });
    expect(s3.openUploads()).toEqual([]);
    expect(s3.objects.size).toBe(0);
    expect(s3.sent("CompleteMultipartUpload")).toEqual([]);
    expect(s3.sent("AbortMultipartUpload")).toMatchObject([{ uploadId: "upload-1" }]);
  });

  it("suspends at a part boundary, keeping the upload open, and a new PartUpload finishes it", async () => {
    const s3 = new MemoryS3();
    const data = randomBytes(3.5 * partSize);
    const first = partUpload(s3, { expectedBytes: data.length, hash: await resumableSha256() });

    await writeAll(first, data.subarray(0, 2.5 * partSize));
    const suspension = await first.suspend();

    expect(suspension).toEqual({
      uploadId: "upload-1",
      bytes: 2 * partSize,
      parts: 2,
      hashState: expect.any(String),
    });
    expect(s3.openUploads()).toEqual(["upload-1"]);
    const parts = await s3.listParts(target, "upload-1");
    expect(parts?.map((p) => [p.partNumber, p.size])).toEqual([
      [1, partSize],
      [2, partSize],
    ]);
    expect(s3.objects.size).toBe(0);

    const second = partUpload(s3, {
      expectedBytes: data.length - suspension.bytes,
      hash: await resumableSha256(suspension.hashState),
      resume: { uploadId: "upload-1", parts: parts ?? [] },
    });
    await writeAll(second, data.subarray(suspension.bytes));
    const committed = await second.commit();

    expect(sha256(s3.objects.get("k.bin")?.bytes as Buffer)).toBe(sha256(data));
    expect(committed.sha256).toBe(sha256(data));
    expect(s3.sent("CreateMultipartUpload")).toHaveLength(1);
    expect(s3.sent("UploadPart").map((r) => r.partNumber)).toEqual([1, 2, 3, 4]);
    expect(s3.openUploads()).toEqual([]);
  });

  it("suspends while a full part waits for a slot, and keeps it", async () => {
    const s3 = new MemoryS3();
    const hold = holdParts(s3);
    const data = randomBytes(3 * partSize);
    // Two buffers for one slot, as a range leg holds them: one part can be full while one is sent.
    const upload = partUpload(s3, { queueSize: 1, buffers: 2, hash: await resumableSha256() });
    let taken = 0;
    for (let offset = 0; offset < data.length; offset += 64 * 1024) {
      upload.write(data.subarray(offset, offset + 64 * 1024), () => {
        taken += 64 * 1024;
      });
    }
    // Part 1 in flight, part 2 full and waiting for the one slot.
    await until(() => hold.held === 1 && taken >= 2 * partSize);

    const suspending = upload.suspend();
    hold.release(true);
    const suspension = await suspending;

    expect(suspension).toMatchObject({ uploadId: "upload-1", bytes: 2 * partSize, parts: 2 });
    expect(hold.most).toBe(1);
    expect((await s3.listParts(target, "upload-1"))?.map((p) => p.size)).toEqual([partSize, partSize]);
  });

  it("suspends with nothing to go on with when no whole part was filled", async () => {
    const s3 = new MemoryS3();
    const upload = partUpload(s3, { hash: await resumableSha256() });

    await writeAll(upload, randomBytes(partSize - 1));
    const suspension = await upload.suspend();

    expect(suspension).toEqual({ uploadId: undefined, bytes: 0, parts: 0, hashState: undefined });
    expect(s3.requests).toEqual([]);
  });

  it("reports a cancel after the commit as not clean, and the object stays", async () => {
    const s3 = new MemoryS3();
    const upload = partUpload(s3);
    await writeAll(upload, Buffer.from("abc"));
    await upload.commit();

    const report = await upload.cancel(new Error("too late"));

    expect(report).toMatchObject({ clean: false, error: { message: "the upload had already completed" } });
    expect(s3.objects.get("k.bin")?.bytes.toString()).toBe("abc");
  });
});
