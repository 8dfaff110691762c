import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";
import { createS3Client } from "../../functions/adapters/s3-client.js";
import { createS3Sink } from "../../functions/adapters/s3-sink.js";
import {
  completeRanges,
  copyRange,
  type FileSource,
  type ObjectSink,
  planRanges,
  type RangeDone,
  type RangeSpec,
  type S3Location,
  type SourceVersion,
} from "../../functions/core/index.js";
import { objectKey } from "../../functions/core/locations.js";
import { remoteFilePath } from "../../functions/core/paths.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import {
  defaultModifiedAt,
  type FakeFtpServer,
  type RetrScript,
  retrScripts,
  startFakeFtpServer,
} from "../support/fake-ftp-server.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";
import { type ChecksumCheckingS3, crc, startChecksumCheckingS3 } from "../support/s3-checksum-check.js";

// One file, four range legs over four sessions at once, one multipart upload, one Complete: what a
// fanned-out copy does, driven here without the Lambda (the orchestration is the fan-out's).
const MiB = 1024 * 1024;
const bucket = "ranges";
const size = 4 * 5 * MiB + 1234; // five parts of 5 MiB: ranges of 2, 1, 1 and 1 parts

let work: string;
let s3: EmbeddedS3Server;
let proxy: ChecksumCheckingS3;
let client: S3Client;

/** The sink through the CRC-checking proxy, counting its Completes. */
function countingSink(): ObjectSink & { completes: number } {
  const sink = createS3Sink(createS3Client({ endpoint: proxy.endpoint }, s3.env));
  const counted = Object.create(sink) as ObjectSink & { completes: number };
  counted.completes = 0;
  counted.completeMultipartUpload = (...args) => {
    counted.completes += 1;
    return sink.completeMultipartUpload(...args);
  };
  return counted;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ftp2s3-ranges-"));
  s3 = await startS3rver(join(work, "s3"));
  await s3.createBucket(bucket);
  proxy = await startChecksumCheckingS3(s3.endpoint);
  client = s3.client();
});
afterAll(async () => {
  await proxy.close();
  await s3.close();
  await rm(work, { recursive: true, force: true });
});

/** The plan's side: the ranges, and the upload they all go into (full-object CRC64NVME declared). */
async function openFanOut(sink: ObjectSink, key: string, version: SourceVersion) {
  const target: S3Location = { bucket, key: objectKey(key) };
  const plan = planRanges(version.size, { ranges: 4, partSize: 5 * MiB });
  const uploadId = await sink.createMultipartUpload(target, {
    metadata: {},
    ifNoneMatch: true,
    fullObjectChecksum: true,
  });
  return { target, plan, uploadId };
}

/** One range leg in a session of its own, closed after (a cut session is not reused). */
async function leg(
  session: () => Promise<FileSource>,
  sink: ObjectSink,
  fanOut: { target: S3Location; uploadId: string },
  range: RangeSpec,
  version: SourceVersion,
): Promise<RangeDone> {
  const source = await session();
  try {
    const copied = await copyRange(source, sink, {
      path: remoteFilePath("/big.bin"),
      target: fanOut.target,
      uploadId: fanOut.uploadId,
      range,
      version,
      signal: new AbortController().signal,
      parts: { queueSize: 2 },
    });
    expect(copied.bytes).toBe(range.end - range.start);
    return { ...range, bytes: copied.bytes, crc64nvme: copied.crc64nvme };
  } finally {
    source.close();
  }
}

/** completeRanges on a session of its own, closed after. */
async function complete(
  session: () => Promise<FileSource>,
  sink: ObjectSink,
  args: Parameters<typeof completeRanges>[2],
): ReturnType<typeof completeRanges> {
  const source = await session();
  try {
    return await completeRanges(source, sink, args);
  } finally {
    source.close();
  }
}

describe("a file copied in ranges from ftp-srv", () => {
  let ftp: EmbeddedFtpServer;
  const file = randomFile(size);
  const mtime = new Date("2026-03-04T05:06:07Z");
  const session = () =>
    connectFtpSource({
      host: ftp.host,
      port: ftp.port,
      user: ftp.user,
      password: ftp.password,
      secure: false,
      timeoutMs: 10_000,
      cutReplyMs: 500,
    });

  beforeAll(async () => {
    ftp = await startEmbeddedFtp({ root: join(work, "ftp") });
  });
  afterAll(async () => {
    await ftp.close();
  });

  async function serve(data: Buffer): Promise<SourceVersion> {
    await writeFile(join(work, "ftp", "big.bin"), data);
    await utimes(join(work, "ftp", "big.bin"), mtime, mtime);
    return { size: data.length, modifiedAt: mtime.toISOString() };
  }

  it("four legs at once, then completeRanges: the object is the file, with one Complete and its CRC checked", async () => {
    // Arrange
    const version = await serve(file);
    const sink = countingSink();
    const fanOut = await openFanOut(sink, "four.bin", version);
    expect(fanOut.plan.ranges.map((r) => r.firstPart)).toEqual([1, 3, 4, 5]);

    // Act
    const done = await Promise.all(
      fanOut.plan.ranges.map((range) => leg(session, sink, fanOut, range, version)),
    );
    const committed = await complete(session, sink, {
      path: remoteFilePath("/big.bin"),
      target: fanOut.target,
      uploadId: fanOut.uploadId,
      size: version.size,
      partSize: fanOut.plan.partSize,
      ranges: done,
      version,
      ifNoneMatch: true,
    });

    // Assert
    expect(sha256(await readObject(client, bucket, "four.bin"))).toBe(sha256(file));
    expect(sink.completes).toBe(1);
    const fileCrc = await crc(file);
    expect(committed.crc64nvme).toBe(fileCrc);
    expect(proxy.seen.get(fanOut.uploadId)).toMatchObject({ sent: fileCrc, refused: 0 });
    expect(done.map((d) => d.crc64nvme)).toEqual(
      await Promise.all(fanOut.plan.ranges.map((r) => crc(file.subarray(r.start, r.end)))),
    );
  });

  it("a file changed after its legs: completeRanges refuses (SOURCE_CHANGED), a new leg too; nothing stored", async () => {
    // Arrange: every range read, then the partner rewrites the file (same size, new bytes, new time).
    const version = await serve(file);
    const sink = countingSink();
    const fanOut = await openFanOut(sink, "changed.bin", version);
    const done = await Promise.all(
      fanOut.plan.ranges.map((range) => leg(session, sink, fanOut, range, version)),
    );
    await writeFile(join(work, "ftp", "big.bin"), randomFile(size));

    // Act
    const completing = complete(session, sink, {
      path: remoteFilePath("/big.bin"),
      target: fanOut.target,
      uploadId: fanOut.uploadId,
      size: version.size,
      partSize: fanOut.plan.partSize,
      ranges: done,
      version,
      ifNoneMatch: true,
    });

    // Assert
    await expect(completing).rejects.toMatchObject({
      code: "SOURCE_CHANGED",
      message: expect.stringMatching(
        /changed since its ranged copy was planned \(before completing: modified/,
      ),
    });
    await expect(
      leg(session, sink, fanOut, fanOut.plan.ranges[1] as RangeSpec, version),
    ).rejects.toMatchObject({
      code: "SOURCE_CHANGED",
      message: expect.stringMatching(/\(range 1: modified/),
    });
    expect(sink.completes).toBe(0);
    await sink.abortMultipartUpload(fanOut.target, fanOut.uploadId); // the caller's part
    expect(await objectExists(client, bucket, "changed.bin")).toBe(false);
  });
});

describe("a range whose data connection ends early", () => {
  let server: FakeFtpServer;
  const file = randomFile(size);
  let retr: RetrScript = retrScripts.normal();
  const session = () =>
    connectFtpSource({
      host: server.host,
      port: server.port,
      user: "u",
      password: "pw",
      secure: false,
      timeoutMs: 10_000,
      cutReplyMs: 500,
    });
  const version: SourceVersion = { size, modifiedAt: defaultModifiedAt.toISOString() };

  beforeAll(async () => {
    server = await startFakeFtpServer({ files: { "/big.bin": file }, retr: (ctx) => retr(ctx) });
  });
  afterAll(async () => {
    await server.close();
  });

  it("fails that leg alone; a retry of that range alone completes the object", async () => {
    // Arrange: the third range's first RETR resets its data connection after 1 MiB.
    const sink = countingSink();
    const fanOut = await openFanOut(sink, "retried.bin", version);
    const broken = fanOut.plan.ranges[2] as RangeSpec;
    let failed = false;
    retr = (ctx) => {
      if (ctx.restOffset === broken.start && !failed) {
        failed = true;
        return retrScripts.resetAfter(MiB)(ctx);
      }
      return retrScripts.normal()(ctx);
    };

    // Act
    const legs = await Promise.allSettled(
      fanOut.plan.ranges.map((range) => leg(session, sink, fanOut, range, version)),
    );
    const retried = await leg(session, sink, fanOut, broken, version);
    const done = legs.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : retried));
    await complete(session, sink, {
      path: remoteFilePath("/big.bin"),
      target: fanOut.target,
      uploadId: fanOut.uploadId,
      size,
      partSize: fanOut.plan.partSize,
      ranges: done,
      version,
      ifNoneMatch: true,
    });

    // Assert
    expect(legs.map((outcome) => outcome.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect((legs[2] as PromiseRejectedResult).reason).toMatchObject({
      code: expect.stringMatching(/^(FTP_DATA_CONNECTION|FTP_REPLY|SIZE_MISMATCH)$/),
    });
    expect(sha256(await readObject(client, bucket, "retried.bin"))).toBe(sha256(file));
    expect(sink.completes).toBe(1);
  });

  it("completeRanges refuses a range whose bytes are short, naming it, before any Complete", async () => {
    retr = retrScripts.normal();
    const sink = countingSink();
    const fanOut = await openFanOut(sink, "short.bin", version);
    const done = await Promise.all(
      fanOut.plan.ranges.map((range) => leg(session, sink, fanOut, range, version)),
    );
    const reported = done.map((d) => (d.index === 1 ? { ...d, bytes: d.bytes - 1 } : d));

    const completing = complete(session, sink, {
      path: remoteFilePath("/big.bin"),
      target: fanOut.target,
      uploadId: fanOut.uploadId,
      size,
      partSize: fanOut.plan.partSize,
      ranges: reported,
      version,
      ifNoneMatch: true,
    });

    await expect(completing).rejects.toMatchObject({
      code: "SIZE_MISMATCH",
      message: expect.stringMatching(/range 1 \(bytes 10485760-15728640\) read 5242879 of its 5242880 bytes/),
    });
    expect(sink.completes).toBe(0);
    await sink.abortMultipartUpload(fanOut.target, fanOut.uploadId);
  });
});
