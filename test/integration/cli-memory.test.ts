import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { type FakeFtpServer, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";
import { type S3Recorder, startS3Recorder } from "../support/s3-recorder.js";

const MiB = 1024 * 1024;
const TiB = 1024 * 1024 * MiB;
const bucket = "landing";
/** What the server claims for /out/huge.bin: 4.9 TiB, which S3 takes in 514 MiB parts. */
const hugeSize = Math.floor(4.9 * TiB);

describe("ftp2s3 copy within --max-memory", () => {
  let work: string;
  let fake: FakeFtpServer;
  let s3: EmbeddedS3Server;
  let recorder: S3Recorder;
  let env: Record<string, string>;
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-memory-"));
    fake = await startFakeFtpServer({
      files,
      handlers: {
        SIZE: (ctx) => (ctx.arg === "/out/huge.bin" ? ctx.reply(`213 ${hugeSize}`) : ctx.fallback()),
      },
    });
    files["/out/huge.bin"] = Buffer.from("the server lies about its size");
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket(bucket);
    recorder = await startS3Recorder(s3.endpoint);
    env = { ...s3.env, AWS_ENDPOINT_URL_S3: recorder.endpoint, FTP_PASSWORD: "pw" };
  });
  afterAll(async () => {
    await recorder.close();
    await fake.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    recorder.requests.length = 0;
    fake.commands.length = 0;
  });

  const copy = (name: string, ...args: string[]) =>
    runInProcess(
      [
        `ftp://u@127.0.0.1:${fake.port}/out/${name}`,
        `s3://${bucket}/in/${name}`,
        "--progress",
        "none",
        ...args,
      ],
      env,
    );

  it("refuses a SIZE of 4.9 TiB in the default 256 MiB before RETR, naming the memory it needs", async () => {
    // Act
    const run = await copy("huge.bin");

    // Assert
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /^ftp2s3: TOO_LARGE: ftp:\/\/u@127\.0\.0\.1:\d+\/out\/huge\.bin needs 514 MiB of memory for one part buffer .* budget of 256 MiB per copy: raise it \(ftp2s3 --max-memory/,
    );
    expect(fake.commands.filter((line) => line.startsWith("RETR"))).toEqual([]);
    expect(recorder.requests.map((r) => r.operation)).not.toContain("CreateMultipartUpload");
    expect(await objectExists(s3.client(), bucket, "in/huge.bin")).toBe(false);
  });

  it("copies a real file byte-exact with one 5 MiB buffer (--max-memory 5): one part at a time", async () => {
    // Arrange
    const data = randomFile(17 * MiB + 321);
    files["/out/real.bin"] = data;

    // Act
    const run = await copy("real.bin", "--part-size", "5", "--max-memory", "5");

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ bytes: data.length, partSize: 5 * MiB, sha256: sha256(data) });
    expect(sha256(await readObject(s3.client(), bucket, "in/real.bin"))).toBe(sha256(data));
    expect(recorder.requests.filter((r) => r.operation === "UploadPart")).toHaveLength(4);
    expect(recorder.openUploads()).toEqual([]);
  });

  it("refuses a --max-memory that is not a number of MiB, contacting nothing", async () => {
    const run = await copy("real.bin", "--max-memory", "lots");

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/--max-memory/);
    expect(fake.commands).toEqual([]);
  });
});
