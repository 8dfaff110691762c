import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { crc64nvme } from "../../functions/adapters/crc64nvme.js";
import { createS3Client } from "../../functions/adapters/s3-client.js";
import { createS3Sink } from "../../functions/adapters/s3-sink.js";
import type { ObjectSink } from "../../functions/core/index.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { objectTags, randomFile, readObject, sha256 } from "../support/objects.js";
import { type S3Recorder, startS3Recorder } from "../support/s3-recorder.js";

// Small objects go to S3 without the SDK once its first PutObject to the bucket has shown the way
// (functions/adapters/s3-direct-put.ts). The recorder in front of s3rver checks every request's SigV4
// signature (s3rver checks only V2 ones) and tells the SDK's requests (they carry x-amz-user-agent)
// from the direct ones.
const bucket = "direct";

describe("small objects' PutObject after the SDK's first", () => {
  let work: string;
  let s3: EmbeddedS3Server;
  let recorder: S3Recorder;
  let sink: ObjectSink;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-direct-put-"));
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket(bucket);
    recorder = await startS3Recorder(s3.endpoint, {
      conditionalWrites: true,
      sigv4Secret: s3.env.AWS_SECRET_ACCESS_KEY,
    });
  });
  afterAll(async () => {
    await recorder.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    // A sink of its own per test: each learns its route from its own first PutObject.
    sink = createS3Sink(createS3Client({}, { ...s3.env, AWS_ENDPOINT_URL_S3: recorder.endpoint }));
    recorder.requests.length = 0;
    recorder.fault = undefined;
  });

  const put = async (key: string, bytes: Buffer, options: { ifNoneMatch?: boolean } = {}) => {
    const checksum = crc64nvme();
    await checksum.update(bytes);
    return sink.putObject({ bucket, key }, bytes, {
      metadata: { "source-url": `ftp://host/${encodeURIComponent(key)}`, mtime: "2026-12-07T10:00:00.000Z" },
      ifNoneMatch: options.ifNoneMatch ?? false,
      landing: { contentType: "text/csv", tags: { team: "data", origin: "ftp feed" } },
      crc64nvme: await checksum.value(),
    });
  };
  const puts = () => recorder.requests.filter((r) => r.operation === "PutObject");
  const bySdk = (r: { headers: Record<string, string> }) => r.headers["x-amz-user-agent"] !== undefined;

  it("sends the first through the SDK and the rest itself, signed as S3 checks, landing as the SDK's did", async () => {
    const keys = ["first.csv", "b c/d+e.csv", "ünï/日本.csv", "!'()*.csv", "100% #1?.csv"];
    const files = keys.map((key) => ({ key, bytes: randomFile(16 * 1024 + key.length) }));

    for (const { key, bytes } of files) await put(key, bytes);

    expect(puts().map((r) => [bySdk(r), r.status])).toEqual([
      [true, 200],
      [false, 200],
      [false, 200],
      [false, 200],
      [false, 200],
    ]);
    const client = s3.client();
    for (const { key, bytes } of files) {
      expect(sha256(await readObject(client, bucket, key)), key).toBe(sha256(bytes));
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.ContentType, key).toBe("text/csv");
      expect(head.Metadata, key).toEqual({
        "source-url": `ftp://host/${encodeURIComponent(key)}`,
        mtime: "2026-12-07T10:00:00.000Z",
      });
      expect(await objectTags(client, bucket, key), key).toEqual({ team: "data", origin: "ftp feed" });
    }
  });

  it("sends again through the SDK what S3 did not accept (a 503 lands); a 412 is OBJECT_EXISTS at once", async () => {
    await put("learn.csv", randomFile(100));
    let faults = 1;
    recorder.fault = ({ operation }) => (operation === "PutObject" && faults-- > 0 ? 503 : undefined);
    const bytes = randomFile(5000);

    await put("retried.csv", bytes);
    const conditional = put("retried.csv", randomFile(10), { ifNoneMatch: true });

    await expect(conditional).rejects.toMatchObject({ code: "OBJECT_EXISTS" });
    expect(sha256(await readObject(s3.client(), bucket, "retried.csv"))).toBe(sha256(bytes));
    expect(puts().map((r) => [bySdk(r), r.status])).toEqual([
      [true, 200], // learn.csv: the SDK's, which showed the way
      [false, 503], // retried.csv: refused...
      [true, 200], // ...and sent again by the SDK
      [false, 412], // the conditional write: refused, the object is there (final: not sent again)
    ]);
  });
});
