import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { objectTags, randomFile, sha256 } from "../support/objects.js";

const MiB = 1024 * 1024;

// `ftp2s3 sha256`: an object read back from s3rver, its SHA-256 printed, and with --tag written as
// its sha256 tag beside the tags it had.
describe("ftp2s3 sha256 <s3-url>", () => {
  let work: string;
  let s3: EmbeddedS3Server;
  const bucket = "read-back";

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-sha256-"));
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket(bucket);
  });
  afterAll(async () => {
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  const put = (key: string, body: Buffer, tagging?: string) =>
    s3.client().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ...(tagging ? { Tagging: tagging } : {}),
      }),
    );

  it("prints the SHA-256 of the object's bytes and tags nothing without --tag", async () => {
    // Arrange
    const data = randomFile(3 * MiB + 17);
    await put("fanned/big.bin", data);

    // Act
    const run = await runInProcess(["sha256", `s3://${bucket}/fanned/big.bin`, "--progress", "none"], s3.env);

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({
      status: "read",
      bucket,
      key: "fanned/big.bin",
      bytes: data.length,
      sha256: sha256(data),
      tagged: false,
    });
    expect(await objectTags(s3.client(), bucket, "fanned/big.bin")).toEqual({});
  });

  it("with --tag writes the sha256 tag and keeps the object's other tags", async () => {
    // Arrange
    const data = randomFile(100_000);
    await put("fanned/tagged.bin", data, "team=data&sha256=stale");

    // Act
    const run = await runInProcess(
      ["sha256", `s3://${bucket}/fanned/tagged.bin`, "--tag", "--progress", "json"],
      s3.env,
    );

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ sha256: sha256(data), tagged: true });
    expect(await objectTags(s3.client(), bucket, "fanned/tagged.bin")).toEqual({
      team: "data",
      sha256: sha256(data),
    });
    const progress = run.stderr.split("\n").filter((line) => line.includes('"event":"progress"'));
    expect(JSON.parse(progress.at(-1) as string)).toMatchObject({ bytes: data.length, done: true });
  });

  it("a missing object or a URL without a key: one line and exit 1 or 2, nothing tagged", async () => {
    // Act
    const missing = await runInProcess(["sha256", `s3://${bucket}/nothing-here.bin`, "--tag"], s3.env);
    const noKey = await runInProcess(["sha256", `s3://${bucket}/folder/`], s3.env);

    // Assert
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(
      new RegExp(
        `^ftp2s3: S3: cannot read s3://${bucket}/nothing-here.bin \\(no such object\\): .*\\(HTTP 404\\)\\n$`,
      ),
    );
    expect(noKey.exitCode).toBe(2);
    expect(noKey.stderr).toBe(
      `ftp2s3: INVALID_INPUT: s3://${bucket}/folder/ names no object: give its key (s3://bucket/key)\n`,
    );
  });
});
