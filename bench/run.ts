/**
 * npm run bench: the transfer pipeline's performance budget, measured on this machine against local
 * servers on loopback. Not a test: it measures, prints a table, writes bench/results.json and
 * bench/README.md. Every comparison is a ratio of figures taken in the same run.
 *
 * First, issue 18's cases (bench/run/goals.ts; skipped with --no-goals): against pyftpdlib and an S3
 * endpoint that discards the bytes, ftp2s3 and rclone side by side: a mirror of many small files with
 * every FTP reply delayed by a WAN round trip, free and held to 0.58 core (a cgroup) at 4, 8 and 16
 * sessions; one 1 KiB file; one 1 GiB file. BENCH_QUICK=1 makes them small and runs only them.
 *
 * Then issue 19's case (bench/run/ranges.ts; skipped with --no-ranges, run alone into the last
 * results with --only-ranges): one big file from a pyftpdlib that holds each session to 8 MiB/s,
 * one sequential copy against 4 and 8 ranges read at once (core level), into the discard S3.
 *
 * Then the s3rver suite of issue 7 (skipped with --no-s3rver or BENCH_QUICK=1):
 * For a 64 MiB and a 1 GiB file of random bytes, served by each FTP server (pyftpdlib, vsftpd) into
 * s3rver (disk-backed, as in the demo), each of these runs as its own process under GNU time:
 *   - the FTP leg alone: basic-ftp's downloadTo into a sink that drops the bytes;
 *   - the S3 leg alone: the product's multipart driver (PartUpload over the S3 sink) fed the same
 *     bytes from memory (8 MiB parts, 4 in flight);
 *   - the pipeline: the built `ftp2s3` command with its defaults;
 *   - on vsftpd only, the pipeline with --resumable (SHA-256 by hash-wasm, whose state can be saved);
 *   - rclone copyto on the same pair, same part size and concurrency (when rclone is installed).
 * Then a mirror of 1,000 files of 16 KiB against `rclone copy --transfers 4`, and a no-change rerun;
 * and the bundled Lambda handler's size and module load time.
 *
 *   tsx bench/run.ts [--reps-64 3] [--reps-1g 2] [--servers pyftpdlib,vsftpd] [--no-1g] [--no-mirror]
 *                    [--no-diagnose] [--no-s3rver] [--no-goals] [--no-ranges] [--keep] [--render]
 *                    [--only-ranges]
 *
 * The diagnosis runs (skipped with --no-diagnose) run the pipeline and the mirror with probes (where the
 * memory goes, how long uploaders wait for their next part, which S3 requests) under other settings:
 * V8's semi-space, a minor GC per part (preloaded), part size, queue size, checksums, tagging,
 * concurrency. bench/README.md explains each missed target with their figures.
 * --render rewrites bench/README.md and prints the tables from bench/results.json, measuring nothing.
 *
 * This file runs the bench; bench/run/ holds what it runs (goals.ts: issue 18's cases; subjects.ts: one
 * measured run of a subject; mirror.ts; diagnose.ts; common.ts), bench/lib/ the servers and tools it
 * runs them with (discard-s3.ts, delay-proxy.ts, cpu-limit.ts, measure.ts...), bench/report/ what it
 * makes of the runs (types.ts; goals.ts, goals-tables.ts, goals-why.ts for issue 18; summary.ts,
 * targets.ts, tables.ts and the terminal's view, why.ts: the reasons for a missed issue 7 target,
 * markdown.ts). bench/discard-smoke.ts checks the discard endpoint and the proxy against both clients.
 */
import { spawn } from "node:child_process";
import { createCipheriv } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  type InteropServerKind,
  interopServerKinds,
  interopServerVersions,
  interopUnavailableReason,
  startInteropServer,
} from "../test/interop/servers.js";
import { startS3rver } from "../test/support/embedded-s3.js";
import { type BundleResult, measureBundle } from "./lib/bundle.js";
import { GNU_TIME } from "./lib/measure.js";
import { findRclone } from "./lib/rclone.js";
import {
  cliPath,
  commandVersion,
  compileLegs,
  execFileAsync,
  GiB,
  loadAverage,
  MiB,
  machineInfo,
  makeWorkDir,
  repoRoot,
  writeManyFiles,
  writeRandomFile,
} from "./lib/setup.js";
import { evaluateGoals } from "./report/goals.js";
import { renderMarkdown } from "./report/markdown.js";
import { summarize, summarizeFixedCost } from "./report/summary.js";
import { renderConsole } from "./report/tables.js";
import { evaluateTargets } from "./report/targets.js";
import type {
  DiagnosisRecord,
  GoalsRecord,
  MirrorRecord,
  RangesRecord,
  Results,
  RunKind,
  RunRecord,
} from "./report/types.js";
import {
  BUCKET,
  benchStarted,
  type FtpServer,
  log,
  MIRROR_FILE_BYTES,
  MIRROR_FILES,
  PART_MIB,
  PASSWORD,
  QUEUE,
  QUICK,
  RESUMABLE_SERVER,
  type TestFile,
  USER,
} from "./run/common.js";
import { diagnose, diagnoseMirror } from "./run/diagnose.js";
import { runGoals } from "./run/goals.js";
import { runMirror } from "./run/mirror.js";
import { runRanges } from "./run/ranges.js";
import { describeRun, runOnce } from "./run/subjects.js";

const { values: flags } = parseArgs({
  options: {
    "reps-64": { type: "string", default: "3" },
    "reps-1g": { type: "string", default: "2" },
    servers: { type: "string", default: "pyftpdlib,vsftpd" },
    "no-1g": { type: "boolean", default: false },
    "no-mirror": { type: "boolean", default: false },
    "no-diagnose": { type: "boolean", default: false },
    "no-s3rver": { type: "boolean", default: false },
    "no-goals": { type: "boolean", default: false },
    "no-ranges": { type: "boolean", default: false },
    "only-ranges": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    render: { type: "boolean", default: false },
  },
});

// The SDK's warning about Node 20 says nothing about the figures (s3rver runs in this process).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

async function writeReadme(results: Results): Promise<void> {
  const file = path.join(repoRoot, "bench/README.md");
  await writeFile(file, renderMarkdown(results));
  await execFileAsync(path.join(repoRoot, "node_modules/.bin/biome"), ["format", "--write", file], {
    cwd: repoRoot,
  }).catch((error: unknown) =>
    log(`bench/README.md left unformatted: ${(error as Error).message.split("\n")[0]}`),
  );
}

async function packageVersion(name: string): Promise<string> {
  try {
    const text = await readFile(path.join(repoRoot, "node_modules", name, "package.json"), "utf8");
    return (JSON.parse(text) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * s3rver signs its ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy
 * provider: without it, any listing of more than 1,000 keys (the mirror's, with its manifest) fails
 * with a 500. s3rver runs in this process, so this process needs --openssl-legacy-provider.
 */
function desAvailable(): boolean {
  try {
    createCipheriv("des", Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch {
    return false;
  }
}

async function rerunWithLegacyProvider(): Promise<number> {
  const child = spawn(
    process.execPath,
    ["--openssl-legacy-provider", ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  return await new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? 1)));
}

async function main(): Promise<number> {
  if (flags.render) {
    const results = JSON.parse(await readFile(path.join(repoRoot, "bench/results.json"), "utf8")) as Results;
    await writeReadme(results);
    process.stdout.write(renderConsole(results));
    return 0;
  }
  if (!desAvailable()) {
    if (process.execArgv.includes("--openssl-legacy-provider")) {
      throw new Error(
        "DES is unavailable even with --openssl-legacy-provider: s3rver cannot page its listings",
      );
    }
    return await rerunWithLegacyProvider();
  }
  if (flags["only-ranges"]) return await onlyRanges();
  if (!existsSync(cliPath)) {
    process.stderr.write(`bench: ${path.relative(repoRoot, cliPath)} is missing: run npm run build first\n`);
    return 2;
  }
  const reps64 = Number(flags["reps-64"]);
  const reps1g = Number(flags["reps-1g"]);
  // The s3rver suite (issue 7's pipeline, legs, mirror and diagnosis); BENCH_QUICK runs only issue 18's cases.
  const s3rverSuite = !flags["no-s3rver"] && !QUICK;
  const wanted = s3rverSuite ? ((flags.servers ?? "").split(",").filter(Boolean) as InteropServerKind[]) : [];
  for (const kind of wanted) {
    if (!interopServerKinds.includes(kind)) throw new Error(`unknown FTP server ${kind}`);
  }

  const loadAtStart = loadAverage();
  if (loadAtStart > os.cpus().length / 2) {
    log(
      `the machine is busy (load average ${loadAtStart} on ${os.cpus().length} cores): the figures will be noisier`,
    );
  }
  log("compiling the leg scripts");
  await compileLegs();
  const work = await makeWorkDir();
  log(`writing the test files under ${work.dir}`);
  await mkdir(path.join(work.ftpRoot, "big"), { mode: 0o755 });
  const files: TestFile[] = !s3rverSuite
    ? []
    : [
        {
          label: "64 MiB",
          remotePath: "/big/64MiB.bin",
          localPath: path.join(work.ftpRoot, "big/64MiB.bin"),
          bytes: 64 * MiB,
          reps: reps64,
        },
        ...(flags["no-1g"]
          ? []
          : [
              {
                label: "1 GiB" as const,
                remotePath: "/big/1GiB.bin",
                localPath: path.join(work.ftpRoot, "big/1GiB.bin"),
                bytes: GiB,
                reps: reps1g,
              },
            ]),
      ];
  for (const file of files) await writeRandomFile(file.localPath, file.bytes);
  const tiny: TestFile = {
    label: "1 KiB",
    remotePath: "/big/1KiB.bin",
    localPath: path.join(work.ftpRoot, "big/1KiB.bin"),
    bytes: 1024,
    reps: 3,
  };
  await writeRandomFile(tiny.localPath, tiny.bytes);
  if (s3rverSuite && !flags["no-mirror"])
    await writeManyFiles(path.join(work.ftpRoot, "many"), MIRROR_FILES, MIRROR_FILE_BYTES);

  const s3 = await startS3rver(work.s3Dir);
  await s3.createBucket(BUCKET);
  const client = s3.client();
  const versions = interopServerVersions();
  const servers: FtpServer[] = [];
  const skippedServers: { kind: string; reason: string }[] = [];
  const rclone = await findRclone();
  const obscured = rclone ? await rclone.obscure(PASSWORD) : "";
  if (!rclone) log("rclone not installed: its runs are skipped (apt-get install -y rclone)");

  const runs: RunRecord[] = [];
  const fixedCost: RunRecord[] = [];
  const mirror: MirrorRecord[] = [];
  let bundle: BundleResult | undefined;
  let bundleError: string | undefined;
  let diagnosis: DiagnosisRecord[] | undefined;
  let goals: GoalsRecord | undefined;
  let ranges: RangesRecord | undefined;
  try {
    // Issue 18's cases first: they start their own servers (pyftpdlib, the discard S3, the delay proxy).
    if (!flags["no-goals"])
      goals = await runGoals({
        ftpRoot: work.ftpRoot,
        stateDir: path.join(work.dir, "state"),
        rclone,
        obscured,
      });
    // Issue 19's case: its own throttled pyftpdlib and discard S3.
    if (!flags["no-ranges"]) ranges = await runRanges(work.ftpRoot);
    for (const kind of wanted) {
      const reason = interopUnavailableReason(kind);
      if (reason) {
        skippedServers.push({ kind, reason });
        log(`${kind} skipped: ${reason}`);
        continue;
      }
      const server = await startInteropServer(kind, { root: work.ftpRoot, user: USER, password: PASSWORD });
      servers.push({ kind, version: versions[kind], server });
    }
    const stateDir = path.join(work.dir, "state");
    const context = { s3, client, rclone, obscured, stateDir };

    // Round-robin: every repetition runs every subject once, so a slow spell of the machine hits all alike.
    for (const file of files) {
      for (let rep = 1; rep <= file.reps; rep++) {
        const subjects: [RunKind, FtpServer | undefined][] = [["s3-leg", undefined]];
        for (const server of servers) {
          subjects.push(["ftp-leg", server], ["pipeline", server]);
          if (server.kind === RESUMABLE_SERVER) subjects.push(["pipeline-resumable", server]);
          if (rclone) subjects.push(["rclone", server]);
        }
        for (const [kind, server] of subjects) {
          const run = await runOnce(context, kind, server, file, rep);
          runs.push(run);
          log(describeRun(run));
        }
      }
    }

    // The fixed cost of one copy: a 1 KiB file (start-up, module load, sessions, the requests around the data).
    for (let rep = 1; rep <= 3; rep++) {
      for (const server of servers) {
        const subjects: RunKind[] = rclone ? ["pipeline", "rclone"] : ["pipeline"];
        for (const kind of subjects) fixedCost.push(await runOnce(context, kind, server, tiny, rep));
      }
    }
    log("fixed cost (1 KiB copies) measured");

    if (!flags["no-mirror"]) {
      for (const server of servers) mirror.push(await runMirror(context, server));
    }

    log("bundling the handler and timing its module load");
    try {
      bundle = await measureBundle(9);
    } catch (error) {
      bundleError = (error as Error).message;
    }

    if (!flags["no-diagnose"]) {
      const server = servers.find((s) => s.kind === "vsftpd") ?? servers[0];
      if (server) {
        diagnosis = await diagnose(context, server, files);
        if (!flags["no-mirror"]) diagnosis.push(...(await diagnoseMirror(context, server)));
      }
    }
  } finally {
    for (const { server } of servers) await server.stop().catch(() => {});
    await s3.close().catch(() => {});
    if (flags.keep) log(`kept ${work.dir}`);
    else await rm(work.dir, { recursive: true, force: true });
  }

  const summary = summarize(runs);
  const results: Results = {
    generatedAt: new Date().toISOString(),
    durationS: Math.round((Date.now() - benchStarted) / 1000),
    machine: {
      ...machineInfo(),
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadAverage(),
    },
    software: {
      s3: {
        server: "s3rver",
        version: await packageVersion("s3rver"),
        storage: "disk (a temp dir under /tmp), as in the demo",
      },
      ftp: servers.map((s) => ({ server: s.kind, version: s.version ?? "unknown" })),
      skippedFtp: skippedServers,
      rclone: rclone ? rclone.version : null,
      ftp2s3Mirror: flags["no-mirror"] ? "not run (--no-mirror)" : "measured",
      timeVersion: (await commandVersion(GNU_TIME, ["--version"])) ?? "unknown",
    },
    settings: {
      partSizeMiB: PART_MIB,
      queueSize: QUEUE,
      repetitions: Object.fromEntries(files.map((f) => [f.label, f.reps])),
      units:
        "MB = 10^6 bytes; MB/s = bytes / wall time of the whole process; CPU s/GiB = (user + sys) / GiB moved",
    },
    summary,
    targets: evaluateTargets(summary, mirror, bundle, { rcloneInstalled: rclone !== undefined }),
    fixedCost: summarizeFixedCost(fixedCost),
    mirror,
    bundle: bundle ?? { error: bundleError ?? "not measured" },
    runs: [...runs, ...fixedCost],
    ...(diagnosis ? { diagnosis } : {}),
    ...(goals ? { goals: { ...goals, targets: evaluateGoals(goals) } } : {}),
    ...(ranges ? { ranges } : {}),
  };

  await writeFile(path.join(repoRoot, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  await writeReadme(results);
  process.stdout.write(renderConsole(results));
  log(`wrote bench/results.json and bench/README.md (${results.durationS} s)`);
  return runs.every((r) => r.ok) &&
    (goals?.runs ?? []).every((r) => r.ok) &&
    (ranges?.runs ?? []).every((r) => r.ok)
    ? 0
    : 1;
}

/**
 * --only-ranges: issue 19's case alone, its figures put into the results.json of the last full run
 * (the other figures stay as they were measured) and bench/README.md rendered again.
 */
async function onlyRanges(): Promise<number> {
  const file = path.join(repoRoot, "bench/results.json");
  const results = JSON.parse(await readFile(file, "utf8")) as Results;
  const work = await makeWorkDir();
  try {
    results.ranges = await runRanges(work.ftpRoot);
  } finally {
    await rm(work.dir, { recursive: true, force: true });
  }
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  await writeReadme(results);
  log("wrote the ranged fan-out's figures into bench/results.json and bench/README.md");
  return results.ranges.runs.every((r) => r.ok) ? 0 : 1;
}

process.exitCode = await main();
