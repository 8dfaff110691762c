import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListMultipartUploadsCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { type LostAnswerS3, startLostAnswerS3 } from "../support/lost-answer-s3.js";
import { randomFile, readObject, sha256 } from "../support/objects.js";
import { crc } from "../support/s3-checksum-check.js";

// S3 commits a CompleteMultipartUpload whose answer never reaches us (the connection is cut); the
// SDK sends it again and meets NoSuchUpload. The copy is reported as what it is: committed, when the
// object at the key is the upload's own; failed, as before, when it is another.
const MiB = 1024 * 1024;
const bucket = "lost-answers";

describe("ftp2s3 copy: a Complete whose answer was lost", () => {
  let work: string;
  let fake: FakeFtpServer;
  let s3: EmbeddedS3Server;
  let proxy: LostAnswerS3;
  let env: Record<string, string>;
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-lost-answer-"));
    fake = await startFakeFtpServer({ files, retr: retrScripts.normal() });
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket(bucket);
    proxy = await startLostAnswerS3(s3.endpoint);
    env = { ...s3.env, AWS_ENDPOINT_URL_S3: proxy.endpoint, FTP_PASSWORD: "pw" };
  });
  afterAll(async () => {
    await proxy.close();
    await fake.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  const copy = (name: string) =>
    runInProcess(
      [
        `ftp://u@127.0.0.1:${fake.port}/out/${name}`,
        `s3://${bucket}/in/`,
        "--part-size",
        "5",
        "--progress",
        "none",
      ],
      env,
    );
  const openUploads = async () =>
    (await s3.client().send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];

  it("reports the copy committed, with a warning, when the object is the upload's own", async () => {
    // Arrange
    const data = randomFile(7 * MiB + 3);
    files["/out/landed.bin"] = data;
    const before = { completes: proxy.completes, noSuchUpload: proxy.noSuchUpload };
    proxy.loseNextComplete();

    // Act
    const run = await copy("landed.bin");

    // Assert
    expect(run.stderr).toMatch(
      /^ftp2s3: warning: upload \S+ to s3:\/\/lost-answers\/in\/landed\.bin was gone when its completion was asked again \(the answer to an earlier CompleteMultipartUpload was lost\): the object at the key is this upload's \(7340035 bytes, CRC64NVME \S+ as sent\), so it counts as committed/m,
    );
    expect(run.exitCode).toBe(0);
    const stored = await readObject(s3.client(), bucket, "in/landed.bin");
    expect(sha256(stored)).toBe(sha256(data));
    expect(run.result).toMatchObject({
      status: "copied",
      bytes: data.length,
      sha256: sha256(data),
      crc64nvme: await crc(data),
    });
    expect(proxy.completes - before.completes).toBe(2); // the SDK sent it again
    expect(proxy.noSuchUpload - before.noSuchUpload).toBe(1);
    expect(await openUploads()).toEqual([]);
  });

  it("fails as before when another object of the same size took the key meanwhile", async () => {
    // Arrange
    const data = randomFile(7 * MiB + 3);
    files["/out/replaced.bin"] = data;
    const other = randomFile(data.length);
    const writer = new S3Client({
      endpoint: proxy.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID as string,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
      },
    });
    proxy.loseNextComplete(async () => {
      await writer.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: "in/replaced.bin",
          Body: other,
          ChecksumCRC64NVME: await crc(other),
        }),
      );
    });

    // Act
    const run = await copy("replaced.bin");

    // Assert
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^ftp2s3: S3: .*NoSuchUpload/m);
    expect(run.stderr).not.toMatch(/counts as committed/);
    expect(sha256(await readObject(s3.client(), bucket, "in/replaced.bin"))).toBe(sha256(other));
    expect(await openUploads()).toEqual([]);
  });
});
