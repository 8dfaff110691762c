import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import {
  type CommandContext,
  type FakeFtpServer,
  retrScripts,
  startFakeFtpServer,
} from "../support/fake-ftp-server.js";
import { objectExists, objectTags, randomFile, readObject, sha256 } from "../support/objects.js";
import { type ChecksumCheckingS3, crc, startChecksumCheckingS3 } from "../support/s3-checksum-check.js";

// Both ends vouch for the bytes: the server's own digest (HASH, XSHA256, XMD5...) compared before the
// commit, and S3's full-object CRC64NVME check, played by a proxy in front of s3rver that checks
// checksums as S3 does and can flip a byte on the way in.
const MiB = 1024 * 1024;
const bucket = "digests";

const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");

describe("ftp2s3 copy: verified end to end by both ends", () => {
  let work: string;
  let fake: FakeFtpServer;
  let s3: EmbeddedS3Server;
  let proxy: ChecksumCheckingS3;
  let env: Record<string, string>;
  const files: Record<string, Buffer> = {};
  /** The FEAT lines besides the basics, and what HASH / XMD5 answer: set per test. */
  let digestFeatures: string[] = [];
  let hashReply: (ctx: CommandContext) => string = (ctx) =>
    `213 SHA-256 0-${ctx.file?.length} ${sha256(ctx.file as Buffer)} ${ctx.arg}`;
  let xmd5Reply: (ctx: CommandContext) => string = (ctx) => `250 ${md5(ctx.file as Buffer)}`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-digests-"));
    fake = await startFakeFtpServer({
      files,
      handlers: {
        FEAT: (ctx) => {
          ctx.reply("211-Features:");
          for (const line of ["SIZE", "MDTM", "EPSV", "PASV", "UTF8", ...digestFeatures])
            ctx.reply(` ${line}`);
          ctx.reply("211 End");
        },
        HASH: (ctx) => ctx.reply(hashReply(ctx)),
        XMD5: (ctx) => ctx.reply(xmd5Reply(ctx)),
      },
      retr: retrScripts.normal(),
    });
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket(bucket);
    proxy = await startChecksumCheckingS3(s3.endpoint);
    env = {
      ...s3.env,
      AWS_ENDPOINT_URL_S3: proxy.endpoint,
      FTP_PASSWORD: "pw",
      FTP2S3_STATE_DIR: join(work, "state"),
    };
  });
  afterAll(async () => {
    await proxy.close();
    await fake.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });
  afterEach(() => {
    digestFeatures = [];
    hashReply = (ctx) => `213 SHA-256 0-${ctx.file?.length} ${sha256(ctx.file as Buffer)} ${ctx.arg}`;
    xmd5Reply = (ctx) => `250 ${md5(ctx.file as Buffer)}`;
    proxy.flip = undefined;
    proxy.checkParts = true;
  });

  const urlOf = (name: string) => `ftp://u@127.0.0.1:${fake.port}/out/${name}`;
  const copy = (name: string, ...args: string[]) =>
    runInProcess([urlOf(name), `s3://${bucket}/in/`, "--part-size", "5", "--progress", "none", ...args], env);
  const openUploads = async () =>
    (await s3.client().send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  const commandsSince = (from: number) => fake.commands.slice(from).map((line) => line.split(" ")[0]);

  it("records the server's SHA-256 (HASH) and the CRC64NVME S3 checked, equal to the file's", async () => {
    // Arrange
    const data = randomFile(12 * MiB + 5);
    files["/out/hashed.bin"] = data;
    digestFeatures = ["HASH SHA-256*;SHA-1;MD5;CRC32"];
    const from = fake.commands.length;

    // Act
    const run = await copy("hashed.bin");

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({
      status: "copied",
      sha256: sha256(data),
      sourceDigest: { algorithm: "sha-256", value: sha256(data) },
      crc64nvme: await crc(data),
    });
    expect(commandsSince(from)).toContain("HASH");
    expect(commandsSince(from)).not.toContain("OPTS HASH"); // SHA-256 was already selected (*)
    // The login's FEAT chose MLSD; the digests read the same answer: one FEAT for the session.
    expect(commandsSince(from).filter((verb) => verb === "FEAT")).toHaveLength(1);
    const [uploadId, seen] =
      [...proxy.seen].find(([, s]) => s.sent === (run.result?.crc64nvme as string)) ?? [];
    expect(uploadId).toBeDefined();
    expect(seen?.created).toEqual({ algorithm: "CRC64NVME", type: "FULL_OBJECT" });
    expect(sha256(await readObject(s3.client(), bucket, "in/hashed.bin"))).toBe(sha256(data));
    expect(await objectTags(s3.client(), bucket, "in/hashed.bin")).toEqual({
      sha256: sha256(data),
      "source-digest": `sha-256:${sha256(data)}`,
    });
  });

  it("aborts with CHECKSUM_MISMATCH when the server's digest differs: nothing stored, no upload open", async () => {
    // Arrange
    const data = randomFile(11 * MiB);
    files["/out/lied.bin"] = data;
    digestFeatures = ["HASH SHA-256*;MD5"];
    hashReply = (ctx) => `213 SHA-256 0-${ctx.file?.length} ${"ab".repeat(32)} ${ctx.arg}`;

    // Act
    const run = await copy("lied.bin");

    // Assert
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      `ftp2s3: CHECKSUM_MISMATCH: ${urlOf("lied.bin")}: the server's sha-256 of the file is ${"ab".repeat(32)}, but the bytes read hash to ${sha256(data)}: nothing was stored`,
    );
    expect(await objectExists(s3.client(), bucket, "in/lied.bin")).toBe(false);
    expect(await openUploads()).toEqual([]);
  });

  it("compares the older XMD5 with an MD5 of its own, and a lying one fails a one-part file too", async () => {
    const data = randomFile(300_000);
    files["/out/small.bin"] = data;
    digestFeatures = ["XMD5"];

    const good = await copy("small.bin", "--overwrite");
    expect(good.exitCode).toBe(0);
    expect(await objectTags(s3.client(), bucket, "in/small.bin")).toEqual({
      sha256: sha256(data),
      "source-digest": `md5:${md5(data)}`,
    });
    expect(good.result).toMatchObject({
      sourceDigest: { algorithm: "md5", value: md5(data) },
      crc64nvme: await crc(data),
    });

    xmd5Reply = () => `250 ${"0".repeat(32)}`;
    const lied = await copy("small.bin", "--overwrite");
    expect(lied.exitCode).toBe(1);
    expect(lied.stderr).toMatch(/^ftp2s3: CHECKSUM_MISMATCH: .*md5 of the file is 0{32}/);
  });

  it("takes a reply it cannot parse as no digest: the copy goes on on the commit gate alone, and says so", async () => {
    const data = randomFile(200_000);
    files["/out/garbled.bin"] = data;
    digestFeatures = ["HASH SHA-256*"];
    hashReply = () => "213 here is your hash, friend";

    const run = await copy("garbled.bin");

    expect(run.exitCode).toBe(0);
    expect(run.result).not.toHaveProperty("sourceDigest");
    expect(run.result?.sha256).toBe(sha256(data));
    expect(run.stderr).toContain("the server gave no sha-256 of the file");
    expect(run.stderr).toContain("does not parse");
  });

  it("--server-digest require fails a server without digests before reading; off never asks", async () => {
    files["/out/plain.bin"] = randomFile(1000);
    const from = fake.commands.length;
    const required = await copy("plain.bin", "--server-digest", "require");
    expect(required.exitCode).toBe(1);
    expect(required.stderr).toMatch(/^ftp2s3: NO_SERVER_DIGEST: .*serverDigest "require"/);
    expect(commandsSince(from)).not.toContain("RETR");

    digestFeatures = ["HASH SHA-256*"];
    const fromOff = fake.commands.length;
    const off = await copy("plain.bin", "--server-digest", "off");
    expect(off.exitCode).toBe(0);
    expect(commandsSince(fromOff)).not.toContain("HASH");
  });

  it("S3 refuses a part whose byte flipped on the way in (its CRC64NVME), and the upload is aborted", async () => {
    files["/out/flip-part.bin"] = randomFile(11 * MiB);
    proxy.flip = { partNumber: 2 };

    const run = await copy("flip-part.bin");

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/BadDigest/);
    expect(await objectExists(s3.client(), bucket, "in/flip-part.bin")).toBe(false);
    expect(await openUploads()).toEqual([]);
  });

  it("S3 refuses the object at Complete when its full-object CRC64NVME differs: CHECKSUM_MISMATCH, upload aborted", async () => {
    const data = randomFile(11 * MiB);
    files["/out/flip-object.bin"] = data;
    proxy.flip = { partNumber: 1 };
    proxy.checkParts = false; // the part checks let it through: only the full-object check is left

    const run = await copy("flip-object.bin");

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^ftp2s3: CHECKSUM_MISMATCH: S3 refused s3:\/\/digests\/in\/flip-object\.bin: .*BadDigest/,
    );
    const refused = [...proxy.seen.values()].find((s) => (s.sent === undefined ? false : s.refused > 0));
    expect(refused?.sent).toBe(await crc(data)); // we sent the CRC of the bytes read, not of what S3 got
    expect(await objectExists(s3.client(), bucket, "in/flip-object.bin")).toBe(false);
    expect(await openUploads()).toEqual([]);
  });

  it("S3 refuses a one-part PutObject whose byte flipped", async () => {
    files["/out/flip-put.bin"] = randomFile(100_000);
    proxy.flip = { partNumber: 1 };

    const run = await copy("flip-put.bin");

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^ftp2s3: CHECKSUM_MISMATCH: S3 refused/);
    expect(await objectExists(s3.client(), bucket, "in/flip-put.bin")).toBe(false);
  });

  it("--checksums when-required sends no CRC64NVME at all", async () => {
    files["/out/bare.bin"] = randomFile(11 * MiB);
    const run = await copy("bare.bin", "--checksums", "when-required");
    expect(run.exitCode).toBe(0);
    expect(run.result).not.toHaveProperty("crc64nvme");
  });

  it("a copy stopped and resumed (--stop-after, --resume) ends with the CRC64NVME and the server's SHA-256 of the whole file", async () => {
    const data = randomFile(26 * MiB + 777);
    files["/out/legs.bin"] = data;
    digestFeatures = ["HASH SHA-256*;MD5"];

    const first = await copy("legs.bin", "--stop-after", "0.3");
    expect(first.exitCode).toBe(75);
    const uploadId = first.result?.uploadId as string;
    expect(first.result?.resumeAt).not.toHaveProperty("crcState"); // internal: in the state file

    const last = await copy("legs.bin", "--resume", uploadId);
    expect(last.exitCode).toBe(0);
    expect(last.result).toMatchObject({
      status: "copied",
      bytes: data.length,
      sha256: sha256(data),
      crc64nvme: await crc(data),
      sourceDigest: { algorithm: "sha-256", value: sha256(data) },
    });
    expect(last.result?.resumedFrom).toBeGreaterThan(0);
    expect(proxy.seen.get(uploadId)?.sent).toBe(await crc(data));
  });
});
