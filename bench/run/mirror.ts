/** The 1,000-file mirror against rclone copy, and its no-change rerun; the FTP commands the servers logged. */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { InteropServer } from "../../test/interop/servers.js";
import { measure } from "../lib/measure.js";
import { rcloneCopyDirArgs } from "../lib/rclone.js";
import { cliPath, repoRoot, settleDisk } from "../lib/setup.js";
import type { MirrorRecord } from "../report/types.js";
import {
  type BenchContext,
  BUCKET,
  type FtpServer,
  failureText,
  ftpUrl,
  lastJsonLine,
  log,
  MIRROR_FILE_BYTES,
  MIRROR_FILES,
  nodeEnv,
  QUEUE,
  RUN_TIMEOUT_MS,
  rcloneEnvFor,
} from "./common.js";

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
export async function vsftpdCommands(server: FtpServer): Promise<Record<string, number> | undefined> {
  if (server.kind !== "vsftpd") return undefined;
  const text = await readFile(path.join(server.server.dir, "vsftpd.log"), "utf8").catch(() => "");
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/FTP command: Client "[^"]*", "([A-Z]+)/g)) {
    const verb = match[1]!;
    counts[verb] = (counts[verb] ?? 0) + 1;
  }
  return counts;
}

export function commandDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([verb, n]) => [verb, n - (before[verb] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

export async function mirrorAvailable(): Promise<boolean> {
  const probe = await measure(process.execPath, [cliPath, "mirror", "--help"], { timeoutMs: 30_000 });
  return probe.code === 0 && /Usage: ftp2s3 mirror/.test(probe.stdout);
}

export async function runMirror(
  context: BenchContext,
  server: FtpServer,
  available: boolean,
): Promise<MirrorRecord> {
  const { s3 } = context;
  const record: MirrorRecord = { server: server.kind, files: MIRROR_FILES, fileBytes: MIRROR_FILE_BYTES };
  const remoteDir = "/many";
  if (available) {
    const prefix = `mirror/${server.kind}/`;
    // The bin itself, as a user runs it: its shebang carries the command's Node flags.
    const args = [
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
    const first = await measure(cliPath, args, {
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
    const rerun = await measure(cliPath, args, {
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
    const env = rcloneEnvFor(context, server);
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
