/** One measured run of one subject (a leg alone, the pipeline, rclone) as its own process under GNU time. */
import { cpuSeconds, measure } from "../lib/measure.js";
import { rcloneCopyToArgs } from "../lib/rclone.js";
import { cliPath, leg, repoRoot, settleDisk } from "../lib/setup.js";
import { mbPerS, rssMB } from "../report/summary.js";
import type { RunKind, RunRecord } from "../report/types.js";
import {
  type BenchContext,
  BUCKET,
  copyArgs,
  type FtpServer,
  failureText,
  lastJsonLine,
  nodeEnv,
  PART_MIB,
  QUEUE,
  RUN_TIMEOUT_MS,
  rcloneEnvFor,
  s3LegArgs,
  type TestFile,
  takeObject,
  USER,
} from "./common.js";

/** One measured run of one subject; s3rver runs in this process, so our own CPU time is its CPU time. */
export async function runOnce(
  context: BenchContext,
  kind: RunKind,
  server: FtpServer | undefined,
  file: TestFile,
  rep: number,
): Promise<RunRecord> {
  const { s3, client } = context;
  const key = `runs/${kind}-${server?.kind ?? "none"}-${file.bytes}-${rep}`;
  let command: string;
  let args: string[];
  let env: NodeJS.ProcessEnv;
  switch (kind) {
    case "ftp-leg":
      command = process.execPath;
      args = [leg("ftp-download"), "127.0.0.1", String(server!.server.port), USER, file.remotePath];
      env = nodeEnv(s3);
      break;
    case "s3-leg":
      command = process.execPath;
      args = s3LegArgs(s3, file, key);
      env = nodeEnv(s3);
      break;
    case "pipeline":
    case "pipeline-resumable":
      // The bin itself, as a user runs it: its shebang carries the command's Node flags.
      command = cliPath;
      args = copyArgs(server!, file, key, kind === "pipeline-resumable" ? ["--resumable"] : []);
      // A copy that suspends writes its state there; these runs do not suspend, but never into ~.
      env = nodeEnv(s3, { FTP2S3_STATE_DIR: context.stateDir });
      break;
    case "rclone":
      command = "rclone";
      args = rcloneCopyToArgs(file.remotePath, BUCKET, key, PART_MIB, QUEUE);
      env = rcloneEnvFor(context, server!);
      break;
  }
  await settleDisk();
  const cpuBefore = process.cpuUsage();
  const measured = await measure(command, args, { env, cwd: repoRoot, timeoutMs: RUN_TIMEOUT_MS });
  const cpuAfter = process.cpuUsage(cpuBefore);
  const s3rverCpuS = (cpuAfter.user + cpuAfter.system) / 1e6;

  let error: string | undefined = measured.code === 0 ? undefined : failureText(measured);
  let transferMs: number | undefined;
  let etag: string | undefined;
  const output = lastJsonLine(measured.stdout);
  if (!error && kind === "ftp-leg") {
    if (output?.bytes !== file.bytes) error = `downloaded ${String(output?.bytes)} bytes, not ${file.bytes}`;
    transferMs = typeof output?.transferMs === "number" ? output.transferMs : undefined;
  }
  if (!error && kind === "s3-leg")
    transferMs = typeof output?.transferMs === "number" ? output.transferMs : undefined;
  if (!error && (kind === "pipeline" || kind === "pipeline-resumable")) {
    if (output?.bytes !== file.bytes)
      error = `the command reported ${String(output?.bytes)} bytes, not ${file.bytes}`;
    transferMs = typeof output?.durationMs === "number" ? output.durationMs : undefined;
  }
  if (kind !== "ftp-leg") {
    const stored = await takeObject(client, key);
    etag = stored.etag;
    if (!error && stored.bytes !== file.bytes)
      error = `stored ${String(stored.bytes)} bytes, not ${file.bytes}`;
  }
  return {
    kind,
    server: server?.kind ?? null,
    size: file.label,
    bytes: file.bytes,
    rep,
    ok: error === undefined,
    ...(error === undefined ? {} : { error }),
    wallMs: Math.round(measured.wallMs),
    ...(transferMs === undefined ? {} : { transferMs: Math.round(transferMs) }),
    maxRssKiB: measured.maxRssKiB,
    cpuS: cpuSeconds(measured),
    s3rverCpuS: kind === "ftp-leg" ? 0 : Math.round(s3rverCpuS * 100) / 100,
    ...(etag === undefined ? {} : { etag }),
  };
}

export function describeRun(run: RunRecord): string {
  const who = `${run.size} ${run.kind}${run.server ? ` ${run.server}` : ""} #${run.rep}`;
  if (!run.ok) return `${who}: FAILED ${run.error}`;
  return `${who}: ${mbPerS(run).toFixed(1)} MB/s, ${rssMB(run.maxRssKiB).toFixed(0)} MB peak RSS, ${run.cpuS} s CPU`;
}
