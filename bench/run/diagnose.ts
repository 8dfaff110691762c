/** The diagnosis runs: the pipeline and the mirror with probes preloaded, under other settings. */
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { cpuSeconds, measure } from "../lib/measure.js";
import { cliPath, leg, legsDir, MiB, repoRoot, settleDisk } from "../lib/setup.js";
import { rssMB } from "../report/summary.js";
import type { DiagnosisRecord } from "../report/types.js";
import {
  type BenchContext,
  BUCKET,
  copyArgs,
  type FtpServer,
  failureText,
  ftpUrl,
  lastJsonLine,
  log,
  MIRROR_FILE_BYTES,
  MIRROR_FILES,
  nodeEnv,
  RUN_TIMEOUT_MS,
  s3LegArgs,
  type TestFile,
  takeObject,
} from "./common.js";
import { ftpCommandsDuring } from "./mirror.js";

interface Variant {
  label: string;
  /** Reads no FTP (the S3 leg): its record names no server. */
  s3Only?: boolean;
  nodeFlags?: string[];
  env?: Record<string, string>;
  /** The script and its arguments, for a file and the key to write. */
  script(file: TestFile, key: string): string[];
}

/** Runs `variant` once with the memory and HTTP probes preloaded. */
async function probedRun(
  context: BenchContext,
  variant: Variant,
  server: FtpServer,
  file: TestFile,
  key: string,
  rep: number,
): Promise<DiagnosisRecord> {
  const memoryFile = path.join(legsDir, "memory.json");
  const httpFile = path.join(legsDir, "http.json");
  await rm(memoryFile, { force: true });
  await rm(httpFile, { force: true });
  await settleDisk();
  const cpuBefore = process.cpuUsage();
  const measured = await measure(
    process.execPath,
    [
      ...(variant.nodeFlags ?? []),
      "--import",
      leg("memory-probe"),
      "--import",
      leg("http-probe"),
      ...variant.script(file, key),
    ],
    {
      env: nodeEnv(context.s3, {
        FTP2S3_BENCH_MEMORY_FILE: memoryFile,
        FTP2S3_BENCH_HTTP_FILE: httpFile,
        ...variant.env,
      }),
      cwd: repoRoot,
      timeoutMs: RUN_TIMEOUT_MS,
    },
  );
  const cpu = process.cpuUsage(cpuBefore);
  const readJson = async (name: string) => {
    try {
      return JSON.parse(await readFile(name, "utf8")) as Record<string, unknown>;
    } catch {
      return null;
    }
  };
  return {
    variant: variant.label,
    server: variant.s3Only ? null : server.kind,
    size: file.label,
    bytes: file.bytes,
    rep,
    ok: measured.code === 0,
    ...(measured.code === 0 ? {} : { error: failureText(measured) }),
    wallMs: Math.round(measured.wallMs),
    maxRssKiB: measured.maxRssKiB,
    cpuS: cpuSeconds(measured),
    s3rverCpuS: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
    memory: await readJson(memoryFile),
    http: await readJson(httpFile),
    output: lastJsonLine(measured.stdout) ?? null,
  };
}

/**
 * The pipeline under other settings, with probes preloaded:
 * where the memory goes, and how long the uploaders wait for their next part.
 */
export async function diagnose(
  context: BenchContext,
  server: FtpServer,
  files: TestFile[],
): Promise<DiagnosisRecord[]> {
  const command =
    (...extra: string[]) =>
    (file: TestFile, key: string) => [cliPath, ...copyArgs(server, file, key, extra)];
  const variants: Variant[] = [
    {
      label: "S3 leg alone (reference)",
      s3Only: true,
      script: (file, key) => s3LegArgs(context.s3, file, key),
    },
    { label: "ftp2s3, defaults", script: command() },
    {
      label: "ftp2s3, node --max-semi-space-size=1",
      nodeFlags: ["--max-semi-space-size=1"],
      script: command(),
    },
    { label: "ftp2s3 --part-size 5", script: command("--part-size", "5") },
    { label: "ftp2s3 --queue-size 2", script: command("--queue-size", "2") },
    { label: "ftp2s3 --queue-size 8", script: command("--queue-size", "8") },
    { label: "ftp2s3 --checksums when-required", script: command("--checksums", "when-required") },
    { label: "ftp2s3 --no-tag", script: command("--no-tag") },
    { label: "ftp2s3 --resumable", script: command("--resumable") },
    {
      // The http probe runs a minor GC as each UploadPart starts: what a GC per part in PartUpload would do.
      label: "ftp2s3, minor GC per part (probe), semi-space 1",
      nodeFlags: ["--expose-gc", "--max-semi-space-size=1"],
      env: { FTP2S3_BENCH_GC: "1" },
      script: command(),
    },
  ];
  const records: DiagnosisRecord[] = [];
  for (const file of files) {
    const reps = file.bytes > 256 * MiB ? 2 : 3;
    for (let rep = 1; rep <= reps; rep++) {
      for (const variant of variants) {
        const key = `diagnose/${file.bytes}-${rep}`;
        const record = await probedRun(context, variant, server, file, key, rep);
        await takeObject(context.client, key);
        records.push(record);
        log(
          `diagnose ${file.label} ${variant.label} #${rep}: ${(record.wallMs / 1000).toFixed(2)} s, ${rssMB(record.maxRssKiB).toFixed(0)} MB`,
        );
      }
    }
  }
  return records;
}

/** The mirror under other settings, with the HTTP probe counting the S3 requests by kind. */
export async function diagnoseMirror(context: BenchContext, server: FtpServer): Promise<DiagnosisRecord[]> {
  const many: TestFile = {
    label: "1,000 × 16 KiB",
    remotePath: "/many",
    localPath: "",
    bytes: MIRROR_FILES * MIRROR_FILE_BYTES,
    reps: 1,
  };
  const mirrorArgs =
    (...extra: string[]) =>
    (file: TestFile, key: string) => [
      cliPath,
      "mirror",
      ftpUrl(server.server, file.remotePath),
      `s3://${BUCKET}/${key}/`,
      "--progress",
      "none",
      ...extra,
    ];
  const variants: Variant[] = [
    { label: "mirror, defaults (--concurrency 4)", script: mirrorArgs() },
    { label: "mirror --no-tag", script: mirrorArgs("--no-tag") },
    {
      label: "mirror --checksums when-required --no-tag",
      script: mirrorArgs("--checksums", "when-required", "--no-tag"),
    },
    { label: "mirror --concurrency 8", script: mirrorArgs("--concurrency", "8") },
  ];
  const records: DiagnosisRecord[] = [];
  for (const [index, variant] of variants.entries()) {
    const { result: record, ftpCommands } = await ftpCommandsDuring(server, () =>
      probedRun(context, variant, server, many, `diagnose-mirror/${index}`, 1),
    );
    if (ftpCommands) record.ftpCommands = ftpCommands;
    records.push(record);
    log(`diagnose mirror ${variant.label}: ${(record.wallMs / 1000).toFixed(2)} s`);
  }
  return records;
}
