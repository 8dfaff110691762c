import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { randomFile } from "../support/objects.js";

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

// The bundle users run (scripts/build-cli.mjs), on this machine's Node, with the environment a user
// has: no switch that quiets the AWS SDK. What it prints on stderr is all the command's own.
describe("the built ftp2s3 command's output", () => {
  let work: string;
  let bundle: string;
  let fake: FakeFtpServer;
  let s3: EmbeddedS3Server;
  let ftpUrl: string;

  function run(args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [bundle, ...args],
        { env: { PATH: process.env.PATH, ...s3.env, FTP_PASSWORD: "pw" }, timeout: 30_000 },
        (error, stdout, stderr) => {
          const exitCode = error ? (typeof error.code === "number" ? error.code : -1) : 0;
          resolve({ exitCode, stdout, stderr });
        },
      );
    });
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-output-"));
    bundle = join(work, "ftp2s3.mjs");
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, ["scripts/build-cli.mjs", bundle], (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    fake = await startFakeFtpServer({
      files: { "/out/report.csv": randomFile(1000), "/out/cut.bin": randomFile(100_000) },
      retr: async (ctx) =>
        ctx.arg === "/out/cut.bin"
          ? retrScripts.fullDataThen("426 Connection closed; transfer aborted.")(ctx)
          : retrScripts.normal()(ctx),
    });
    ftpUrl = `ftp://demo@127.0.0.1:${fake.port}`;
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket("landing");
    await s3
      .client()
      .send(new PutObjectCommand({ Bucket: "landing", Key: "taken.csv", Body: "already here" }));
  }, 60_000);
  afterAll(async () => {
    await fake?.close();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("prints exactly one line for a copy S3 refuses, and no library warning (Node 20's SDK notice)", async () => {
    const result = await run([`${ftpUrl}/out/report.csv`, "s3://landing/taken.csv"]);

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "ftp2s3: OBJECT_EXISTS: s3://landing/taken.csv already exists and overwriting was not allowed (--overwrite replaces it)\n",
    );
  });

  it("prints the result the README shows: the same fields, status first", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const printed = readme.slice(readme.indexOf("**stdout**"));
    const example = JSON.parse(
      printed.slice(printed.indexOf("```json\n") + 8, printed.indexOf("\n```\n")),
    ) as object;

    const result = await run([`${ftpUrl}/out/report.csv`, "s3://landing/report.csv"]);

    expect(result.exitCode).toBe(0);
    const printedResult = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(printedResult.status).toBe("copied");
    expect(Object.keys(printedResult)).toEqual(Object.keys(example));
  });

  it.each(["1.5", "6000"])("refuses --part-size %s in the MiB it was given in, exit 2", async (mib) => {
    const result = await run([`${ftpUrl}/out/report.csv`, "s3://landing/report.csv", "--part-size", mib]);

    expect(result.exitCode).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe(
      `ftp2s3: INVALID_INPUT: option '--part-size <MiB>' argument '${mib}' is invalid. expected a number of MiB from 5 to 5120 (S3's part sizes), e.g. 8 (run ftp2s3 --help for usage)`,
    );
    expect(result.stderr).not.toMatch(/bytes/);
  });

  it("shows the libraries' warnings with --verbose", async () => {
    const result = await run([`${ftpUrl}/out/report.csv`, "s3://landing/taken.csv", "--verbose"]);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^ftp2s3: OBJECT_EXISTS: /m);
    // The SDK warns only on a Node older than the one it will require.
    if (Number(process.versions.node.split(".")[0]) < 22) {
      expect(result.stderr).toContain("NodeVersionSupportWarning");
    }
  });

  it("ends the terminal's progress line before the error, which starts a line of its own", async () => {
    const result = await run([`${ftpUrl}/out/cut.bin`, "s3://landing/cut.bin", "--progress", "tty"]);

    expect(result.exitCode).toBe(1);
    const lines = result.stderr.split("\n");
    expect(lines.at(-1)).toBe("");
    expect(lines.at(-2)).toMatch(/^ftp2s3: FTP_REPLY: RETR .*\/out\/cut\.bin .*426 /);
    expect(lines.at(-3)).toMatch(/^\rReceived \d+ of 100000 bytes /);
    expect(lines.at(-3)?.endsWith("\u001b[K")).toBe(true);
    expect(result.stderr.match(/ftp2s3:/g)).toHaveLength(1);
  });
});
