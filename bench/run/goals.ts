/**
 * The cases of issue 18, each client against the same servers in the same run: pyftpdlib (behind a
 * proxy that delays its replies by a WAN round trip, for the mirrors) and the discard S3 endpoint (so
 * that the client's cost is measured, not an S3 server's). Every run is its own process under GNU time;
 * within a repetition the subjects alternate (which goes first swaps every repetition); medians.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { interopServerVersions, startInteropServer } from "../../test/interop/servers.js";
import { type CpuLimit, createCpuLimit } from "../lib/cpu-limit.js";
import { startDelayProxy } from "../lib/delay-proxy.js";
import { type DiscardS3, startDiscardS3 } from "../lib/discard-s3.js";
import { cpuSeconds, measure } from "../lib/measure.js";
import { type RcloneInfo, rcloneCopyDirArgs, rcloneCopyToArgs, rcloneEnv } from "../lib/rclone.js";
import { cliPath, GiB, MiB, repoRoot, writeManyFiles, writeRandomFile } from "../lib/setup.js";
import type { GoalCase, GoalRun, GoalsRecord, Subject } from "../report/types.js";
import { measureSdkPutCost } from "../sdk-put-cost.js";
import { failureText, lastJsonLine, log, nodeEnv, PART_MIB, PASSWORD, QUEUE, QUICK, USER } from "./common.js";

/** The bench's size: BENCH_QUICK=1 makes a smoke run of a minute or two. */
export const GOALS = {
  repetitions: QUICK ? 1 : 5,
  smallFileRepetitions: QUICK ? 2 : 5,
  mirrorFiles: QUICK ? 100 : 500,
  mirrorFileBytes: 16 * 1024,
  /** Every FTP reply held this long: a WAN round trip. */
  replyDelayMs: 20,
  /** Sessions of the mirror under the CPU limit (the first also without it). */
  sessions: [4, 8, 16],
  smallFileBytes: 1024,
  bigFileBytes: QUICK ? 64 * MiB : GiB,
};
const BUCKET = "discard";
const RUN_TIMEOUT_MS = 5 * 60_000;

interface Config {
  case: GoalCase;
  sessions: number | null;
  limited: boolean;
  /** Extra subjects of this case, after the clients. */
  extraSubjects?: Subject[];
}

interface Servers {
  s3: DiscardS3;
  ftpPort: number;
  proxy: Awaited<ReturnType<typeof startDelayProxy>>;
  rclone: RcloneInfo | undefined;
  obscured: string;
  stateDir: string;
}

const remote = { mirror: "/goals/many", small: "/goals/1KiB.bin", big: "/goals/big.bin" };

function commandFor(
  servers: Servers,
  config: Config,
  subject: Subject,
  prefix: string,
): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const port = config.case === "mirror" ? servers.proxy.port : servers.ftpPort;
  const ftp = (remotePath: string) => `ftp://${USER}@127.0.0.1:${port}${remotePath}`;
  const file = config.case === "small-file" ? remote.small : remote.big;
  if (subject !== "rclone") {
    const args =
      config.case === "mirror"
        ? [
            "mirror",
            ftp(remote.mirror),
            `s3://${BUCKET}/${prefix}/`,
            "--concurrency",
            String(config.sessions),
          ]
        : [
            "copy",
            ftp(file),
            `s3://${BUCKET}/${prefix}`,
            "--overwrite",
            ...(subject === "ftp2s3" ? [] : ["--checksums", "when-required"]),
          ];
    // The bin itself, as a user runs it: its shebang carries the command's Node flags.
    return {
      command: cliPath,
      args: [...args, "--progress", "none"],
      env: nodeEnv(servers.s3, { FTP2S3_STATE_DIR: servers.stateDir }),
    };
  }
  const env = rcloneEnv({
    ftp: { host: "127.0.0.1", port, user: USER, obscuredPassword: servers.obscured },
    s3: {
      endpoint: servers.s3.endpoint,
      ...servers.s3.credentials,
      ...(servers.s3.caCert === undefined ? {} : { caCert: servers.s3.caCert }),
    },
  });
  const args =
    config.case === "mirror"
      ? rcloneCopyDirArgs(remote.mirror, BUCKET, prefix, config.sessions!)
      : rcloneCopyToArgs(file, BUCKET, prefix, PART_MIB, QUEUE);
  return { command: "rclone", args, env };
}

/** Files and bytes a case moves. */
const volume = (c: GoalCase) =>
  c === "mirror"
    ? { files: GOALS.mirrorFiles, bytes: GOALS.mirrorFiles * GOALS.mirrorFileBytes }
    : { files: 1, bytes: c === "small-file" ? GOALS.smallFileBytes : GOALS.bigFileBytes };

async function runOne(
  servers: Servers,
  config: Config,
  subject: Subject,
  rep: number,
  limit: Awaited<ReturnType<typeof createCpuLimit>>,
): Promise<GoalRun> {
  const prefix = `${config.case}/${subject.replace(/ --checksums /, "-")}-${config.sessions ?? 1}-${config.limited ? "limited" : "free"}-${rep}`;
  const { command, args, env } = commandFor(servers, config, subject, prefix);
  const wrapped = config.limited && "limit" in limit ? limit.limit.wrap(command, args) : { command, args };
  const cgroup = config.limited && "limit" in limit ? limit.limit : undefined;
  const periodsBefore = await cgroup?.periods();
  servers.s3.resetStats();
  servers.proxy.resetCommands();
  const measured = await measure(wrapped.command, wrapped.args, {
    env,
    cwd: repoRoot,
    timeoutMs: RUN_TIMEOUT_MS,
  });
  const { requests, bytesReceived } = servers.s3.stats();
  const { files, bytes } = volume(config.case);
  let error = measured.code === 0 ? undefined : failureText(measured);
  if (!error && subject === "ftp2s3" && config.case === "mirror") {
    const copied = lastJsonLine(measured.stdout)?.copied;
    if (copied !== files) error = `the mirror reported ${String(copied)} files copied, not ${files}`;
  }
  // Only payload bytes count: the mirror's manifest comes on top of the files.
  if (!error && bytesReceived < bytes)
    error = `the S3 endpoint received ${bytesReceived} bytes, not ${bytes}`;
  return {
    case: config.case,
    subject,
    sessions: config.sessions,
    limited: config.limited,
    rep,
    files,
    bytes,
    ok: error === undefined,
    ...(error === undefined ? {} : { error }),
    wallMs: Math.round(measured.wallMs),
    cpuS: cpuSeconds(measured),
    maxRssKiB: measured.maxRssKiB,
    s3Requests: requests,
    ...(config.case === "mirror" ? { ftpCommands: servers.proxy.commands() } : {}),
    ...(cgroup && periodsBefore ? await periodsSince(cgroup, periodsBefore) : {}),
  };
}

async function periodsSince(cgroup: CpuLimit, before: { active: number; throttled: number }) {
  const after = await cgroup.periods();
  return {
    cgroupPeriods: after.active - before.active,
    throttledPeriods: after.throttled - before.throttled,
  };
}

function describe(run: GoalRun): string {
  const who = `${run.case}${run.sessions ? ` ×${run.sessions}` : ""}${run.limited ? " (0.58 core)" : ""} ${run.subject} #${run.rep}`;
  if (!run.ok) return `${who}: FAILED ${run.error}`;
  return `${who}: ${(run.wallMs / 1000).toFixed(2)} s, ${run.cpuS} CPU s, ${Math.round((run.maxRssKiB * 1024) / 1e6)} MB`;
}

export async function runGoals(options: {
  ftpRoot: string;
  stateDir: string;
  rclone: RcloneInfo | undefined;
  obscured: string;
}): Promise<GoalsRecord> {
  const { ftpRoot } = options;
  log(`issue 18 cases: writing ${GOALS.mirrorFiles} files and a ${GOALS.bigFileBytes / MiB} MiB file`);
  await mkdir(path.join(ftpRoot, "goals"), { mode: 0o755 });
  await writeManyFiles(path.join(ftpRoot, "goals/many"), GOALS.mirrorFiles, GOALS.mirrorFileBytes);
  await writeRandomFile(path.join(ftpRoot, remote.small), GOALS.smallFileBytes);
  await writeRandomFile(path.join(ftpRoot, remote.big), GOALS.bigFileBytes);

  const ftp = await startInteropServer("pyftpdlib", { root: ftpRoot, user: USER, password: PASSWORD });
  const s3 = await startDiscardS3({ tls: true });
  const proxy = await startDelayProxy(ftp.port, GOALS.replyDelayMs);
  const limit = await createCpuLimit();
  if ("unavailable" in limit) log(`CPU limit unavailable, its rows are skipped: ${limit.unavailable}`);
  const servers: Servers = { s3, ftpPort: ftp.port, proxy, ...options };
  const subjects: Subject[] = options.rclone ? ["ftp2s3", "rclone"] : ["ftp2s3"];
  const configs: Config[] = [
    { case: "mirror", sessions: GOALS.sessions[0]!, limited: false },
    ...("limit" in limit
      ? GOALS.sessions.map((sessions) => ({ case: "mirror" as const, sessions, limited: true }))
      : []),
    { case: "big-file", sessions: null, limited: false, extraSubjects: ["ftp2s3 --checksums when-required"] },
  ];
  const runs: GoalRun[] = [];
  const sdkPutCpuMs: number[] = [];
  const sinkPutCpuMs: number[] = [];
  try {
    for (let rep = 1; rep <= GOALS.repetitions; rep++) {
      const order = rep % 2 === 1 ? subjects : [...subjects].reverse();
      for (const config of configs) {
        for (const subject of [...order, ...(config.extraSubjects ?? [])]) {
          runs.push(await runOne(servers, config, subject, rep, limit));
          log(describe(runs.at(-1)!));
        }
      }
    }
    for (let rep = 1; rep <= GOALS.smallFileRepetitions; rep++) {
      const order = rep % 2 === 1 ? subjects : [...subjects].reverse();
      for (const subject of order) {
        runs.push(
          await runOne(servers, { case: "small-file", sessions: null, limited: false }, subject, rep, limit),
        );
      }
    }
    log("issue 18 cases: one small file measured");
    // What each object's PutObject costs through the SDK alone, and through the sink.
    for (let rep = 1; rep <= GOALS.repetitions; rep++) {
      const cost = await measureSdkPutCost(s3, GOALS.mirrorFiles);
      sdkPutCpuMs.push(cost.cpuMsPerPut);
      sinkPutCpuMs.push(cost.sinkCpuMsPerPut);
    }
    log(
      `issue 18 cases: CPU ms a PutObject, the SDK alone ${sdkPutCpuMs.join(", ")}; the sink ${sinkPutCpuMs.join(", ")}`,
    );
  } finally {
    await proxy.close();
    await s3.close();
    await ftp.stop().catch(() => {});
    if ("limit" in limit) await limit.limit.remove().catch(() => {});
  }
  return {
    settings: {
      ftpServer: `pyftpdlib ${interopServerVersions().pyftpdlib ?? ""}`.trim(),
      replyDelayMs: GOALS.replyDelayMs,
      sessions: GOALS.sessions,
      mirrorFiles: GOALS.mirrorFiles,
      mirrorFileBytes: GOALS.mirrorFileBytes,
      bigFileBytes: GOALS.bigFileBytes,
      repetitions: GOALS.repetitions,
      smallFileRepetitions: GOALS.smallFileRepetitions,
      quick: QUICK,
    },
    sdkPutCpuMs,
    sinkPutCpuMs,
    cpuLimit:
      "limit" in limit
        ? {
            applied: true,
            detail: `cgroup v1 ${limit.limit.dir}: cpu.cfs_quota_us 58000 per cpu.cfs_period_us 100000`,
          }
        : { applied: false, detail: limit.unavailable },
    runs,
  };
}
