import { readFile } from "node:fs/promises";
import { HeadBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { type Command, InvalidArgumentError, Option } from "commander";
import { connectFtpSource } from "../adapters/ftp-source.js";
import { isUtf8Encoding } from "../adapters/name-encoding.js";
import { type ChecksumMode, createS3Client, nonEmpty } from "../adapters/s3-client.js";
import { httpStatus } from "../adapters/s3-errors.js";
import { createS3Sink } from "../adapters/s3-sink.js";
import type {
  CopyOptions,
  FileSource,
  FtpLocation,
  ObjectSink,
  PartSize,
  ServerDigestMode,
} from "../core/index.js";
import {
  bytesOfMiB,
  DEFAULTS,
  type ErrorCode,
  Ftp2s3Error,
  InvalidInputError,
  inMiB,
  inSeconds,
  msOfSeconds,
  partSize,
  S3_MAX_PART_SIZE,
  S3_MIN_PART_SIZE,
  S3Error,
  TransferAbortedError,
} from "../core/index.js";
import { addObjectOptions, type ObjectFlags, objectSettingsOfFlags } from "./object-options.js";
import type { ProgressMode } from "./progress-view.js";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /**
   * Fires on Ctrl-C or SIGTERM (see stopSignal): the copy is aborted cleanly (no object, upload
   * aborted), or with --resumable stops at a part boundary.
   */
  signal?: AbortSignal;
}

/** Exit statuses, documented in the README. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** The copy stopped on purpose (--resumable, --stop-after) and can go on with --resume (EX_TEMPFAIL). */
export const EXIT_SUSPENDED = 75;
export const EXIT_INTERRUPTED = 130;
/** Stopped by SIGTERM (128 + 15, what a shell reports for a process SIGTERM ended). */
export const EXIT_TERMINATED = 143;

const stopSignalStatus = { SIGINT: EXIT_INTERRUPTED, SIGTERM: EXIT_TERMINATED } as const;
export type StopSignalName = keyof typeof stopSignalStatus;

/** The reason the command's AbortSignal fires with: which signal stopped it, and the status to exit with. */
export class StoppedBySignalError extends TransferAbortedError {
  constructor(
    readonly signalName: StopSignalName,
    readonly exitCode: number,
  ) {
    super(`stopped by ${signalName}`);
  }
}

/**
 * Turns SIGINT (Ctrl-C) and SIGTERM (timeout, systemd, Kubernetes) into one AbortSignal, for copy and
 * mirror alike: the first signal stops the command cleanly (uploads aborted, or suspended with
 * --resumable); a second one quits at once. SIGHUP is left alone: a handler would undo `nohup`, which
 * starts the process with SIGHUP ignored so that a copy outlives its terminal.
 */
export function stopSignal(events: Pick<NodeJS.Process, "on" | "exit"> = process): AbortSignal {
  const stop = new AbortController();
  for (const [name, exitCode] of Object.entries(stopSignalStatus) as [StopSignalName, number][]) {
    events.on(name, () => {
      if (stop.signal.aborted) events.exit(exitCode);
      stop.abort(new StoppedBySignalError(name, exitCode));
    });
  }
  return stop.signal;
}

/** The signal that stopped the command, when one did. */
export function stoppedBy(signal: AbortSignal | undefined): StoppedBySignalError | undefined {
  return signal?.aborted && signal.reason instanceof StoppedBySignalError ? signal.reason : undefined;
}

/**
 * For a command a signal stopped: one line saying so and what became of the work, and the status
 * (130 or 143). Undefined when no signal stopped it.
 */
export function stopStatus(io: CliIo, outcome: string): number | undefined {
  const stopped = stoppedBy(io.signal);
  if (stopped === undefined) return undefined;
  io.stderr.write(`ftp2s3: stopped by ${stopped.signalName}; ${outcome}\n`);
  return stopped.exitCode;
}

/** The options every command shares: where S3 is, how to reach the FTP server, how to upload. */
export interface CommonOptions extends ObjectFlags {
  s3Endpoint?: string;
  region?: string;
  checksums?: ChecksumMode;
  implicitTls: boolean;
  caFile?: string;
  passwordFile?: string;
  /** The encoding of the server's names (default "utf8"). */
  encoding: string;
  partSize?: PartSize;
  queueSize: number;
  /** Bytes the part buffers may take (--max-memory, given in MiB). */
  maxMemory: number;
  timeout: number;
  /** Bytes a second a data connection must deliver over `minRateWindow` seconds; 0: no minimum. */
  minRate: number;
  minRateWindow: number;
  /** Seconds of silence on the control connection before TCP keepalive probes; 0: no keepalive. */
  keepalive: number;
  /** false (--no-pipelining): no EPSV sent before a download's final reply. */
  pipelining: boolean;
  progress: "auto" | ProgressMode;
  tag: boolean;
  serverDigest: ServerDigestMode;
  verbose: boolean;
}

/** The options every command shares, in the order --help lists them. */
export function addCommonOptions(command: Command): Command {
  return addOutputOptions(
    addSessionOptions(addObjectOptions(addUploadOptions(addConnectionOptions(command)))),
  );
}

/** Where S3 is and how to reach the FTP server. */
function addConnectionOptions(command: Command): Command {
  return command
    .option(
      "--s3-endpoint <url>",
      "S3-compatible endpoint, path-style (default: $AWS_ENDPOINT_URL_S3, else AWS)",
    )
    .option("--region <region>", "S3 region (default: $AWS_REGION, else us-east-1)")
    .addOption(
      new Option(
        "--checksums <mode>",
        "send upload checksums when-supported (SDK default) or when-required",
      ).choices(["when-supported", "when-required"]),
    )
    .option("--implicit-tls", "ftps:// with TLS from the first byte (port 990 by default)", false)
    .option(
      "--ca-file <path>",
      "PEM file of the CA certificates to trust for FTPS (verification is always on)",
    )
    .option("--password-file <path>", "read the FTP password from this file instead of FTP_PASSWORD")
    .option(
      "--encoding <name>",
      "the encoding of the server's file names, e.g. latin1, windows-1252, shift_jis, gbk (keys are UTF-8)",
      "utf8",
    );
}

/** How each file is uploaded: part size, parallel parts, memory. */
function addUploadOptions(command: Command): Command {
  return command
    .option(
      "--part-size <MiB>",
      `upload part size in MiB (default ${inMiB(DEFAULTS.partSize)}, grown for big files)`,
      partSizeMebibytes,
    )
    .option("--queue-size <n>", "parts uploaded in parallel", positiveInteger, DEFAULTS.queueSize)
    .addOption(
      new Option(
        "--max-memory <MiB>",
        "memory for part buffers in MiB; fewer parts go in parallel to fit, and a file whose one part does not fit is refused before it is read",
      )
        .argParser(mebibytes)
        // The value is in bytes; help shows it in the MiB the option is given in.
        .default(DEFAULTS.memoryBudget, String(inMiB(DEFAULTS.memoryBudget))),
    );
}

/** How long an FTP session may stall, trickle or stay silent. */
function addSessionOptions(command: Command): Command {
  return command
    .option(
      "--timeout <seconds>",
      "give up after this long without progress",
      positiveNumber,
      inSeconds(DEFAULTS.ftpTimeoutMs),
    )
    .option(
      "--min-rate <bytes/s>",
      "stop a data connection slower than this over --min-rate-window (0: no minimum)",
      nonNegativeNumber,
      DEFAULTS.minBytesPerSecond,
    )
    .option(
      "--min-rate-window <seconds>",
      "the window --min-rate is measured over",
      positiveNumber,
      inSeconds(DEFAULTS.minRateWindowMs),
    )
    .option(
      "--keepalive <seconds>",
      "TCP keepalive on the FTP control connection after this long idle, so NAT gateways and firewalls keep it during long downloads (0: off)",
      keepAliveSeconds,
      inSeconds(DEFAULTS.keepAliveMs),
    )
    .option(
      "--no-pipelining",
      "wait for the server's final reply to a download before sending the next transfer's EPSV (for a server that cannot take a command early)",
    );
}

/** What the command prints and stores besides the object. */
function addOutputOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--progress <mode>", "auto: a line on a terminal, JSON lines otherwise")
        .choices(["auto", "tty", "json", "none"])
        .default("auto"),
    )
    .option("--no-tag", "do not tag objects with the SHA-256 of their bytes")
    .addOption(
      new Option(
        "--server-digest <mode>",
        "compare the server's own digest of each file (HASH, XSHA256, XMD5...) with the bytes read: auto when it offers one, off, or require",
      )
        .choices(["auto", "off", "require"])
        .default(DEFAULTS.serverDigest),
    )
    .option(
      "--verbose",
      "print the FTP conversation and the libraries' warnings to stderr (the password is masked)",
      false,
    );
}

/**
 * How each file is copied, as the common options say: the same for a copy and for a mirror's files.
 * `host` is what {connection} renders as in metadata and tag templates.
 */
export function copyOptionsOf(
  options: CommonOptions,
  host: string,
): Pick<CopyOptions, "queueSize" | "memoryBudget" | "tagWithSha256" | "object" | "serverDigest"> & {
  partSize?: PartSize;
} {
  return {
    ...(options.partSize === undefined ? {} : { partSize: options.partSize }),
    queueSize: options.queueSize,
    memoryBudget: options.maxMemory,
    tagWithSha256: options.tag,
    object: objectSettingsOfFlags(options, host),
    serverDigest: options.serverDigest,
  };
}

/** What the common options resolve to, read once before anything is contacted. */
export interface Setup {
  sink: ObjectSink;
  /** The S3 endpoint given (option or environment); undefined: AWS. */
  endpoint: string | undefined;
  /** Fails (exit 1) when the bucket does not exist: asked before a byte is read from the FTP server. */
  checkBucket: (bucket: string) => Promise<void>;
  /** Ends the S3 client's sockets: every exit path calls it, so the process ends with its last line. */
  close: () => void;
  /** Opens the session; `signal` ends it in any phase (connecting, a command, a transfer). */
  connect: (signal?: AbortSignal) => Promise<FileSource>;
  progressMode: ProgressMode;
  warn: (message: string, details: Record<string, unknown>) => void;
}

/**
 * Reads and checks everything local (options, files, the password's presence, the endpoint) and
 * contacts nobody: an INVALID_INPUT from here means no server saw the command.
 */
export async function setUp(location: FtpLocation, options: CommonOptions, io: CliIo): Promise<Setup> {
  const password = await passwordOf(location, options, io.env);
  const encoding = await serverEncoding(options.encoding);
  const ca = options.caFile === undefined ? undefined : await readInput(options.caFile, "CA file");
  const endpoint = s3Endpoint(options, io.env);
  const client = createS3Client({ endpoint, region: options.region, checksums: options.checksums }, io.env);
  const sink = createS3Sink(client);
  return {
    sink,
    endpoint,
    checkBucket: (bucket) => checkBucket(client, bucket, endpoint),
    close: () => client.destroy(),
    connect: (signal) =>
      connectFtpSource({
        ...location,
        password,
        ...(ca === undefined ? {} : { ca }),
        ...(signal === undefined ? {} : { signal }),
        timeoutMs: msOfSeconds(options.timeout),
        minBytesPerSecond: options.minRate,
        minRateWindowMs: msOfSeconds(options.minRateWindow),
        keepAliveMs: msOfSeconds(options.keepalive),
        pipelining: options.pipelining,
        encoding,
        rateSetting: "--min-rate",
        ...(options.verbose ? { log: (line: string) => io.stderr.write(`${line.trimEnd()}\n`) } : {}),
      }),
    progressMode: options.progress === "auto" ? (io.stderr.isTTY ? "tty" : "json") : options.progress,
    warn: (message, details) => io.stderr.write(`ftp2s3: warning: ${message} ${JSON.stringify(details)}\n`),
  };
}

/** What the command's user can do about a refusal, in the command's own words (the core speaks for every caller). */
const commandHint: Partial<Record<ErrorCode, string>> = { OBJECT_EXISTS: " (--overwrite replaces it)" };

/**
 * A user given in the URL needs a password: without one the login would try an empty one and fail
 * at the server (or worse, succeed where an empty password is allowed but not meant). An empty one on
 * purpose is said as `FTP_PASSWORD=` (set, empty). An anonymous login ignores an empty FTP_PASSWORD.
 */
async function passwordOf(
  location: FtpLocation,
  options: CommonOptions,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  if (options.passwordFile) return readSecretFile(options.passwordFile);
  if (location.user === undefined) return nonEmpty(env.FTP_PASSWORD);
  if (env.FTP_PASSWORD === undefined) {
    throw new InvalidInputError(
      `no password for user "${location.user}": set FTP_PASSWORD (FTP_PASSWORD= for an empty one) or give --password-file`,
    );
  }
  return env.FTP_PASSWORD;
}

/**
 * --encoding, checked before anything is contacted. The check (and iconv-lite) is loaded only for an
 * encoding that is not UTF-8: a UTF-8 server's copy does not pay for it.
 */
async function serverEncoding(encoding: string): Promise<string> {
  if (isUtf8Encoding(encoding)) return encoding;
  const { serverEncodingProblem } = await import("../contracts/server-encoding.js");
  const problem = serverEncodingProblem(encoding);
  if (problem !== undefined) throw new InvalidInputError(`--encoding: ${problem}`);
  return encoding;
}

/** The S3 endpoint, checked as a URL here rather than failing inside the SDK after the FTP login. */
export function s3Endpoint(
  options: Pick<CommonOptions, "s3Endpoint">,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const [setting, value] =
    options.s3Endpoint !== undefined
      ? ["--s3-endpoint", options.s3Endpoint]
      : nonEmpty(env.AWS_ENDPOINT_URL_S3) !== undefined
        ? ["AWS_ENDPOINT_URL_S3", env.AWS_ENDPOINT_URL_S3 as string]
        : ["AWS_ENDPOINT_URL", nonEmpty(env.AWS_ENDPOINT_URL)];
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    throw new InvalidInputError(
      `${setting} ${JSON.stringify(value)} is not an http:// or https:// URL (e.g. http://127.0.0.1:9000)`,
    );
  }
  return value;
}

/**
 * A missing bucket, found before the download starts. Only a clear "no such bucket" fails here: a
 * 403 (no s3:ListBucket) or an unreachable endpoint is left to the requests the copy needs anyway,
 * which report it with the key they were about.
 */
async function checkBucket(client: S3Client, bucket: string, endpoint: string | undefined): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const status = httpStatus(error);
    const name = (error as Error).name;
    if (status === 404 || name === "NoSuchBucket" || name === "NotFound") {
      throw new S3Error(
        `the bucket ${bucket} does not exist${endpoint === undefined ? "" : ` at ${endpoint}`}`,
        404,
        { cause: error },
      );
    }
  }
}

/**
 * The exit status of each failure (README "Exit status"): one entry per error code, so a new code
 * does not compile until it says what it means here. A stop by a signal has its own (130, 143).
 */
const exitStatus: Record<ErrorCode, number> = {
  INVALID_INPUT: EXIT_USAGE,
  FTP_CONNECTION: EXIT_FAILED,
  FTP_LOGIN: EXIT_FAILED,
  // The copy did not start; 75 would promise a kept upload for --resume. Run it again later.
  FTP_BUSY: EXIT_FAILED,
  FTP_REPLY: EXIT_FAILED,
  FTP_DATA_CONNECTION: EXIT_FAILED,
  FTP_LISTING: EXIT_FAILED,
  SIZE_MISMATCH: EXIT_FAILED,
  // Not 75: that one promises an upload kept for --resume, and this copy's upload was aborted.
  SOURCE_CHANGED: EXIT_FAILED,
  CHECKSUM_MISMATCH: EXIT_FAILED,
  NO_SERVER_DIGEST: EXIT_FAILED,
  TIMEOUT: EXIT_FAILED,
  ABORTED: EXIT_FAILED,
  OBJECT_EXISTS: EXIT_FAILED,
  NOT_ALLOWED: EXIT_FAILED,
  MIRROR_INCOMPLETE: EXIT_FAILED,
  FTP_NO_RESTART: EXIT_FAILED,
  RESUME_LIMIT: EXIT_FAILED,
  TOO_LARGE: EXIT_FAILED,
  DELETE_LIMIT: EXIT_FAILED,
  EMPTY_SOURCE: EXIT_FAILED,
  S3: EXIT_FAILED,
  IDEMPOTENCY_KEY_REUSED: EXIT_USAGE, // the Lambda's API only: the command sends no Idempotency-Key
};

/** The one line and the exit status of a failed command; never a stack trace for an expected failure. */
export function reportFailure(error: unknown, io: CliIo, uploadOutcome = "the upload was aborted"): number {
  if (error instanceof Ftp2s3Error) {
    const stopped = error.code === "ABORTED" ? stopStatus(io, uploadOutcome) : undefined;
    if (stopped !== undefined) return stopped;
    io.stderr.write(`ftp2s3: ${error.code}: ${error.message}${commandHint[error.code] ?? ""}\n`);
    if (error.code === "ABORTED" && io.signal?.aborted) return EXIT_INTERRUPTED;
    return exitStatus[error.code];
  }
  const debug = Boolean(io.env.FTP2S3_DEBUG);
  const detail = debug ? String((error as Error)?.stack ?? error) : String(error);
  io.stderr.write(
    `ftp2s3: unexpected error: ${detail}${debug ? "" : " (set FTP2S3_DEBUG=1 for a stack trace)"}\n`,
  );
  return EXIT_FAILED;
}

async function readSecretFile(path: string): Promise<string> {
  return (await readInput(path, "password file")).toString("utf8").replace(/\r?\n$/, "");
}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new InvalidInputError(`cannot read the ${what} ${path}: ${(error as Error).message}`);
  }
}

function mebibytes(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number of MiB, e.g. 8");
  return Math.round(bytesOfMiB(n));
}

/** --part-size, in the unit it is given in: S3 takes parts of 5 MiB to 5 GiB. */
function partSizeMebibytes(value: string): PartSize {
  const n = Number(value);
  const [min, max] = [inMiB(S3_MIN_PART_SIZE), inMiB(S3_MAX_PART_SIZE)];
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new InvalidArgumentError(
      `expected a number of MiB from ${min} to ${max} (S3's part sizes), e.g. 8`,
    );
  }
  return partSize(Math.round(bytesOfMiB(n)));
}

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of 1 or more");
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a number of 0 or more");
  return n;
}

/** Linux takes a keepalive idle time of 1 to 32767 whole seconds; 0 turns keepalive off. */
function keepAliveSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 0 || n > 32_767) {
    throw new InvalidArgumentError("expected a whole number of seconds from 0 to 32767");
  }
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number greater than 0");
  return n;
}
