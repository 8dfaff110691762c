/** The 1,000-file mirror against rclone copy, and its no-change rerun; the FTP commands the servers logged. */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { InteropServer } from "../../test/interop/servers.js";
import { cpuSeconds, type Measured, measure } from "../lib/measure.js";
import { rcloneCopyDirArgs } from "../lib/rclone.js";
import { cliPath, repoRoot, settleDisk } from "../lib/setup.js";
import type { MirrorRecord, MirrorRun } from "../report/types.js";
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

/** `run`'s result, and the FTP commands the server logged meanwhile, by verb (vsftpd only; others: undefined). */
export async function ftpCommandsDuring<T>(
  server: FtpServer,
  run: () => Promise<T>,
): Promise<{ result: T; ftpCommands: Record<string, number> | undefined }> {
  const before = await vsftpdCommands(server);
  const result = await run();
  const after = await vsftpdCommands(server);
  const ftpCommands =
    before && after
      ? Object.fromEntries(
          Object.entries(after)
            .map(([verb, n]) => [verb, n - (before[verb] ?? 0)] as const)
            .filter(([, n]) => n > 0),
        )
      : undefined;
  return { result, ftpCommands };
}

/** A mirror run's figures; `ok` is the caller's verdict on top of a zero exit. */
function mirrorRun(
  measured: Measured,
  ok: boolean,
  extra: Pick<MirrorRun, "ftpCommands" | "summary" | "retrSent"> = {},
): MirrorRun {
  return {
    ...extra, // an undefined field (ftpCommands off vsftpd) is left out of results.json by JSON.stringify
    wallMs: Math.round(measured.wallMs),
    maxRssKiB: measured.maxRssKiB,
    cpuS: cpuSeconds(measured),
    ok: measured.code === 0 && ok,
    ...(measured.code === 0 ? {} : { error: failureText(measured) }),
  };
}

/** `command args` twice: into an empty prefix, then again with nothing changed (the rerun counts the RETR it caused). */
async function mirrorTwice(server: FtpServer, command: string, args: string[], env: NodeJS.ProcessEnv) {
  const options = { env, cwd: repoRoot, timeoutMs: RUN_TIMEOUT_MS };
  await settleDisk();
  const { result: first, ftpCommands } = await ftpCommandsDuring(server, () =>
    measure(command, args, options),
  );
  const retrBefore = await countRetr(server.server);
  await settleDisk();
  const rerun = await measure(command, args, options);
  const retrSent = (await countRetr(server.server)) - retrBefore;
  return { first, ftpCommands, rerun, retrSent };
}

export async function runMirror(context: BenchContext, server: FtpServer): Promise<MirrorRecord> {
  const record: MirrorRecord = { server: server.kind, files: MIRROR_FILES, fileBytes: MIRROR_FILE_BYTES };
  const remoteDir = "/many";
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
  const { first, ftpCommands, rerun, retrSent } = await mirrorTwice(
    server,
    cliPath,
    args,
    nodeEnv(context.s3),
  );
  const firstSummary = lastJsonLine(first.stdout);
  record.ftp2s3 = mirrorRun(first, firstSummary?.copied === MIRROR_FILES, {
    ftpCommands,
    summary: firstSummary ?? null,
  });
  log(
    `mirror ${server.kind} ftp2s3: ${(first.wallMs / 1000).toFixed(2)} s, copied ${String(firstSummary?.copied)}`,
  );
  const rerunSummary = lastJsonLine(rerun.stdout);
  record.ftp2s3Rerun = mirrorRun(
    rerun,
    rerunSummary?.unchanged === MIRROR_FILES && rerunSummary?.copied === 0,
    { summary: rerunSummary ?? null, retrSent },
  );
  log(`mirror ${server.kind} ftp2s3 rerun: ${(rerun.wallMs / 1000).toFixed(2)} s, ${retrSent} RETR sent`);
  if (context.rclone) {
    const args = rcloneCopyDirArgs(remoteDir, BUCKET, `rclone-mirror/${server.kind}`, QUEUE);
    const { first, ftpCommands, rerun, retrSent } = await mirrorTwice(
      server,
      "rclone",
      args,
      rcloneEnvFor(context, server),
    );
    record.rclone = mirrorRun(first, true, { ftpCommands });
    log(`mirror ${server.kind} rclone: ${(first.wallMs / 1000).toFixed(2)} s`);
    record.rcloneRerun = mirrorRun(rerun, true, { retrSent });
  }
  return record;
}
