import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { stopSignal } from "../../functions/cli/common.js";
import { runProcess } from "../support/cli.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
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

  it.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const)(
    "on %s mid-copy aborts the upload, says so in one line, and exits %i",
    async (signal, status) => {
      // Arrange: a server slow enough that the signal lands while parts are being uploaded.
      const fake = await startFakeFtpServer({
        files: { "/slow.bin": randomFile(24 * 1024 * 1024) },
        retr: retrScripts.slow(64 * 1024, 20),
      });
      const key = `stopped-by-${signal}.bin`;
      try {
        // Act
        const run = await runProcessUntil(
          [
            `ftp://demo@127.0.0.1:${fake.port}/slow.bin`,
            `s3://proc/${key}`,
            ...["--part-size", "5", "--progress", "json", "--no-tag"],
          ],
          env,
          (stderr) => /"bytes":([6-9]\d{6}|\d{8,})/.test(stderr), // past the first 5 MiB part
          signal,
        );

        // Assert
        expect({ exitCode: run.exitCode, killedBy: run.killedBy }).toEqual({
          exitCode: status,
          killedBy: null,
        });
        const messages = run.stderr.split("\n").filter((line) => line.startsWith("ftp2s3:"));
        expect(messages).toEqual([`ftp2s3: stopped by ${signal}; the upload was aborted`]);
        expect(run.stdout).toBe("");
        expect(await objectExists(s3.client(), "proc", key)).toBe(false);
        const open = await s3.client().send(new ListMultipartUploadsCommand({ Bucket: "proc" }));
        expect(open.Uploads ?? []).toEqual([]);
      } finally {
        await fake.close();
      }
    },
  );

  it("with --resumable, SIGTERM stops at a part boundary and keeps the upload for --resume (exit 75)", async () => {
    // Arrange
    const fake = await startFakeFtpServer({
      files: { "/slow.bin": randomFile(24 * 1024 * 1024) },
      retr: retrScripts.slow(64 * 1024, 20),
    });
    const stateDir = join(work, "state");
    try {
      // Act
      const run = await runProcessUntil(
        [
          `ftp://demo@127.0.0.1:${fake.port}/slow.bin`,
          "s3://proc/suspended.bin",
          ...["--resumable", "--part-size", "5", "--progress", "json", "--no-tag"],
        ],
        { ...env, FTP2S3_STATE_DIR: stateDir },
        (stderr) => /"bytes":([6-9]\d{6}|\d{8,})/.test(stderr),
        "SIGTERM",
      );

      // Assert
      expect({ exitCode: run.exitCode, killedBy: run.killedBy }).toEqual({ exitCode: 75, killedBy: null });
      expect(run.stderr).toContain(
        "ftp2s3: SIGTERM: stopping at the next part boundary (a second signal quits at once)\n",
      );
      expect(run.stderr).toMatch(/^ftp2s3: stopped at byte \d+ of 25165824; go on with: .* --resume /m);
      const result = JSON.parse(run.stdout) as { status: string; reason: string; uploadId: string };
      expect(result.status).toBe("suspended");
      expect(result.reason).toBe("interrupted"); // not the Lambda's "deadline"
      expect(await objectExists(s3.client(), "proc", "suspended.bin")).toBe(false);
      const open = await s3.client().send(new ListMultipartUploadsCommand({ Bucket: "proc" }));
      expect(open.Uploads?.map((upload) => upload.UploadId)).toEqual([result.uploadId]);
      await s3.client().send(
        new AbortMultipartUploadCommand({
          Bucket: "proc",
          Key: "suspended.bin",
          UploadId: result.uploadId,
        }),
      );
    } finally {
      await fake.close();
    }
  });

  it("turns the first SIGINT or SIGTERM into an abort naming it, and quits at once on a second", () => {
    // Arrange: a stand-in for process, so that no real signal reaches the test runner.
    const events = Object.assign(new EventEmitter(), { exit: vi.fn() });

    // Act
    const signal = stopSignal(events as unknown as Parameters<typeof stopSignal>[0]);
    events.emit("SIGTERM");
    events.emit("SIGINT");

    // Assert
    expect(signal.reason).toMatchObject({ code: "ABORTED", signalName: "SIGTERM", exitCode: 143 });
    expect(events.exit).toHaveBeenCalledWith(130);
  });

  it("exits 2 with one INVALID_INPUT line pointing to --help for a missing argument", async () => {
    const run = await runProcess([], env);

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(
      "ftp2s3: INVALID_INPUT: missing required argument 'ftp-url' (run ftp2s3 --help for usage)\n",
    );
  });

  it("prints help on --help and exits 0", async () => {
    const run = await runProcess(["--help"], env);

    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("Usage: ftp2s3 [options] [command]");
    expect(run.stdout).toContain("copy [options] <ftp-url> <s3-url>");
    expect(run.stdout).toContain("mirror [options] <ftp-url-dir> <s3-url-prefix>");
  });
});

const mainScript = fileURLToPath(new URL("../../functions/cli/main.ts", import.meta.url));

/** Runs the real entry point and sends it `signal` once its stderr so far satisfies `ready`. */
function runProcessUntil(
  args: string[],
  env: Record<string, string>,
  ready: (stderr: string) => boolean,
  signal: NodeJS.Signals,
): Promise<{ exitCode: number | null; killedBy: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", mainScript, ...args], {
      env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env },
    });
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      if (!sent && ready(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on("error", reject);
    child.on("close", (exitCode, killedBy) => resolve({ exitCode, killedBy, stdout, stderr }));
  });
}
