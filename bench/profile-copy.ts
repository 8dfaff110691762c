/**
 * Starts the goals' big-file servers (pyftpdlib, the HTTPS discard S3) and copies one file of --size
 * MiB with each of the given commands in turn, --runs times, alternating (which goes first swaps each
 * run): CPU seconds and peak RSS of each run, for comparing builds side by side on a busy machine.
 * `node --import tsx bench/profile-copy.ts --cli dist/ftp2s3.mjs,/tmp/before/ftp2s3.mjs --runs 3`.
 * `--prof` runs each under `node --cpu-prof` (profiles in --out), `--limit` holds each to 0.58 core
 * (bench/lib/cpu-limit.ts), `--rclone` adds rclone as a subject.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { startInteropServer } from "../test/interop/servers.js";
import { createCpuLimit } from "./lib/cpu-limit.js";
import { startDiscardS3 } from "./lib/discard-s3.js";
import { cpuSeconds, measure } from "./lib/measure.js";
import { rcloneCopyToArgs, rcloneEnv } from "./lib/rclone.js";
import {
  cliPath,
  execFileAsync,
  loadAverage,
  MiB,
  makeWorkDir,
  repoRoot,
  writeRandomFile,
} from "./lib/setup.js";
import { nodeEnv, PART_MIB, PASSWORD, QUEUE, USER } from "./run/common.js";

const { values } = parseArgs({
  options: {
    out: { type: "string", default: "/tmp/ftp2s3-prof" },
    size: { type: "string", default: "1024" },
    runs: { type: "string", default: "1" },
    /** Built commands to compare, comma-separated. */
    cli: { type: "string", default: cliPath },
    prof: { type: "boolean", default: false },
    limit: { type: "boolean", default: false },
    rclone: { type: "boolean", default: false },
    /** Node flags of each ftp2s3 run, split on spaces (default: the command's shebang flag). */
    flags: { type: "string", default: "--max-semi-space-size=1" },
    /** More arguments of each ftp2s3 copy, split on spaces (e.g. "--checksums when-required"). */
    args: { type: "string", default: "" },
    /** A command each ftp2s3 run goes under, split on spaces (e.g. "perf record -g -o /tmp/perf.data"). */
    wrap: { type: "string", default: "" },
    /** Writes each run's stdout and stderr to files in --out (for --trace-gc and the like). */
    output: { type: "boolean", default: false },
    /** Extra environment of each ftp2s3 run, NAME=value comma-separated. */
    env: { type: "string", default: "" },
  },
});

const bytes = Number(values.size) * MiB;
const { ftpRoot } = await makeWorkDir();
await writeRandomFile(path.join(ftpRoot, "big.bin"), bytes);
const ftp = await startInteropServer("pyftpdlib", { root: ftpRoot, user: USER, password: PASSWORD });
const s3 = await startDiscardS3({ tls: true });
const limitSetup = values.limit ? await createCpuLimit() : undefined;
if (limitSetup !== undefined && "unavailable" in limitSetup) throw new Error(limitSetup.unavailable);
const limit = limitSetup?.limit;
await mkdir(values.out!, { recursive: true });
const obscured = (await execFileAsync("rclone", ["obscure", PASSWORD])).stdout.trim();
const extraEnv = Object.fromEntries(
  values
    .env!.split(",")
    .filter(Boolean)
    .map((pair) => pair.split("=", 2) as [string, string]),
);

type Subject = { label: string; command: string; args: string[]; env: NodeJS.ProcessEnv };
const wrap = values.wrap!.split(" ").filter(Boolean);
const subjects: Subject[] = values.cli!.split(",").map((cli) => ({
  label: cli,
  command: wrap[0] ?? process.execPath,
  args: [
    ...(wrap.length > 0 ? [...wrap.slice(1), process.execPath] : []),
    ...values.flags!.split(" ").filter(Boolean),
    ...(values.prof ? ["--cpu-prof", `--cpu-prof-dir=${values.out}`] : []),
    cli,
    "copy",
    `ftp://${USER}@127.0.0.1:${ftp.port}/big.bin`,
    "s3://discard/big.bin",
    "--overwrite",
    "--progress",
    "none",
    ...values.args!.split(" ").filter(Boolean),
  ],
  env: nodeEnv(s3, extraEnv),
}));
if (values.rclone) {
  subjects.push({
    label: "rclone",
    command: "rclone",
    args: rcloneCopyToArgs("/big.bin", "discard", "rclone.bin", PART_MIB, QUEUE),
    env: rcloneEnv({
      ftp: { host: "127.0.0.1", port: ftp.port, user: USER, obscuredPassword: obscured },
      s3: {
        endpoint: s3.endpoint,
        ...s3.credentials,
        ...(s3.caCert === undefined ? {} : { caCert: s3.caCert }),
      },
    }),
  });
}

console.log(
  JSON.stringify({ loadAverage: loadAverage(), sizeMiB: Number(values.size), limited: values.limit }),
);
try {
  for (let run = 0; run < Number(values.runs); run++) {
    const order = run % 2 === 0 ? subjects : [...subjects].reverse();
    for (const subject of order) {
      const wrapped = limit?.wrap(subject.command, subject.args) ?? subject;
      s3.resetStats();
      const measured = await measure(wrapped.command, wrapped.args, {
        env: subject.env,
        cwd: repoRoot,
        timeoutMs: 600_000,
      });
      console.log(
        JSON.stringify({
          run,
          subject: subject.label,
          code: measured.code,
          wallS: Math.round(measured.wallMs / 10) / 100,
          cpuS: cpuSeconds(measured),
          userS: measured.userS,
          sysS: measured.sysS,
          cpuSPerGiB: Math.round(((cpuSeconds(measured) * 1024 * MiB) / bytes) * 100) / 100,
          rssMB: Math.round(measured.maxRssKiB / 1024),
          load: loadAverage(),
          s3Connections: s3.stats().connections,
        }),
      );
      if (measured.code !== 0) console.log(measured.stderr.slice(-2000));
      if (values.output) {
        const name = `run${run}-${path.basename(path.dirname(subject.label))}`;
        await writeFile(path.join(values.out!, `${name}.stdout`), measured.stdout);
        await writeFile(path.join(values.out!, `${name}.stderr`), measured.stderr);
      }
    }
  }
} finally {
  await s3.close();
  await ftp.stop();
  await limit?.remove();
}
