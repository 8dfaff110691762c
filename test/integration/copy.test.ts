import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startFauxqsS3, startS3rver } from "../support/embedded-s3.js";
import {
  objectExists,
  objectMetadata,
  objectTags,
  randomFile,
  readObject,
  sha256,
} from "../support/objects.js";
import { type S3Recorder, startS3Recorder } from "../support/s3-recorder.js";

const MiB = 1024 * 1024;
const bucket = "landing";

interface Rig {
  ftp: EmbeddedFtpServer;
  s3: EmbeddedS3Server;
  recorder: S3Recorder;
  client: S3Client;
  env: Record<string, string>;
  /** Options this S3 server needs. */
  extraArgs: string[];
  /** Puts a file on the FTP server and returns its ftp:// URL. */
  serve(path: string, data: Buffer): Promise<string>;
  close(): Promise<void>;
}

async function startRig(kind: "s3rver" | "fauxqs"): Promise<Rig> {
  const work = await mkdtemp(join(tmpdir(), "ftp2s3-copy-"));
  const ftp = await startEmbeddedFtp({ root: join(work, "ftp") });
  const s3 = kind === "s3rver" ? await startS3rver(join(work, "s3")) : await startFauxqsS3();
  await s3.createBucket(bucket);
  const recorder = await startS3Recorder(s3.endpoint);
  return {
    ftp,
    s3,
    recorder,
    client: s3.client(),
    env: { ...s3.env, AWS_ENDPOINT_URL_S3: recorder.endpoint, FTP_PASSWORD: ftp.password },
    // fauxqs takes PutObjectTagging for a PutObject and replaces the object with the tagging XML.
    extraArgs: kind === "fauxqs" ? ["--no-tag"] : [],
    async serve(path, data) {
      const local = join(ftp.root, path);
      await mkdir(dirname(local), { recursive: true });
      await writeFile(local, data);
      const encoded = path.split("/").map(encodeURIComponent).join("/");
      return `ftp://${ftp.user}@${ftp.host}:${ftp.port}/${encoded}`;
    },
    async close() {
      await recorder.close();
      await ftp.close();
      await s3.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

describe.each(["s3rver", "fauxqs"] as const)("ftp2s3 copies byte-exact into %s", (kind) => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig(kind);
  });
  afterAll(() => rig.close());

  // With 5 MiB parts, 5 MiB - 1 is the largest single PutObject and 5 MiB + 1 the smallest two-part upload.
  it.each([0, 1, 5 * MiB - 1, 5 * MiB + 1, 64 * MiB])("a file of %i bytes", async (size) => {
    // Arrange
    const data = randomFile(size);
    const url = await rig.serve(`files/${size}.bin`, data);
    rig.recorder.requests.length = 0;

    // Act
    const run = await runInProcess(
      [url, `s3://${bucket}/copies/`, "--part-size", "5", ...rig.extraArgs],
      rig.env,
    );

    // Assert
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({
      bucket,
      key: `copies/${size}.bin`,
      bytes: size,
      sha256: sha256(data),
      // ftp-srv answers SIZE of an empty file with "213 File status", which carries no size.
      sizeCheck: size === 0 ? "skipped" : "matched",
      ftpReply: { code: 226 },
      tagged: rig.s3.kind === "s3rver",
    });
    expect(sha256(await readObject(rig.client, bucket, `copies/${size}.bin`))).toBe(sha256(data));
    const operations = rig.recorder.requests.map((r) => r.operation);
    const expectedParts = size > 5 * MiB ? Math.ceil(size / (5 * MiB)) : 0;
    expect(operations.filter((op) => op === "UploadPart")).toHaveLength(expectedParts);
    expect(operations.filter((op) => op === "PutObject")).toHaveLength(expectedParts === 0 ? 1 : 0);
    expect(rig.recorder.openUploads()).toEqual([]);
  });

  it("records the source and the digest with the object", async () => {
    const data = randomFile(1000);
    const url = await rig.serve("reports/März 2026 #1.csv", data);

    const run = await runInProcess([url, `s3://${bucket}/meta/report.csv`, ...rig.extraArgs], rig.env);

    expect(run.exitCode).toBe(0);
    expect(await readObject(rig.client, bucket, "meta/report.csv")).toEqual(data);
    const metadata = await objectMetadata(rig.client, bucket, "meta/report.csv");
    expect(metadata["source-url"]).toBe(
      `ftp://${rig.ftp.user}@127.0.0.1:${rig.ftp.port}/reports/M%C3%A4rz%202026%20%231.csv`,
    );
    expect(metadata["source-size"]).toBe("1000");
    expect(Number.isNaN(Date.parse(metadata["source-mtime"] ?? ""))).toBe(false);
    if (rig.s3.kind === "s3rver") {
      expect(await objectTags(rig.client, bucket, "meta/report.csv")).toEqual({ sha256: sha256(data) });
    }
  });
});

describe("ftp2s3 command behaviour", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig("s3rver");
  });
  afterAll(() => rig.close());

  it("keeps the remote file name when the key ends in / and takes an explicit key as given", async () => {
    const data = randomFile(10);
    const url = await rig.serve("dir with space/ünïcødé.bin", data);

    const intoPrefix = await runInProcess([url, `s3://${bucket}/prefix/`], rig.env);
    const explicit = await runInProcess([url, `s3://${bucket}/exact/name.bin`], rig.env);

    expect(intoPrefix.result?.key).toBe("prefix/ünïcødé.bin");
    expect(explicit.result?.key).toBe("exact/name.bin");
    expect(await readObject(rig.client, bucket, "prefix/ünïcødé.bin")).toEqual(data);
  });

  it("refuses to replace an existing object unless --overwrite is given", async () => {
    const first = randomFile(100);
    const second = randomFile(200);
    const url = await rig.serve("overwrite/file.bin", first);
    await runInProcess([url, `s3://${bucket}/overwrite/file.bin`], rig.env);
    await rig.serve("overwrite/file.bin", second);

    const refused = await runInProcess([url, `s3://${bucket}/overwrite/file.bin`], rig.env);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toBe(
      `ftp2s3: OBJECT_EXISTS: s3://${bucket}/overwrite/file.bin already exists and overwriting was not allowed (--overwrite replaces it)\n`,
    );
    expect(await readObject(rig.client, bucket, "overwrite/file.bin")).toEqual(first);

    const replaced = await runInProcess([url, `s3://${bucket}/overwrite/file.bin`, "--overwrite"], rig.env);
    expect(replaced.exitCode).toBe(0);
    expect(await readObject(rig.client, bucket, "overwrite/file.bin")).toEqual(second);
  });

  it("draws a progress line on a terminal and ends it with the full count", async () => {
    const data = randomFile(3 * MiB);
    const url = await rig.serve("progress/tty.bin", data);

    const run = await runInProcess([url, `s3://${bucket}/progress/tty.bin`], rig.env, { tty: true });

    expect(run.exitCode).toBe(0);
    const frames = run.stderr.split("\r").filter((frame) => frame !== "");
    expect(frames[0]).toMatch(/^Received 0 of 3145728 bytes \(0\.0%\)/);
    expect(frames.at(-1)).toMatch(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's erase-line sequence is the point
      /^Received 3145728 of 3145728 bytes \(100\.0%\) {2}[\d.]+ \w*B\/s\u001b\[K\n$/,
    );
  });

  it("writes progress as JSON lines when stderr is not a terminal, bytes never decreasing", async () => {
    const data = randomFile(2 * MiB);
    const url = await rig.serve("progress/json.bin", data);

    const run = await runInProcess([url, `s3://${bucket}/progress/json.bin`], rig.env);

    const events = run.stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { event: string; bytes: number; totalBytes: number; done: boolean });
    expect(events[0]).toMatchObject({ event: "progress", bytes: 0, totalBytes: 2 * MiB, done: false });
    expect(events.at(-1)).toMatchObject({ bytes: 2 * MiB, percent: 100, done: true });
    const counts = events.map((e) => e.bytes);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it("fails with one line and exit 1 when the file does not exist, leaving nothing", async () => {
    const url = `ftp://${rig.ftp.user}@127.0.0.1:${rig.ftp.port}/missing/file.bin`;

    const run = await runInProcess([url, `s3://${bucket}/missing/file.bin`, "--progress", "none"], rig.env);

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /^ftp2s3: FTP_REPLY: RETR ftp:\/\/demo@127\.0\.0\.1:\d+\/missing\/file\.bin failed: 55\d .*\n$/,
    );
    expect(await objectExists(rig.client, bucket, "missing/file.bin")).toBe(false);
  });

  it("reports a refused login without echoing the password", async () => {
    const url = `ftp://${rig.ftp.user}@127.0.0.1:${rig.ftp.port}/x.bin`;

    const run = await runInProcess([url, `s3://${bucket}/x.bin`], {
      ...rig.env,
      FTP_PASSWORD: "wrong-secret",
    });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^ftp2s3: FTP_LOGIN: ftp:\/\/demo@127\.0\.0\.1:\d+: login as "demo" refused: 530 .*\n$/,
    );
    expect(run.stderr).not.toContain("wrong-secret");
  });

  it.each([
    [["ftp://h/x"], /missing required argument 's3-url'/],
    [["http://h/x", "s3://landing/x"], /^ftp2s3: INVALID_INPUT: unsupported scheme "http:"/],
    [
      ["ftp://u:secret@h/x", "s3://landing/x"],
      /^ftp2s3: INVALID_INPUT: the URL ftp:\/\/u:\*\*\*@h\/x carries a password/,
    ],
    [
      ["ftp://h/dir/", "s3://landing/x"],
      /^ftp2s3: INVALID_INPUT: remote path "\/dir\/" does not name a file/,
    ],
    [
      ["ftp://h/a%0D%0ADELE%20b", "s3://landing/x"],
      /^ftp2s3: INVALID_INPUT: remote path .* contains CR, LF or NUL/,
    ],
    [["ftp://h/x", "s3://Bad_Bucket/x"], /^ftp2s3: INVALID_INPUT: invalid bucket name "Bad_Bucket"/],
    [
      ["ftp://h/x", "s3://landing/../x"],
      /^ftp2s3: INVALID_INPUT: the S3 key "..\/x" has a "." or ".." segment/,
    ],
    [
      ["ftp://h/x", "s3://landing/x", "--part-size", "4"],
      /^ftp2s3: INVALID_INPUT: option '--part-size <MiB>' argument '4' is invalid\. expected a number of MiB from 5 to 5120/,
    ],
    [
      ["ftp://h/x", "s3://landing/x", "--queue-size", "0"],
      /option '--queue-size <n>' argument '0' is invalid/,
    ],
  ])("rejects bad input %j with exit 2 before connecting", async (args, message) => {
    const run = await runInProcess(args, rig.env);

    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
