/** What every part of the bench shares: its constants, its log, the test files, the children's environment. */
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { InteropServer, InteropServerKind } from "../../test/interop/servers.js";
import type { EmbeddedS3Server } from "../../test/support/embedded-s3.js";
import type { Measured } from "../lib/measure.js";
import { type RcloneInfo, rcloneEnv } from "../lib/rclone.js";
import { leg, MiB } from "../lib/setup.js";

export const BUCKET = "bench";
export const USER = "bench";
export const PASSWORD = "bench-password";
export const PART_MIB = 8;
export const QUEUE = 4;
export const MIRROR_FILES = 1000;
export const MIRROR_FILE_BYTES = 16 * 1024;
export const RUN_TIMEOUT_MS = 5 * 60_000;
/** BENCH_QUICK=1: a smoke run of a minute or two (the issue 18 cases, small and once; no s3rver suite). */
export const QUICK = process.env.BENCH_QUICK === "1";
/** The server the --resumable pipeline runs against (the cost of its hash does not depend on the server). */
export const RESUMABLE_SERVER: InteropServerKind = "vsftpd";

export const benchStarted = Date.now();
export const log = (line: string) =>
  process.stderr.write(`[${String(Math.round((Date.now() - benchStarted) / 1000)).padStart(4)}s] ${line}\n`);

export interface TestFile {
  label: string;
  remotePath: string;
  localPath: string;
  bytes: number;
  reps: number;
}

export interface FtpServer {
  kind: InteropServerKind;
  version: string | undefined;
  server: InteropServer;
}

/** What the runs share: the S3 server and a client of it, rclone and the password it takes, the copies' state dir. */
export interface BenchContext {
  s3: EmbeddedS3Server;
  client: S3Client;
  rclone: RcloneInfo | undefined;
  obscured: string;
  stateDir: string;
}

/** The environment of every node child: bare node (no loader from NODE_OPTIONS), the S3 server, the password. */
export function nodeEnv(
  s3: Pick<EmbeddedS3Server, "env">,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  // A machine-wide NODE_EXTRA_CA_CERTS (this one points it at the system bundle) makes Node parse
  // the whole bundle at every start, ~0.05 CPU s a process that users do not pay: only the discard
  // endpoint's own certificate goes in (its env sets it), when it speaks HTTPS.
  const { NODE_EXTRA_CA_CERTS: _machineBundle, ...machine } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...machine,
    ...s3.env,
    FTP_PASSWORD: PASSWORD,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...extra,
  };
  delete env.NODE_OPTIONS;
  return env;
}

export const ftpUrl = (server: InteropServer, remotePath: string) =>
  `ftp://${USER}@127.0.0.1:${server.port}${remotePath}`;

/** The S3 leg's script and arguments: `file`'s bytes into `key`, in the pipeline's parts and queue. */
export const s3LegArgs = (s3: EmbeddedS3Server, file: TestFile, key: string) => [
  leg("s3-upload"),
  s3.endpoint,
  BUCKET,
  key,
  file.localPath,
  String(PART_MIB * MiB),
  String(QUEUE),
];

/** The copy command's arguments for `file` into `key`: the bench's defaults, then `extra`. */
export const copyArgs = (server: FtpServer, file: TestFile, key: string, extra: string[] = []) => [
  ftpUrl(server.server, file.remotePath),
  `s3://${BUCKET}/${key}`,
  "--progress",
  "none",
  "--overwrite",
  ...extra,
];

/** rclone's environment: remote src is `server`, remote dst the S3 server. */
export const rcloneEnvFor = (context: BenchContext, server: FtpServer) =>
  rcloneEnv({
    ftp: { host: "127.0.0.1", port: server.server.port, user: USER, obscuredPassword: context.obscured },
    s3: {
      endpoint: context.s3.endpoint,
      accessKeyId: context.s3.env.AWS_ACCESS_KEY_ID ?? "",
      secretAccessKey: context.s3.env.AWS_SECRET_ACCESS_KEY ?? "",
    },
  });

export const lastJsonLine = (text: string): Record<string, unknown> | undefined => {
  const line = text.trim().split("\n").filter(Boolean).at(-1);
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

export const failureText = (measured: Measured) =>
  `exit ${measured.code}: ${(measured.stderr.trim() || measured.stdout.trim()).split("\n").slice(-3).join(" | ")}`;

/** What the S3 server stored at `key`, then the key deleted (a 1 GiB object per run would fill the disk). */
export async function takeObject(client: S3Client, key: string): Promise<{ etag?: string; bytes?: number }> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return { etag: head.ETag?.replace(/"/g, ""), bytes: head.ContentLength };
  } catch {
    return {};
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })).catch(() => {});
  }
}
