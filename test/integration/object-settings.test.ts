import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { objectExists, objectTags, randomFile } from "../support/objects.js";
import { type S3Recorder, startS3Recorder } from "../support/s3-recorder.js";

/**
 * Where objects land, through the command: what s3rver stores (Content-Type, metadata, tags) is read
 * back; what it ignores (storage class, SSE-KMS, Object Lock) is asserted on the requests as they
 * went over the wire, on the PutObject of a one-part file and the CreateMultipartUpload of a larger one.
 */
const MiB = 1024 * 1024;
const bucket = "landing";
const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

let work: string;
let ftp: EmbeddedFtpServer;
let s3: EmbeddedS3Server;
let recorder: S3Recorder;
let client: S3Client;
let env: Record<string, string>;

async function serve(path: string, data: Buffer): Promise<string> {
  const local = join(ftp.root, path);
  await mkdir(dirname(local), { recursive: true });
  await writeFile(local, data);
  return `ftp://${ftp.user}@${ftp.host}:${ftp.port}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

async function head(key: string) {
  return client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

function requestsOf(operation: string) {
  return recorder.requests.filter((r) => r.operation === operation);
}

const settingsFlags = [
  "--progress",
  "none",
  "--storage-class",
  "STANDARD_IA",
  "--sse-kms-key-id",
  keyArn,
  "--metadata",
  "origin={connection}:{path}",
  "--metadata",
  "file-size={size}",
  "--object-tag",
  "file={name}",
  "--retention",
  "governance:30",
];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ftp2s3-object-settings-"));
  ftp = await startEmbeddedFtp({ root: join(work, "ftp") });
  s3 = await startS3rver(join(work, "s3"));
  await s3.createBucket(bucket);
  recorder = await startS3Recorder(s3.endpoint);
  client = s3.client();
  env = { ...s3.env, AWS_ENDPOINT_URL_S3: recorder.endpoint, FTP_PASSWORD: ftp.password };
});

afterAll(async () => {
  await recorder.close();
  await ftp.close();
  await s3.close();
  await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  recorder.requests.length = 0;
});

describe("ftp2s3 copy with object settings", () => {
  it("sends them all on the PutObject of a one-part file, and s3rver keeps the type, metadata and tags", async () => {
    // Arrange
    const url = await serve("out/report.csv", randomFile(1000));
    const before = Date.now();

    // Act
    const run = await runInProcess([url, `s3://${bucket}/one/`, ...settingsFlags], env);

    // Assert
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const [put] = requestsOf("PutObject");
    expect(put?.headers).toMatchObject({
      "content-type": "text/csv",
      "x-amz-storage-class": "STANDARD_IA",
      "x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-aws-kms-key-id": keyArn,
      "x-amz-server-side-encryption-bucket-key-enabled": "true",
      "x-amz-object-lock-mode": "GOVERNANCE",
      "x-amz-meta-origin": "127.0.0.1:/out/report.csv",
      "x-amz-meta-file-size": "1000",
    });
    expect(new URLSearchParams(put?.headers["x-amz-tagging"])).toEqual(
      new URLSearchParams({ file: "report.csv", sha256: run.result?.sha256 as string }),
    );
    const retainUntil = Date.parse(put?.headers["x-amz-object-lock-retain-until-date"] ?? "");
    expect(retainUntil).toBeGreaterThanOrEqual(before + 30 * 86_400_000 - 1000);
    expect(retainUntil).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
    expect(requestsOf("PutObjectTagging")).toHaveLength(0);
    const stored = await head("one/report.csv");
    expect(stored.ContentType).toBe("text/csv");
    expect(stored.Metadata).toMatchObject({ origin: "127.0.0.1:/out/report.csv", "file-size": "1000" });
    expect(await objectTags(client, bucket, "one/report.csv")).toMatchObject({ file: "report.csv" });
  });

  it("sends them on CreateMultipartUpload, and the SHA-256 tag request keeps the templates' tags", async () => {
    const url = await serve("out/big.tar.gz", randomFile(6 * MiB));

    const run = await runInProcess([url, `s3://${bucket}/multi/`, "--part-size", "5", ...settingsFlags], env);

    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const [create] = requestsOf("CreateMultipartUpload");
    expect(create?.headers).toMatchObject({
      "content-type": "application/gzip",
      "x-amz-storage-class": "STANDARD_IA",
      "x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-aws-kms-key-id": keyArn,
      "x-amz-object-lock-mode": "GOVERNANCE",
      "x-amz-tagging": "file=big.tar.gz",
    });
    expect(create?.headers["x-amz-object-lock-retain-until-date"]).toBeDefined();
    expect(requestsOf("UploadPart").every((r) => r.headers["x-amz-storage-class"] === undefined)).toBe(true);
    expect(await objectTags(client, bucket, "multi/big.tar.gz")).toEqual({
      file: "big.tar.gz",
      sha256: run.result?.sha256,
    });
    expect((await head("multi/big.tar.gz")).ContentType).toBe("application/gzip");
  });

  it("gives a file without a known extension application/octet-stream, and --content-type wins over the extension", async () => {
    const unknown = await serve("out/data.weird-ext", randomFile(10));
    const csv = await serve("out/table.csv", randomFile(10));

    const first = await runInProcess([unknown, `s3://${bucket}/types/`], env);
    const second = await runInProcess([csv, `s3://${bucket}/types/`, "--content-type", "text/plain"], env);

    expect([first.exitCode, second.exitCode]).toEqual([0, 0]);
    expect((await head("types/data.weird-ext")).ContentType).toBe("application/octet-stream");
    expect((await head("types/table.csv")).ContentType).toBe("text/plain");
  });

  it("percent-encodes non-ASCII in metadata, which decodes back to the path", async () => {
    const url = await serve("données/été.txt", randomFile(10));

    const run = await runInProcess([url, `s3://${bucket}/utf8/`, "--metadata", "path={path}"], env);

    expect(run.exitCode).toBe(0);
    const stored = (await head("utf8/été.txt")).Metadata ?? {};
    expect(stored.path).toBe("/donn%C3%A9es/%C3%A9t%C3%A9.txt");
    expect(decodeURIComponent(stored.path ?? "")).toBe("/données/été.txt");
  });

  it("refuses a path too long for a tag value with one line, before anything is uploaded", async () => {
    const longName = `${"n".repeat(250)}.bin`;
    const url = await serve(`deep/${longName}`, randomFile(6 * MiB));

    const run = await runInProcess(
      [url, `s3://${bucket}/long/`, "--part-size", "5", "--object-tag", "path={path}"],
      env,
    );

    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/INVALID_INPUT.*tag "path" would be 260 characters, more than S3's 256/);
    expect(requestsOf("CreateMultipartUpload")).toHaveLength(0);
    expect(requestsOf("PutObject")).toHaveLength(0);
    expect(await objectExists(client, bucket, `long/${longName}`)).toBe(false);
  });

  it("refuses a bad flag before contacting anyone", async () => {
    const run = await runInProcess(
      ["ftp://u@127.0.0.1:1/x", `s3://${bucket}/x`, "--object-tag", "owner={user}"],
      { ...env },
    );

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(
      /"\{user\}" is not one of \{connection\} \{path\} \{name\} \{size\} \{mtime\}/,
    );
    expect(recorder.requests).toHaveLength(0);
  });
});

describe("ftp2s3 mirror with object settings", () => {
  it("finds its own objects unchanged on the next run: templates' metadata is not a source change, nor a changed setting", async () => {
    await serve("tree/a.csv", randomFile(10));
    await serve("tree/b.bin", randomFile(10));
    const args = ["mirror", `ftp://${ftp.user}@${ftp.host}:${ftp.port}/tree`, `s3://${bucket}/tree/`];
    const settings = ["--metadata", "origin={path}", "--object-tag", "file={name}", "--progress", "none"];

    const first = await runInProcess([...args, ...settings], env);
    const second = await runInProcess([...args, ...settings], env);
    const changed = await runInProcess(
      [...args, "--storage-class", "STANDARD_IA", "--progress", "none"],
      env,
    );

    expect(first.exitCode).toBe(0);
    expect(first.result).toMatchObject({ copied: 2, unchanged: 0 });
    expect(second.result).toMatchObject({ copied: 0, unchanged: 2 });
    expect(changed.result).toMatchObject({ copied: 0, unchanged: 2 });
    expect((await head("tree/a.csv")).Metadata).toMatchObject({ origin: "/tree/a.csv" });
    expect((await head("tree/a.csv")).ContentType).toBe("text/csv");
  });
});

describe("ftp2s3 mirror and S3's limits", () => {
  it("fails only the file whose path breaks a tag's limit, and copies the others", async () => {
    const deep = `${`${"d".repeat(60)}/`.repeat(4)}deep.bin`;
    await serve(`limits/${deep}`, randomFile(10));
    await serve("limits/short.bin", randomFile(10));

    const run = await runInProcess(
      [
        "mirror",
        "--recursive",
        `ftp://${ftp.user}@${ftp.host}:${ftp.port}/limits`,
        `s3://${bucket}/limits/`,
        "--object-tag",
        "p={path}",
        "--progress",
        "none",
      ],
      env,
    );

    expect(run.exitCode).toBe(1);
    expect(run.result).toMatchObject({
      copied: 1,
      failed: [{ path: `/limits/${deep}`, code: "INVALID_INPUT" }],
    });
    expect(await objectExists(client, bucket, "limits/short.bin")).toBe(true);
    expect(await objectExists(client, bucket, `limits/${deep}`)).toBe(false);
  });
});

describe("Object Lock and --checksums when-required", () => {
  it("with when-required the SDK sends no integrity header on a PutObject, so --retention refuses it up front", async () => {
    const url = await serve("out/locked.bin", randomFile(100));

    const plain = await runInProcess(
      [url, `s3://${bucket}/plain/`, "--checksums", "when-required", "--progress", "none"],
      env,
    );
    const locked = await runInProcess(
      [url, `s3://${bucket}/locked/`, "--retention", "compliance:1", "--checksums", "when-required"],
      env,
    );

    expect(plain.exitCode).toBe(0);
    const integrity = Object.keys(requestsOf("PutObject")[0]?.headers ?? {}).filter(
      (name) => name === "content-md5" || name.startsWith("x-amz-checksum-"),
    );
    expect(integrity).toEqual([]);
    expect(locked.exitCode).toBe(2);
    expect(locked.stderr).toMatch(/--retention needs upload checksums/);
    expect(requestsOf("PutObject")).toHaveLength(1);
  });

  it("with the default checksums, the PutObject carries one (what an Object Lock bucket requires)", async () => {
    const url = await serve("out/locked2.bin", randomFile(100));

    const run = await runInProcess([url, `s3://${bucket}/locked/`, "--retention", "compliance:1"], env);

    expect(run.exitCode).toBe(0);
    const [put] = requestsOf("PutObject");
    expect(Object.keys(put?.headers ?? {}).some((name) => name.startsWith("x-amz-checksum-"))).toBe(true);
  });
});
