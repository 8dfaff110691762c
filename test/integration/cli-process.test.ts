import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProcess } from "../support/cli.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

// The real entry point in a child process: exit statuses, stdout and stderr exactly as a shell sees them.
describe("the ftp2s3 process", () => {
  let work: string;
  let ftp: EmbeddedFtpServer;
  let s3: EmbeddedS3Server;
  let env: Record<string, string>;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-process-"));
    ftp = await startEmbeddedFtp({ root: join(work, "ftp") });
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket("proc");
    env = { ...s3.env, FTP_PASSWORD: ftp.password };
  });
  afterAll(async () => {
    await ftp.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it("exits 0 with one JSON line on stdout once the object is committed", async () => {
    const data = randomFile(6 * 1024 * 1024);
    await writeFile(join(ftp.root, "six.bin"), data);

    const run = await runProcess([`ftp://demo@127.0.0.1:${ftp.port}/six.bin`, "s3://proc/six.bin"], env);

    expect(run.exitCode).toBe(0);
    expect(run.stdout.split("\n")).toHaveLength(2); // one line and its newline
    expect(run.result).toMatchObject({
      bucket: "proc",
      key: "six.bin",
      bytes: data.length,
      sha256: sha256(data),
    });
    expect(Object.keys(run.result ?? {})).toEqual(
      expect.arrayContaining(["bucket", "key", "bytes", "etag", "sha256", "durationMs", "ftpReply"]),
    );
    expect(sha256(await readObject(s3.client(), "proc", "six.bin"))).toBe(sha256(data));
  });

  it("exits 1 with a one-line error and no stack trace when the server refuses the file", async () => {
    const run = await runProcess(
      [`ftp://demo@127.0.0.1:${ftp.port}/absent.bin`, "s3://proc/absent.bin"],
      env,
    );

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    const errors = run.stderr.split("\n").filter((line) => line.startsWith("ftp2s3:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^ftp2s3: FTP_REPLY: RETR .*\/absent\.bin failed: 55\d /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await objectExists(s3.client(), "proc", "absent.bin")).toBe(false);
  });

  it("exits 1 with a clear error when S3 cannot be reached", async () => {
    await writeFile(join(ftp.root, "small.bin"), randomFile(10));

    const run = await runProcess([`ftp://demo@127.0.0.1:${ftp.port}/small.bin`, "s3://proc/small.bin"], {
      ...env,
      AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9", // the discard port: nothing listens there
    });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^ftp2s3: S3: cannot check whether s3:\/\/proc\/small\.bin exists: .*ECONNREFUSED/m,
    );
  });

  it("exits 2 and prints usage for a missing argument", async () => {
    const run = await runProcess([], env);

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("ftp2s3: missing required argument 'ftp-url'");
  });

  it("prints help on --help and exits 0", async () => {
    const run = await runProcess(["--help"], env);

    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("Usage: ftp2s3 [options] [command]");
    expect(run.stdout).toContain("copy [options] <ftp-url> <s3-url>");
    expect(run.stdout).toContain("mirror [options] <ftp-url-dir> <s3-url-prefix>");
  });
});
