import { readFile } from "node:fs/promises";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { connectFtpSource, defaultFtpTimeoutMs } from "../adapters/ftp-source.js";
import { type ChecksumMode, createS3Client } from "../adapters/s3-client.js";
import { createS3Sink } from "../adapters/s3-sink.js";
import { Ftp2s3Error, InvalidInputError } from "../core/errors.js";
import { assertRemoteFilePath, parseFtpUrl, parseS3Url, resolveKey } from "../core/locations.js";
import { assertValidPartSize, DEFAULT_PART_SIZE } from "../core/part-size.js";
import { copyFile, defaultCopyOptions } from "../core/transfer.js";
import { type ProgressMode, progressPrinter } from "./progress-view.js";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Fires on Ctrl-C: the copy is aborted cleanly (no object, upload aborted). */
  signal?: AbortSignal;
}

/** Exit statuses, documented in the README. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

interface CopyCommandOptions {
  s3Endpoint?: string;
  region?: string;
  checksums?: ChecksumMode;
  implicitTls: boolean;
  caFile?: string;
  passwordFile?: string;
  overwrite: boolean;
  skipUnchanged: boolean;
  partSize?: number;
  queueSize: number;
  timeout: number;
  progress: "auto" | ProgressMode;
  tag: boolean;
  verbose: boolean;
}

/** Runs the `ftp2s3` command; resolves with the exit status. Never throws for an expected failure. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram(io, async (ftpUrl, s3Url, options) => {
    exitCode = await copyCommand(ftpUrl, s3Url, options, io);
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exitCode 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    throw error;
  }
}

function buildProgram(
  io: CliIo,
  action: (ftpUrl: string, s3Url: string, options: CopyCommandOptions) => Promise<void>,
): Command {
  return new Command()
    .name("ftp2s3")
    .description(
      "Stream one file from an FTP server into S3. The object is committed only when the server's final reply\n" +
        "confirms the transfer and the byte count matches its SIZE. The FTP password comes from FTP_PASSWORD.",
    )
    .argument("<ftp-url>", "ftp://[user@]host[:port]/path (ftps:// for explicit TLS)")
    .argument("<s3-url>", "s3://bucket/key; a key ending in / keeps the remote file name")
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
    .option("--overwrite", "replace an object that already exists at the key", false)
    .option(
      "--skip-unchanged",
      "leave an object that records this source with the same size and modification time; copy otherwise",
      false,
    )
    .option(
      "--part-size <MiB>",
      `upload part size in MiB (default ${DEFAULT_PART_SIZE / 2 ** 20}, grown for big files)`,
      mebibytes,
    )
    .option("--queue-size <n>", "parts uploaded in parallel", positiveInteger, defaultCopyOptions.queueSize)
    .option(
      "--timeout <seconds>",
      "give up after this long without progress",
      positiveNumber,
      defaultFtpTimeoutMs / 1000,
    )
    .addOption(
      new Option("--progress <mode>", "auto: a line on a terminal, JSON lines otherwise")
        .choices(["auto", "tty", "json", "none"])
        .default("auto"),
    )
    .option("--no-tag", "do not tag the object with the SHA-256 of its bytes")
    .option("--verbose", "print the FTP conversation to stderr (the password is masked)", false)
    .version("ftp2s3 0.1.0", "--version")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`ftp2s3: ${text.replace(/^error: /, "")}`),
    })
    .showHelpAfterError("(run ftp2s3 --help for usage)")
    .action(action);
}

async function copyCommand(
  ftpUrl: string,
  s3Url: string,
  options: CopyCommandOptions,
  io: CliIo,
): Promise<number> {
  const fail = (message: string) => io.stderr.write(`ftp2s3: ${message}\n`);
  try {
    const location = parseFtpUrl(ftpUrl, { implicitTls: options.implicitTls });
    assertRemoteFilePath(location.path);
    const s3 = parseS3Url(s3Url);
    const target = { bucket: s3.bucket, key: resolveKey(s3.key, location.path) };
    if (options.partSize !== undefined) assertValidPartSize(options.partSize);
    if (options.overwrite && options.skipUnchanged) {
      throw new InvalidInputError("--overwrite and --skip-unchanged exclude each other");
    }
    const password = options.passwordFile
      ? await readSecretFile(options.passwordFile)
      : nonEmpty(io.env.FTP_PASSWORD);
    const ca = options.caFile === undefined ? undefined : await readInput(options.caFile, "CA file");
    const progressMode = options.progress === "auto" ? (io.stderr.isTTY ? "tty" : "json") : options.progress;

    const sink = createS3Sink(
      createS3Client(
        { endpoint: options.s3Endpoint, region: options.region, checksums: options.checksums },
        io.env,
      ),
    );
    const source = await connectFtpSource({
      ...location,
      password,
      ...(ca === undefined ? {} : { ca }),
      timeoutMs: options.timeout * 1000,
      ...(options.verbose ? { log: (line: string) => io.stderr.write(`${line.trimEnd()}\n`) } : {}),
    });
    try {
      const result = await copyFile(
        source,
        sink,
        {
          path: location.path,
          target,
          ifExists: options.overwrite ? "replace" : options.skipUnchanged ? "skip-unchanged" : "fail",
        },
        {
          ...(options.partSize === undefined ? {} : { partSize: options.partSize }),
          queueSize: options.queueSize,
          progressIntervalMs: progressMode === "tty" ? 250 : 1000,
          tagWithSha256: options.tag,
          ...(io.signal === undefined ? {} : { signal: io.signal }),
          onProgress: progressPrinter(progressMode, io.stderr),
          onWarning: (message, details) => fail(`warning: ${message} ${JSON.stringify(details)}`),
        },
      );
      io.stdout.write(`${JSON.stringify(result)}\n`);
      return EXIT_OK;
    } finally {
      source.close();
    }
  } catch (error) {
    if (error instanceof Ftp2s3Error) {
      fail(`${error.code}: ${error.message}`);
      if (error.code === "ABORTED" && io.signal?.aborted) return EXIT_INTERRUPTED;
      return error.code === "INVALID_INPUT" ? EXIT_USAGE : EXIT_FAILED;
    }
    const detail = io.env.FTP2S3_DEBUG ? String((error as Error)?.stack ?? error) : String(error);
    fail(
      `unexpected error: ${detail}${io.env.FTP2S3_DEBUG ? "" : " (set FTP2S3_DEBUG=1 for a stack trace)"}`,
    );
    return EXIT_FAILED;
  }
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
  return Math.round(n * 2 ** 20);
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of 1 or more");
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number greater than 0");
  return n;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
