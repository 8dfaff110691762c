import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import { type S3Recorder, startS3Recorder } from "../support/s3-recorder.js";

const files = 300;

// Every copy of a mirror listens on the command's one stop signal while it reads its file. A listener
// kept past that (through a slow commit) piles up: with small files, each session has several commits
// pending, and Node warns "MaxListenersExceededWarning: Possible EventTarget memory leak detected".
describe("a 300-file mirror", () => {
  let work: string;
  let ftp: EmbeddedFtpServer;
  let s3: EmbeddedS3Server;
  let recorder: S3Recorder;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-listeners-"));
    ftp = await startEmbeddedFtp({ root: join(work, "ftp") });
    await mkdir(join(ftp.root, "many"));
    for (let i = 0; i < files; i++) await writeFile(join(ftp.root, "many", `f${i}.txt`), `file ${i}\n`);
    s3 = await startFauxqsS3();
    await s3.createBucket("many");
    recorder = await startS3Recorder(s3.endpoint);
  });
  afterAll(async () => {
    await recorder?.close();
    await ftp?.close();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  it.each([
    ["4", "the default"],
    ["16", "each session listening"],
  ])("emits no process warning with --concurrency %s (%s)", async (concurrency) => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    // A slow S3: each small file's one PutObject waits, so commits overlap the next downloads.
    recorder.fault = ({ operation }) => (operation === "PutObject" ? { delayMs: 150 } : undefined);
    const stop = new AbortController(); // the command's Ctrl-C signal, as main.ts hands it in
    try {
      const run = await runInProcess(
        [
          "mirror",
          `ftp://${ftp.user}@127.0.0.1:${ftp.port}/many`,
          `s3://many/c${concurrency}/`,
          "--no-tag",
          "--concurrency",
          concurrency,
          "--progress",
          "none",
        ],
        { ...s3.env, AWS_ENDPOINT_URL_S3: recorder.endpoint, FTP_PASSWORD: ftp.password },
        { signal: stop.signal },
      );

      expect(run.stderr).toBe("");
      expect(run.exitCode).toBe(0);
      expect(run.result).toMatchObject({ copied: files, failed: [] });
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      recorder.fault = undefined;
    }
  });
});
