import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AbortMultipartUploadCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type BuiltOutcome, buildCli, builtCli, runBuilt } from "../support/cli.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";
import { type S3Recorder, startS3Recorder } from "../support/s3-recorder.js";

// The command's failure paths through the built command (dist/ftp2s3.mjs), as a user runs it: the
// exit status, the one stderr line, what the servers saw, and that the process ends with its last line.
const MiB = 1024 * 1024;
const bucket = "failures";
const password = "secret-pw";

describe("the built ftp2s3: failures are found early, said in one line, and leave nothing open", () => {
  let work: string;
  let fake: FakeFtpServer;
  let s3: EmbeddedS3Server;
  let recorder: S3Recorder;
  /** S3 through the recorder, a password, and a state directory of the test's own. */
  let env: Record<string, string>;
  let stateDir: string;
  const files: Record<string, Buffer> = {};
  let retr = retrScripts.slow(256 * 1024, 20); // about 12 MB/s: a 5 MiB part every 0.4 s

  beforeAll(async () => {
    buildCli();
    work = await mkdtemp(join(tmpdir(), "ftp2s3-failures-"));
    fake = await startFakeFtpServer({ files, password, retr: (ctx) => retr(ctx) });
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket(bucket);
    recorder = await startS3Recorder(s3.endpoint);
    stateDir = join(work, "state");
    env = {
      ...s3.env,
      AWS_ENDPOINT_URL_S3: recorder.endpoint,
      FTP_PASSWORD: password,
      FTP2S3_STATE_DIR: stateDir,
    };
  });
  afterAll(async () => {
    await recorder.close();
    await fake.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    retr = retrScripts.slow(256 * 1024, 20);
    recorder.fault = undefined;
  });

  const urlOf = (name: string) => `ftp://u@127.0.0.1:${fake.port}/out/${name}`;

  /** Runs the built command; returns its outcome and what the servers saw meanwhile. */
  async function run(args: string[], runEnv: Record<string, string | undefined> = env, cwd?: string) {
    const connectionsBefore = fake.connections;
    const commandsBefore = fake.commands.length;
    const requestsBefore = recorder.requests.length;
    const outcome = await runBuilt(args, runEnv, cwd === undefined ? {} : { cwd });
    return {
      ...outcome,
      ftpConnections: fake.connections - connectionsBefore,
      ftpCommands: fake.commands.slice(commandsBefore),
      s3Requests: recorder.requests.slice(requestsBefore),
    };
  }

  /** Exit 2, exactly this one line, nobody contacted, and the process ended with its line. */
  function expectRefusedUpFront(outcome: Awaited<ReturnType<typeof run>>, line: string | RegExp): void {
    expect(outcome.killed, "the process hung").toBe(false);
    expect(outcome.stdout).toBe("");
    if (typeof line === "string") expect(outcome.stderr).toBe(`${line}\n`);
    else expect(outcome.stderr).toMatch(line);
    expect(outcome.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(outcome.exitCode).toBe(2);
    expect(outcome.ftpConnections).toBe(0);
    expect(outcome.s3Requests).toEqual([]);
    expectEndedWithItsLastLine(outcome);
  }

  function expectEndedWithItsLastLine(outcome: BuiltOutcome): void {
    // A bound for a hang (an idle FTP session keeps a process alive for minutes), not a speed check.
    // Loose enough for a loaded machine.
    expect(outcome.lingeredMs).toBeLessThan(5000);
  }

  /** A state file as a suspended copy writes it, for a copy of `name` to in/<name>. */
  async function writeState(uploadId: string, name: string, directory = stateDir): Promise<void> {
    await mkdir(directory, { recursive: true });
    const state = {
      version: 1,
      source: urlOf(name),
      target: `s3://${bucket}/in/${name}`,
      resumeAt: {
        uploadId,
        offset: 5 * MiB,
        partSize: 5 * MiB,
        size: 12 * MiB,
        modifiedAt: "2024-01-02T03:04:05.000Z",
        hashState: "AAAA",
      },
    };
    await writeFile(join(directory, `${uploadId}.json`), JSON.stringify(state));
  }

  describe("--resume: every state-file problem exits 2 at once, before any server is contacted", () => {
    it("a mistyped upload id", async () => {
      const outcome = await run([urlOf("a.bin"), `s3://${bucket}/in/`, "--resume", "no-such-upload"]);
      expectRefusedUpFront(
        outcome,
        `ftp2s3: INVALID_INPUT: no saved state for upload no-such-upload in ${stateDir} (it is written when a copy with --resumable or --stop-after suspends)`,
      );
    });

    it("a --state-dir left out (the state lies elsewhere)", async () => {
      const elsewhere = join(work, "elsewhere");
      await writeState("kept-elsewhere", "a.bin", elsewhere);
      const outcome = await run([urlOf("a.bin"), `s3://${bucket}/in/`, "--resume", "kept-elsewhere"]);
      expectRefusedUpFront(
        outcome,
        `ftp2s3: INVALID_INPUT: no saved state for upload kept-elsewhere in ${stateDir} (it is written when a copy with --resumable or --stop-after suspends)`,
      );
    });

    it("a different source URL", async () => {
      await writeState("of-a", "a.bin");
      const outcome = await run([urlOf("b.bin"), `s3://${bucket}/in/a.bin`, "--resume", "of-a"]);
      expectRefusedUpFront(
        outcome,
        `ftp2s3: INVALID_INPUT: upload of-a belongs to a copy of ${urlOf("a.bin")} to s3://${bucket}/in/a.bin, not of ${urlOf("b.bin")} to s3://${bucket}/in/a.bin`,
      );
    });

    it("a damaged state file", async () => {
      await mkdir(stateDir, { recursive: true });
      await writeFile(join(stateDir, "damaged.json"), "{ not json");
      const outcome = await run([urlOf("a.bin"), `s3://${bucket}/in/`, "--resume", "damaged"]);
      expectRefusedUpFront(
        outcome,
        `ftp2s3: INVALID_INPUT: the state file ${join(stateDir, "damaged.json")} is not JSON`,
      );
    });
  });

  describe("checks that come before any contact (exit 2) or before a byte is read", () => {
    it("an --s3-endpoint without a scheme", async () => {
      files["/out/e.bin"] = randomFile(1000);
      const outcome = await run([urlOf("e.bin"), `s3://${bucket}/in/`, "--s3-endpoint", "127.0.0.1:9100"]);
      expectRefusedUpFront(
        outcome,
        'ftp2s3: INVALID_INPUT: --s3-endpoint "127.0.0.1:9100" is not an http:// or https:// URL (e.g. http://127.0.0.1:9000)',
      );
    });

    it("a user in the URL without FTP_PASSWORD or --password-file", async () => {
      const { FTP_PASSWORD: _unset, ...withoutPassword } = env;
      const outcome = await run([urlOf("e.bin"), `s3://${bucket}/in/`], withoutPassword);
      expectRefusedUpFront(
        outcome,
        'ftp2s3: INVALID_INPUT: no password for user "u": set FTP_PASSWORD (FTP_PASSWORD= for an empty one) or give --password-file',
      );
    });

    it("FTP_PASSWORD set but empty is an empty password on purpose: it is sent", async () => {
      const outcome = await run([urlOf("e.bin"), `s3://${bucket}/in/empty-pw.bin`], {
        ...env,
        FTP_PASSWORD: "",
      });
      expect(outcome.ftpCommands).toContain("PASS ");
      expect(outcome.stderr.trim()).toMatch(/^ftp2s3: FTP_LOGIN: .*login as "u" refused: 530/);
      expect(outcome.exitCode).toBe(1);
      expectEndedWithItsLastLine(outcome);
    });

    it("an ftp:// URL without a host", async () => {
      const outcome = await run(["ftp:///out/e.bin", `s3://${bucket}/in/`]);
      expectRefusedUpFront(
        outcome,
        'ftp2s3: INVALID_INPUT: no host in "ftp:///out/e.bin" (expected ftp://host/path or ftps://host/path)',
      );
    });

    it("a missing argument: one line in the ftp2s3: INVALID_INPUT: form", async () => {
      const outcome = await run([urlOf("e.bin")]);
      expectRefusedUpFront(
        outcome,
        "ftp2s3: INVALID_INPUT: missing required argument 's3-url' (run ftp2s3 --help for usage)",
      );
    });

    it("a bucket that does not exist: exit 1 before any file is asked of the FTP server", async () => {
      const outcome = await run([urlOf("e.bin"), "s3://no-such-bucket/in/"]);
      expect(outcome.stderr).toBe(
        `ftp2s3: S3: the bucket no-such-bucket does not exist at ${recorder.endpoint}\n`,
      );
      expect(outcome.exitCode).toBe(1);
      // The session logs in while the bucket is asked, and is closed unused.
      expect(outcome.ftpConnections).toBeLessThanOrEqual(1);
      const aboutFiles = /^(SIZE|MDTM|MLST|MLSD|LIST|NLST|EPSV|PASV|REST|RETR|DELE|RNFR)\b/;
      expect(outcome.ftpCommands.filter((c) => aboutFiles.test(c))).toEqual([]);
      expect(outcome.s3Requests.map((r) => r.operation)).not.toContain("CreateMultipartUpload");
      expectEndedWithItsLastLine(outcome);
    });

    it("a bucket that does not exist is said at once, while the FTP server has not even greeted", async () => {
      // A server that takes the connection and never says a word: the session would wait --timeout.
      const silent = createServer(() => {});
      const held = new Set<Socket>();
      silent.on("connection", (socket) => held.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      const { port } = silent.address() as AddressInfo;
      try {
        const outcome = await run([
          `ftp://u@127.0.0.1:${port}/out/e.bin`,
          "s3://no-such-bucket/in/",
          ...["--timeout", "120"],
        ]);
        expect(outcome.killed, "the process waited for the silent server").toBe(false);
        expect(outcome.stderr).toBe(
          `ftp2s3: S3: the bucket no-such-bucket does not exist at ${recorder.endpoint}\n`,
        );
        expect(outcome.exitCode).toBe(1);
        expectEndedWithItsLastLine(outcome);
      } finally {
        for (const socket of held) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it("the FTP session logs in while S3 is asked about the bucket, and the copy is exact", async () => {
      const data = randomFile(3000);
      files["/out/overlap.bin"] = data;
      const seen = fake.commands.length;
      // HeadBucket is held until the session has sent its password (or 5 s, the bound of a command
      // that would ask the bucket first and wait for its answer before connecting).
      let loggedInMeanwhile = false;
      const loggedIn = (async () => {
        for (let waited = 0; waited < 5000; waited += 10) {
          if (fake.commands.slice(seen).some((c) => c.startsWith("PASS"))) {
            loggedInMeanwhile = true;
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      recorder.fault = ({ operation }) => (operation === "HeadBucket" ? { until: loggedIn } : undefined);

      const outcome = await run([urlOf("overlap.bin"), `s3://${bucket}/in/`, "--progress", "none"]);

      expect(outcome.stderr).toBe("");
      expect(outcome.exitCode).toBe(0);
      expect(loggedInMeanwhile).toBe(true);
      expect(sha256(await readObject(s3.client(), bucket, "in/overlap.bin"))).toBe(sha256(data));
    });
  });

  it("a failed abort says what is left and the command that removes it, and never that nothing was stored", async () => {
    files["/out/abort.bin"] = randomFile(12 * MiB);
    retr = retrScripts.resetAfter(11 * MiB); // parts uploaded, then the transfer fails
    recorder.fault = ({ operation }) => (operation === "AbortMultipartUpload" ? 500 : undefined);

    const openBefore = recorder.openUploads();

    const outcome = await run([
      urlOf("abort.bin"),
      `s3://${bucket}/in/`,
      "--part-size",
      "5",
      "--progress",
      "none",
    ]);

    recorder.fault = undefined;
    const left = recorder.openUploads().filter((id) => !openBefore.includes(id));
    // What the printed command does, done first (through the recorder, which then sees the upload
    // closed): nothing is left for the other tests whatever the assertions find.
    await abortThroughRecorder(left, "in/abort.bin");
    expect(left).toHaveLength(1);
    const uploadId = left[0] as string;
    const lines = outcome.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      new RegExp(
        `^ftp2s3: warning: could not abort the multipart upload ${escapeRegExp(uploadId)} of s3://${bucket}/in/abort\\.bin \\(.+\\): its parts stay stored until the bucket's lifecycle rule removes them; remove them now with: aws s3api abort-multipart-upload --endpoint-url ${escapeRegExp(recorder.endpoint)} --bucket ${bucket} --key in/abort\\.bin --upload-id ${escapeRegExp(shellWord(uploadId))}$`,
      ),
    );
    // The reset reads as the data connection failing or as the 426 after it, by timing.
    expect(lines.at(-1)).toMatch(/^ftp2s3: (FTP_DATA_CONNECTION|FTP_REPLY): /);
    expect(outcome.stderr).not.toMatch(/nothing (was )?stored|lifecycle rule will \{/);
    expect(outcome.exitCode).toBe(1);
    expect(await objectExists(s3.client(), bucket, "in/abort.bin")).toBe(false);
    expectEndedWithItsLastLine(outcome);
  });

  async function abortThroughRecorder(uploadIds: string[], key: string): Promise<void> {
    const client = new S3Client({
      endpoint: recorder.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID as string,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
      },
    });
    for (const id of uploadIds) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
    }
    client.destroy();
  }

  describe("a stopped copy's hint works as printed", () => {
    it("with every option the copy ran with (endpoint, state dir, region, password file, part size)", async () => {
      const data = randomFile(16 * MiB + 123);
      files["/out/hint.bin"] = data;
      const cwd = join(work, "first-cwd");
      await mkdir(cwd, { recursive: true });
      await writeFile(join(cwd, "pw.txt"), `${password}\n`);
      // Nothing in the environment says where S3 is or what the password is: only the options do.
      const { FTP_PASSWORD: _p, AWS_ENDPOINT_URL_S3: _e, FTP2S3_STATE_DIR: _s, ...bare } = env;
      const args = [
        ...["--s3-endpoint", recorder.endpoint, "--region", "eu-west-1"],
        ...["--state-dir", "my state", "--password-file", "pw.txt", "--part-size", "5"],
        ...["--progress", "none"],
      ];

      const first = await run(
        [urlOf("hint.bin"), `s3://${bucket}/in/`, ...args, "--stop-after", "0.9"],
        bare,
        cwd,
      );
      expect(first.exitCode, first.stderr).toBe(75);
      const uploadId = first.result?.uploadId as string;
      const printed = /go on with: (.*)$/m.exec(first.stderr)?.[1] as string;
      expect(printed).toBe(
        `ftp2s3 copy ${urlOf("hint.bin")} s3://${bucket}/in/ --s3-endpoint ${recorder.endpoint} --region eu-west-1 --state-dir '${join(cwd, "my state")}' --password-file ${join(cwd, "pw.txt")} --part-size 5 --progress none --resume ${shellWord(uploadId)}`,
      );

      // Pasted into a shell elsewhere, as printed.
      const pasted = await inShell(printed, bare, work);

      expect(pasted.stderr).toBe("");
      expect(pasted.exitCode).toBe(0);
      expect(JSON.parse(pasted.stdout)).toMatchObject({ status: "copied", bytes: data.length });
      expect(sha256(await readObject(s3.client(), bucket, "in/hint.bin"))).toBe(sha256(data));
      expect(recorder.openUploads()).not.toContain(uploadId);
    });

    it("--resume <id> with the URLs alone goes on where the first leg ran (the state file keeps the rest)", async () => {
      const data = randomFile(16 * MiB + 5);
      files["/out/alone.bin"] = data;
      const passwordFile = join(work, "alone-pw.txt");
      await writeFile(passwordFile, password);
      const { FTP_PASSWORD: _p, AWS_ENDPOINT_URL_S3: _e, ...bare } = env;
      const urls = [urlOf("alone.bin"), `s3://${bucket}/in/`];

      const first = await run(
        [
          ...urls,
          "--s3-endpoint",
          recorder.endpoint,
          "--password-file",
          passwordFile,
          "--part-size",
          "5",
        ].concat(["--progress", "none", "--stop-after", "0.9"]),
        bare,
      );
      expect(first.exitCode, first.stderr).toBe(75);
      const rest = await run(
        [...urls, "--resume", first.result?.uploadId as string, "--progress", "none"],
        bare,
      );

      expect(rest.stderr).toBe("");
      expect(rest.exitCode).toBe(0);
      expect(rest.result).toMatchObject({
        status: "copied",
        bytes: data.length,
        resumedFrom: expect.any(Number),
      });
      expect(sha256(await readObject(s3.client(), bucket, "in/alone.bin"))).toBe(sha256(data));
      expect(recorder.openUploads()).not.toContain(first.result?.uploadId);
    });
  });
});

/** Runs a printed command line in bash, with `ftp2s3` being the built command. */
function inShell(
  line: string,
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const script = `ftp2s3() { "${process.execPath}" "${builtCli}" "$@"; }\n${line}`;
  return new Promise((resolve) => {
    execFile(
      "bash",
      ["--norc", "--noprofile", "-c", script],
      {
        env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env },
        cwd,
      },
      (error, stdout, stderr) =>
        resolve({ exitCode: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** How the command prints an upload id (quoted when it needs to be). */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
