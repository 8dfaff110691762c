/**
 * npm run bench: the transfer pipeline's performance budget, measured on this machine against local
 * servers on loopback (issue 7). Not a test: it measures, prints a table, writes bench/results.json
 * and bench/README.md. Every comparison is a ratio of figures taken in the same run.
 *
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
 *                    [--no-diagnose] [--keep] [--render]
 *
 * The diagnosis runs (skipped with --no-diagnose) run the pipeline and the mirror with probes (where the
 * memory goes, how long uploaders wait for their next part, which S3 requests) under other settings:
 * V8's semi-space, a minor GC per part (preloaded), part size, queue size, checksums, tagging,
 * concurrency. bench/README.md explains each missed target with their figures.
 * --render rewrites bench/README.md and prints the tables from bench/results.json, measuring nothing.
 */
import { spawn } from "node:child_process";
import { createCipheriv } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  type InteropServer,
  type InteropServerKind,
  interopServerKinds,
  interopServerVersions,
  interopUnavailableReason,
  startInteropServer,
} from "../test/interop/servers.js";
import { type EmbeddedS3Server, startS3rver } from "../test/support/embedded-s3.js";
import { type BundleResult, measureBundle } from "./lib/bundle.js";
import { type Measured, measure } from "./lib/measure.js";
import { findRclone, type RcloneInfo, rcloneCopyDirArgs, rcloneCopyToArgs, rcloneEnv } from "./lib/rclone.js";
import {
  cliPath,
  commandVersion,
  compileLegs,
  execFileAsync,
  GiB,
  leg,
  MiB,
  machineInfo,
  makeWorkDir,
  repoRoot,
  settleDisk,
  writeManyFiles,
  writeRandomFile,
} from "./lib/setup.js";
import {
  type DiagnosisRecord,
  evaluateTargets,
  type MirrorRecord,
  type Results,
  type RunKind,
  type RunRecord,
  renderConsole,
  renderMarkdown,
  summarize,
  summarizeFixedCost,
} from "./report.js";

const { values: flags } = parseArgs({
  options: {
    "reps-64": { type: "string", default: "3" },
    "reps-1g": { type: "string", default: "2" },
    servers: { type: "string", default: "pyftpdlib,vsftpd" },
    "no-1g": { type: "boolean", default: false },
    "no-mirror": { type: "boolean", default: false },
    "no-diagnose": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    render: { type: "boolean", default: false },
  },
});

const BUCKET = "bench";
const USER = "bench";
const PASSWORD = "bench-password";
const PART_MIB = 8;
const QUEUE = 4;
const MIRROR_FILES = 1000;
const MIRROR_FILE_BYTES = 16 * 1024;
const RUN_TIMEOUT_MS = 5 * 60_000;
/** The server the --resumable pipeline runs against (the cost of its hash does not depend on the server). */
const RESUMABLE_SERVER: InteropServerKind = "vsftpd";

// The SDK's warning about Node 20 says nothing about the figures (s3rver runs in this process).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const benchStarted = Date.now();
const log = (line: string) =>
  process.stderr.write(`[${String(Math.round((Date.now() - benchStarted) / 1000)).padStart(4)}s] ${line}\n`);

interface TestFile {
  label: string;
  remotePath: string;
  localPath: string;
  bytes: number;
  reps: number;
}

interface FtpServer {
  kind: InteropServerKind;
  version: string | undefined;
  server: InteropServer;
}

/** The environment of every node child: bare node (no loader from NODE_OPTIONS), the S3 server, the password. */
function nodeEnv(s3: EmbeddedS3Server, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...s3.env,
    FTP_PASSWORD: PASSWORD,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...extra,
  };
  delete env.NODE_OPTIONS;
  return env;
}

const ftpUrl = (server: InteropServer, remotePath: string) =>
  `ftp://${USER}@127.0.0.1:${server.port}${remotePath}`;

const lastJsonLine = (text: string): Record<string, unknown> | undefined => {
  const line = text.trim().split("\n").filter(Boolean).at(-1);
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

const failureText = (measured: Measured) =>
  `exit ${measured.code}: ${(measured.stderr.trim() || measured.stdout.trim()).split("\n").slice(-3).join(" | ")}`;

/** What the S3 server stored at `key`, then the key deleted (a 1 GiB object per run would fill the disk). */
async function takeObject(client: S3Client, key: string): Promise<{ etag?: string; bytes?: number }> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return { etag: head.ETag?.replace(/"/g, ""), bytes: head.ContentLength };
  } catch {
    return {};
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })).catch(() => {});
  }
}

/** One measured run of one subject; s3rver runs in this process, so our own CPU time is its CPU time. */
async function runOnce(
  context: {
    s3: EmbeddedS3Server;
    client: S3Client;
    rclone: RcloneInfo | undefined;
    obscured: string;
    stateDir: string;
  },
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
      args = [
        leg("s3-upload"),
        s3.endpoint,
        BUCKET,
        key,
        file.localPath,
        String(PART_MIB * MiB),
        String(QUEUE),
      ];
      env = nodeEnv(s3);
      break;
    case "pipeline":
      command = process.execPath;
      args = [
        cliPath,
        ftpUrl(server!.server, file.remotePath),
        `s3://${BUCKET}/${key}`,
        "--progress",
        "none",
        "--overwrite",
      ];
      env = nodeEnv(s3);
      break;
    case "pipeline-resumable":
      command = process.execPath;
      args = [
        cliPath,
        ftpUrl(server!.server, file.remotePath),
        `s3://${BUCKET}/${key}`,
        "--progress",
        "none",
        "--overwrite",
        "--resumable",
      ];
      // A copy that suspends writes its state there; these runs do not suspend, but never into ~.
      env = nodeEnv(s3, { FTP2S3_STATE_DIR: context.stateDir });
      break;
    case "rclone":
      command = "rclone";
      args = rcloneCopyToArgs(file.remotePath, BUCKET, key, PART_MIB, QUEUE);
      env = rcloneEnv({
        ftp: { host: "127.0.0.1", port: server!.server.port, user: USER, obscuredPassword: context.obscured },
        s3: {
          endpoint: s3.endpoint,
          accessKeyId: s3.env.AWS_ACCESS_KEY_ID ?? "",
          secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY ?? "",
        },
      });
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
    cpuS: Math.round((measured.userS + measured.sysS) * 100) / 100,
    s3rverCpuS: kind === "ftp-leg" ? 0 : Math.round(s3rverCpuS * 100) / 100,
    ...(etag === undefined ? {} : { etag }),
  };
}

function describeRun(run: RunRecord): string {
  const who = `${run.size} ${run.kind}${run.server ? ` ${run.server}` : ""} #${run.rep}`;
  if (!run.ok) return `${who}: FAILED ${run.error}`;
  const mbps = run.bytes / (run.wallMs / 1000) / 1e6;
  return `${who}: ${mbps.toFixed(1)} MB/s, ${((run.maxRssKiB * 1024) / 1e6).toFixed(0)} MB peak RSS, ${run.cpuS} s CPU`;
}

/** RETR commands the server has logged so far (its whole logs: InteropServer.logs() gives only their tails). */
async function countRetr(server: InteropServer): Promise<number> {
  let count = 0;
  for (const name of await readdir(server.dir)) {
    if (!name.endsWith(".log")) continue;
    const text = await readFile(path.join(server.dir, name), "utf8").catch(() => "");
    // vsftpd (log_ftp_protocol) logs every command: FTP command: Client "127.0.0.1", "RETR /x".
    // pyftpdlib logs one line per RETR at INFO: 127.0.0.1:port-[user] RETR /x completed=1 bytes=...
    count += text.split("\n").filter((line) => /"RETR |\] RETR /.test(line)).length;
  }
  return count;
}

/** vsftpd logs every command (log_ftp_protocol): the commands in its log so far, by verb. Other servers: undefined. */
async function vsftpdCommands(server: FtpServer): Promise<Record<string, number> | undefined> {
  if (server.kind !== "vsftpd") return undefined;
  const text = await readFile(path.join(server.server.dir, "vsftpd.log"), "utf8").catch(() => "");
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/FTP command: Client "[^"]*", "([A-Z]+)/g)) {
    const verb = match[1]!;
    counts[verb] = (counts[verb] ?? 0) + 1;
  }
  return counts;
}

function commandDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([verb, n]) => [verb, n - (before[verb] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

/** Whether this build's copy command has --resumable (the pipeline-resumable subject needs it). */
async function resumableAvailable(): Promise<boolean> {
  const probe = await measure(process.execPath, [cliPath, "copy", "--help"], { timeoutMs: 30_000 });
  return probe.code === 0 && /--resumable/.test(probe.stdout);
}

async function mirrorAvailable(): Promise<boolean> {
  const probe = await measure(process.execPath, [cliPath, "mirror", "--help"], { timeoutMs: 30_000 });
  return probe.code === 0 && /Usage: ftp2s3 mirror/.test(probe.stdout);
}

async function runMirror(
  context: { s3: EmbeddedS3Server; rclone: RcloneInfo | undefined; obscured: string },
  server: FtpServer,
  available: boolean,
): Promise<MirrorRecord> {
  const { s3 } = context;
  const record: MirrorRecord = { server: server.kind, files: MIRROR_FILES, fileBytes: MIRROR_FILE_BYTES };
  const remoteDir = "/many";
  if (available) {
    const prefix = `mirror/${server.kind}/`;
    const args = [
      cliPath,
      "mirror",
      ftpUrl(server.server, remoteDir),
      `s3://${BUCKET}/${prefix}`,
      "--concurrency",
      String(QUEUE),
      "--progress",
      "none",
    ];
    await settleDisk();
    const commandsBefore = await vsftpdCommands(server);
    const first = await measure(process.execPath, args, {
      env: nodeEnv(s3),
      cwd: repoRoot,
      timeoutMs: RUN_TIMEOUT_MS,
    });
    const firstSummary = lastJsonLine(first.stdout);
    const commandsAfter = await vsftpdCommands(server);
    record.ftp2s3 = {
      ...(commandsBefore && commandsAfter
        ? { ftpCommands: commandDelta(commandsBefore, commandsAfter) }
        : {}),
      wallMs: Math.round(first.wallMs),
      maxRssKiB: first.maxRssKiB,
      cpuS: Math.round((first.userS + first.sysS) * 100) / 100,
      ok: first.code === 0 && firstSummary?.copied === MIRROR_FILES,
      summary: firstSummary ?? null,
      ...(first.code === 0 ? {} : { error: failureText(first) }),
    };
    log(
      `mirror ${server.kind} ftp2s3: ${(first.wallMs / 1000).toFixed(2)} s, copied ${String(firstSummary?.copied)}`,
    );
    const retrBefore = await countRetr(server.server);
    await settleDisk();
    const rerun = await measure(process.execPath, args, {
      env: nodeEnv(s3),
      cwd: repoRoot,
      timeoutMs: RUN_TIMEOUT_MS,
    });
    const retrSent = (await countRetr(server.server)) - retrBefore;
    const rerunSummary = lastJsonLine(rerun.stdout);
    record.ftp2s3Rerun = {
      wallMs: Math.round(rerun.wallMs),
      maxRssKiB: rerun.maxRssKiB,
      cpuS: Math.round((rerun.userS + rerun.sysS) * 100) / 100,
      ok: rerun.code === 0 && rerunSummary?.unchanged === MIRROR_FILES && rerunSummary?.copied === 0,
      summary: rerunSummary ?? null,
      retrSent,
      ...(rerun.code === 0 ? {} : { error: failureText(rerun) }),
    };
    log(`mirror ${server.kind} ftp2s3 rerun: ${(rerun.wallMs / 1000).toFixed(2)} s, ${retrSent} RETR sent`);
  } else {
    record.ftp2s3Missing = "the mirror subcommand is not in this build (node dist/ftp2s3.mjs mirror --help)";
  }
  if (context.rclone) {
    const env = rcloneEnv({
      ftp: { host: "127.0.0.1", port: server.server.port, user: USER, obscuredPassword: context.obscured },
      s3: {
        endpoint: s3.endpoint,
        accessKeyId: s3.env.AWS_ACCESS_KEY_ID ?? "",
        secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY ?? "",
      },
    });
    const args = rcloneCopyDirArgs(remoteDir, BUCKET, `rclone-mirror/${server.kind}`, QUEUE);
    await settleDisk();
    const commandsBefore = await vsftpdCommands(server);
    const first = await measure("rclone", args, { env, timeoutMs: RUN_TIMEOUT_MS });
    const commandsAfter = await vsftpdCommands(server);
    record.rclone = {
      ...(commandsBefore && commandsAfter
        ? { ftpCommands: commandDelta(commandsBefore, commandsAfter) }
        : {}),
      wallMs: Math.round(first.wallMs),
      maxRssKiB: first.maxRssKiB,
      cpuS: Math.round((first.userS + first.sysS) * 100) / 100,
      ok: first.code === 0,
      ...(first.code === 0 ? {} : { error: failureText(first) }),
    };
    log(`mirror ${server.kind} rclone: ${(first.wallMs / 1000).toFixed(2)} s`);
    const retrBefore = await countRetr(server.server);
    await settleDisk();
    const rerun = await measure("rclone", args, { env, timeoutMs: RUN_TIMEOUT_MS });
    record.rcloneRerun = {
      wallMs: Math.round(rerun.wallMs),
      maxRssKiB: rerun.maxRssKiB,
      cpuS: Math.round((rerun.userS + rerun.sysS) * 100) / 100,
      ok: rerun.code === 0,
      retrSent: (await countRetr(server.server)) - retrBefore,
      ...(rerun.code === 0 ? {} : { error: failureText(rerun) }),
    };
  }
  return record;
}

interface Variant {
  label: string;
  nodeFlags?: string[];
  env?: Record<string, string>;
  /** The script and its arguments, for a file and the key to write. */
  script(file: TestFile, key: string): string[];
}

/** Runs `variant` once with the memory and HTTP probes preloaded. */
async function probedRun(
  context: { s3: EmbeddedS3Server; client: S3Client },
  variant: Variant,
  server: FtpServer | undefined,
  file: TestFile,
  key: string,
  rep: number,
): Promise<DiagnosisRecord> {
  const memoryFile = path.join(path.dirname(leg("memory-probe")), "memory.json");
  const httpFile = path.join(path.dirname(leg("memory-probe")), "http.json");
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
    server: server?.kind ?? null,
    size: file.label,
    bytes: file.bytes,
    rep,
    ok: measured.code === 0,
    ...(measured.code === 0 ? {} : { error: failureText(measured) }),
    wallMs: Math.round(measured.wallMs),
    maxRssKiB: measured.maxRssKiB,
    cpuS: Math.round((measured.userS + measured.sysS) * 100) / 100,
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
async function diagnose(
  context: { s3: EmbeddedS3Server; client: S3Client },
  server: FtpServer,
  files: TestFile[],
  resumable: boolean,
): Promise<DiagnosisRecord[]> {
  const command =
    (...extra: string[]) =>
    (file: TestFile, key: string) => [
      cliPath,
      ftpUrl(server.server, file.remotePath),
      `s3://${BUCKET}/${key}`,
      "--progress",
      "none",
      "--overwrite",
      ...extra,
    ];
  const variants: Variant[] = [
    {
      label: "S3 leg alone (reference)",
      script: (file, key) => [
        leg("s3-upload"),
        context.s3.endpoint,
        BUCKET,
        key,
        file.localPath,
        String(PART_MIB * MiB),
        String(QUEUE),
      ],
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
    ...(resumable ? [{ label: "ftp2s3 --resumable", script: command("--resumable") }] : []),
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
        const record = await probedRun(
          context,
          variant,
          variant.label.startsWith("S3 leg") ? undefined : server,
          file,
          key,
          rep,
        );
        await takeObject(context.client, key);
        records.push(record);
        log(
          `diagnose ${file.label} ${variant.label} #${rep}: ${(record.wallMs / 1000).toFixed(2)} s, ${((record.maxRssKiB * 1024) / 1e6).toFixed(0)} MB`,
        );
      }
    }
  }
  return records;
}

/** The mirror under other settings, with the HTTP probe counting the S3 requests by kind. */
async function diagnoseMirror(
  context: { s3: EmbeddedS3Server; client: S3Client },
  server: FtpServer,
): Promise<DiagnosisRecord[]> {
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
    const before = await vsftpdCommands(server);
    const record = await probedRun(context, variant, server, many, `diagnose-mirror/${index}`, 1);
    const after = await vsftpdCommands(server);
    if (before && after) record.ftpCommands = commandDelta(before, after);
    records.push(record);
    log(`diagnose mirror ${variant.label}: ${(record.wallMs / 1000).toFixed(2)} s`);
  }
  return records;
}

/** bench/README.md, laid out by the repository's formatter (Biome aligns Markdown tables) so that `npm run lint` passes. */
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
  if (!existsSync(cliPath)) {
    process.stderr.write(`bench: ${path.relative(repoRoot, cliPath)} is missing: run npm run build first\n`);
    return 2;
  }
  const reps64 = Number(flags["reps-64"]);
  const reps1g = Number(flags["reps-1g"]);
  const wanted = (flags.servers ?? "").split(",").filter(Boolean) as InteropServerKind[];
  for (const kind of wanted) {
    if (!interopServerKinds.includes(kind)) throw new Error(`unknown FTP server ${kind}`);
  }

  const loadAtStart = Math.round(os.loadavg()[0]! * 100) / 100;
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
  const files: TestFile[] = [
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
  if (!flags["no-mirror"])
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
  let mirrorMissing = false;
  let resumable = false;
  try {
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
    resumable = await resumableAvailable();
    if (!resumable) log("this build's copy has no --resumable: its runs are skipped");

    // Round-robin: every repetition runs every subject once, so a slow spell of the machine hits all alike.
    for (const file of files) {
      for (let rep = 1; rep <= file.reps; rep++) {
        const subjects: [RunKind, FtpServer | undefined][] = [["s3-leg", undefined]];
        for (const server of servers) {
          subjects.push(["ftp-leg", server], ["pipeline", server]);
          if (resumable && server.kind === RESUMABLE_SERVER) subjects.push(["pipeline-resumable", server]);
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
      const available = await mirrorAvailable();
      mirrorMissing = !available;
      if (!available) log("the mirror subcommand is not in this build: only rclone's mirror runs");
      for (const server of servers) mirror.push(await runMirror(context, server, available));
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
        diagnosis = await diagnose(context, server, files, resumable);
        if (!flags["no-mirror"] && !mirrorMissing) diagnosis.push(...(await diagnoseMirror(context, server)));
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
      loadAverageAtEnd: Math.round(os.loadavg()[0]! * 100) / 100,
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
      ftp2s3Mirror: flags["no-mirror"]
        ? "not run (--no-mirror)"
        : mirrorMissing
          ? "not in this build"
          : "measured",
      timeVersion: (await commandVersion("/usr/bin/time", ["--version"])) ?? "unknown",
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
  };

  await writeFile(path.join(repoRoot, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  await writeReadme(results);
  process.stdout.write(renderConsole(results));
  log(`wrote bench/results.json and bench/README.md (${results.durationS} s)`);
  return runs.every((r) => r.ok) ? 0 : 1;
}

process.exitCode = await main();
