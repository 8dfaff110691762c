/**
 * A smoke check of the bench's own servers (not part of `npm run bench`): the discard S3 endpoint and
 * the delay proxy serve what the bench asks of them. Against pyftpdlib, through the proxy:
 *   - `ftp2s3 copy` of 1 KiB (one PutObject) and of 20 MiB (multipart, CRC64NVME parts);
 *   - `ftp2s3 mirror` of 1,200 files, then again with nothing changed (the rerun finds every file
 *     unchanged through a listing of two pages and the manifest it kept);
 *   - `rclone copyto` (multipart) and `rclone copy` of the same files, when rclone is installed;
 *   - a PutObject with a streamed body (`aws-chunked` with a trailing checksum) read back whole.
 * Prints one line per check; exits 1 when one fails.
 *
 *   npm run build && node --import tsx bench/discard-smoke.ts
 */
import { readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { Agent } from "node:https";
import path from "node:path";
import { Readable } from "node:stream";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { startInteropServer } from "../test/interop/servers.js";
import { startDelayProxy } from "./lib/delay-proxy.js";
import { startDiscardS3 } from "./lib/discard-s3.js";
import { measure } from "./lib/measure.js";
import { findRclone, rcloneCopyDirArgs, rcloneCopyToArgs, rcloneEnv } from "./lib/rclone.js";
import { cliPath, MiB, makeWorkDir, writeManyFiles, writeRandomFile } from "./lib/setup.js";
import { lastJsonLine, nodeEnv, PASSWORD, USER } from "./run/common.js";

const FILES = 1200;

async function main(): Promise<number> {
  const work = await makeWorkDir();
  await mkdir(path.join(work.ftpRoot, "one"), { mode: 0o755 });
  await writeRandomFile(path.join(work.ftpRoot, "one/small.bin"), 1024);
  await writeRandomFile(path.join(work.ftpRoot, "one/big.bin"), 20 * MiB);
  await writeManyFiles(path.join(work.ftpRoot, "many"), FILES, 100);
  const ftp = await startInteropServer("pyftpdlib", { root: work.ftpRoot, user: USER, password: PASSWORD });
  const proxy = await startDelayProxy(ftp.port, 5);
  const s3 = await startDiscardS3({ tls: true });
  const rclone = await findRclone();
  let failures = 0;
  const check = (name: string, ok: boolean, detail: string) => {
    if (!ok) failures += 1;
    process.stdout.write(`${ok ? "ok  " : "FAIL"} ${name}: ${detail}\n`);
  };
  const url = (remotePath: string) => `ftp://${USER}@127.0.0.1:${proxy.port}${remotePath}`;
  const env = nodeEnv(s3, { FTP2S3_STATE_DIR: path.join(work.dir, "state") });
  const ftp2s3 = async (args: string[]) => {
    s3.resetStats();
    const run = await measure(cliPath, [...args, "--progress", "none"], { env });
    return { ...run, summary: lastJsonLine(run.stdout), ...s3.stats() };
  };
  try {
    for (const name of ["small", "big"]) {
      const run = await ftp2s3([
        "copy",
        url(`/one/${name}.bin`),
        `s3://smoke/copy/${name}.bin`,
        "--overwrite",
      ]);
      check(
        `ftp2s3 copy ${name}`,
        run.code === 0,
        `exit ${run.code}, ${JSON.stringify(run.requests)} ${run.stderr.trim().split("\n").at(-1) ?? ""}`,
      );
    }
    const mirror = ["mirror", url("/many"), "s3://smoke/mirror/", "--concurrency", "8"];
    const first = await ftp2s3(mirror);
    check(
      "ftp2s3 mirror",
      first.summary?.copied === FILES,
      `copied ${String(first.summary?.copied)}, ${JSON.stringify(first.requests)}`,
    );
    const rerun = await ftp2s3(mirror);
    check(
      "ftp2s3 mirror rerun",
      rerun.summary?.unchanged === FILES && rerun.summary?.copied === 0,
      `unchanged ${String(rerun.summary?.unchanged)}, ${JSON.stringify(rerun.requests)}`,
    );
    if (rclone) {
      const rcloneEnvHere = rcloneEnv({
        ftp: {
          host: "127.0.0.1",
          port: proxy.port,
          user: USER,
          obscuredPassword: await rclone.obscure(PASSWORD),
        },
        s3: {
          endpoint: s3.endpoint,
          ...s3.credentials,
          ...(s3.caCert === undefined ? {} : { caCert: s3.caCert }),
        },
      });
      for (const args of [
        rcloneCopyToArgs("/one/big.bin", "smoke", "rclone/big.bin", 8, 4),
        rcloneCopyDirArgs("/many", "smoke", "rclone-mirror", 8),
      ]) {
        s3.resetStats();
        const run = await measure("rclone", args, { env: rcloneEnvHere });
        check(
          `rclone ${args[0]}`,
          run.code === 0,
          `exit ${run.code}, ${JSON.stringify(s3.stats().requests)} ${run.stderr.trim().split("\n").at(-1) ?? ""}`,
        );
      }
    } else {
      check("rclone", true, "not installed: skipped");
    }
    const client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: s3.credentials,
      ...(s3.caCert === undefined
        ? {}
        : {
            requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: readFileSync(s3.caCert) }) }),
          }),
    });
    const text = "x".repeat(100_000);
    await client.send(
      new PutObjectCommand({
        Bucket: "smoke",
        Key: "chunked.txt",
        Body: Readable.from([Buffer.from(text)]),
        ContentLength: text.length,
      }),
    );
    const back = await client.send(new GetObjectCommand({ Bucket: "smoke", Key: "chunked.txt" }));
    check(
      "aws-chunked PutObject read back",
      (await back.Body?.transformToString()) === text,
      `ContentLength ${back.ContentLength}`,
    );
  } finally {
    await s3.close();
    await proxy.close();
    await ftp.stop().catch(() => {});
    await rm(work.dir, { recursive: true, force: true });
  }
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
