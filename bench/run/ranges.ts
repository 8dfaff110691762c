/**
 * Issue 19's figure: one big file over a server that holds each session to a WAN's rate
 * (pyftpdlib's ThrottledDTPHandler, per data connection), copied once by one sequential copy
 * (copyFile) and once in N ranges read at once (copyRange × N, then completeRanges; every range on
 * its own session, as the Lambda's range legs do), into the discard S3 endpoint. In one process, at
 * core level: what is measured is what the ranges buy against the per-session limit, not the
 * Lambda's queueing around them. Within a repetition the modes alternate (the order turns every
 * repetition); medians.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";
import { createS3Client } from "../../functions/adapters/s3-client.js";
import { createS3Sink } from "../../functions/adapters/s3-sink.js";
import {
  completeRanges,
  copyFile,
  copyRange,
  type FileSource,
  type ObjectSink,
  objectKey,
  planRanges,
  remoteFilePath,
  type SourceVersion,
} from "../../functions/core/index.js";
import { interopServerVersions, startInteropServer } from "../../test/interop/servers.js";
import { startDiscardS3 } from "../lib/discard-s3.js";
import { GiB, loadAverage, MiB, writeRandomFile } from "../lib/setup.js";
import type { RangesRecord, RangesRun } from "../report/types.js";
import { log, PART_MIB, PASSWORD, QUEUE, QUICK, USER } from "./common.js";

export const RANGES = {
  repetitions: QUICK ? 1 : 2,
  fileBytes: QUICK ? 64 * MiB : GiB,
  /** One session's rate: a German FTP server to S3 gave rclone 2.3–7.3 MiB/s (issue 19). */
  sessionBytesPerSecond: 8 * MiB,
  /** Ranges read at once, each on its own session; 1 is the sequential copy. */
  ranges: [1, 4, 8],
};
const BUCKET = "discard";
const remote = remoteFilePath("/ranges/big.bin");

export async function runRanges(ftpRoot: string): Promise<RangesRecord> {
  await mkdir(path.join(ftpRoot, "ranges"), { mode: 0o755 });
  await writeRandomFile(path.join(ftpRoot, remote), RANGES.fileBytes);
  const ftp = await startInteropServer("pyftpdlib", {
    root: ftpRoot,
    user: USER,
    password: PASSWORD,
    throttleBytesPerSecond: RANGES.sessionBytesPerSecond,
  });
  const s3 = await startDiscardS3();
  const sink = createS3Sink(createS3Client({}, { ...process.env, ...s3.env }));
  const session = () =>
    connectFtpSource({
      host: "127.0.0.1",
      port: ftp.port,
      user: USER,
      password: PASSWORD,
      secure: false,
      timeoutMs: 30_000,
    });
  const runs: RangesRun[] = [];
  const loadAverageAtStart = loadAverage();
  try {
    for (let rep = 1; rep <= RANGES.repetitions; rep++) {
      const order = rep % 2 === 1 ? RANGES.ranges : [...RANGES.ranges].reverse();
      for (const ranges of order) {
        const run = await measured(ranges, rep, () =>
          ranges === 1 ? copyWhole(session, sink) : copyInRanges(session, sink, ranges),
        );
        runs.push(run);
        log(
          `ranges ${ranges === 1 ? "sequential" : `${ranges} at once`} rep ${rep}: ${run.ok ? `${run.wallS} s, ${run.mibPerSecond} MiB/s` : `failed: ${run.error}`}`,
        );
      }
    }
  } finally {
    await ftp.stop().catch(() => {});
    await s3.close().catch(() => {});
  }
  return {
    server: `pyftpdlib ${interopServerVersions().pyftpdlib ?? "unknown"}`,
    fileBytes: RANGES.fileBytes,
    sessionBytesPerSecond: RANGES.sessionBytesPerSecond,
    partSizeMiB: PART_MIB,
    queueSize: QUEUE,
    loadAverageAtStart,
    runs,
  };
}

async function measured(ranges: number, rep: number, copy: () => Promise<void>): Promise<RangesRun> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  try {
    await copy();
    const wallS = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      ranges,
      rep,
      ok: true,
      wallS: round(wallS),
      mibPerSecond: round(RANGES.fileBytes / MiB / wallS),
      cpuS: round((cpu.user + cpu.system) / 1e6),
    };
  } catch (error) {
    return { ranges, rep, ok: false, error: (error as Error).message };
  }
}

/** The sequential copy: copyFile over one session, as a whole-file copy runs. */
async function copyWhole(session: () => Promise<FileSource>, sink: ObjectSink): Promise<void> {
  const source = await session();
  try {
    await copyFile(
      source,
      sink,
      { path: remote, target: { bucket: BUCKET, key: objectKey("whole.bin") }, ifExists: "replace" },
      { queueSize: QUEUE, serverDigest: "off" },
    );
  } finally {
    source.close();
  }
}

/** The fan-out at core level: the plan, one upload, every range on its own session at once, one completion. */
async function copyInRanges(
  session: () => Promise<FileSource>,
  sink: ObjectSink,
  count: number,
): Promise<void> {
  const target = { bucket: BUCKET, key: objectKey(`ranges-${count}.bin`) };
  const probe = await session();
  const info = await probe.stat(remote).finally(() => probe.close());
  const version: SourceVersion = {
    size: info.size as number,
    modifiedAt: info.modifiedAt?.toISOString() ?? null,
  };
  const plan = planRanges(version.size, { ranges: count, partSize: PART_MIB * MiB });
  const uploadId = await sink.createMultipartUpload(target, {
    metadata: {},
    ifNoneMatch: false,
    fullObjectChecksum: true,
  });
  const signal = new AbortController().signal;
  const done = await Promise.all(
    plan.ranges.map(async (range) => {
      const source = await session();
      try {
        const copied = await copyRange(source, sink, {
          path: remote,
          target,
          uploadId,
          range,
          version,
          signal,
          parts: { queueSize: 2 },
        });
        return { ...range, bytes: copied.bytes, crc64nvme: copied.crc64nvme };
      } finally {
        source.close();
      }
    }),
  );
  const last = await session();
  try {
    await completeRanges(last, sink, {
      path: remote,
      target,
      uploadId,
      size: version.size,
      partSize: plan.partSize,
      ranges: done,
      version,
      ifNoneMatch: false,
    });
  } finally {
    last.close();
  }
}

const round = (value: number) => Math.round(value * 100) / 100;
