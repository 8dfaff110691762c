import { FilePacer, pacedSource } from "../app/file-pacer.js";
import {
  type MirrorDirectorySettings,
  type MirrorObserver,
  mirrorDirectory,
  readinessOf,
  resolveMirror,
} from "../app/mirror-directory.js";
import {
  type AfterCopyAsWritten,
  assertValidKey,
  checkAfterCopy,
  DEFAULT_STATE_ROOT,
  DeleteLimitError,
  doneMarkerProblem,
  EmptySourceError,
  InvalidInputError,
  type MirrorSummary,
  normaliseRemotePath,
  parseFtpUrl,
  parseS3Url,
} from "../core/index.js";
import {
  type CliIo,
  type CommonOptions,
  copyOptionsOf,
  EXIT_FAILED,
  EXIT_INTERRUPTED,
  EXIT_OK,
  reportFailure,
  type Setup,
  setUp,
  stopStatus,
} from "./common.js";
import { formatBytes } from "./progress-view.js";

export interface MirrorCommandOptions extends CommonOptions {
  include: string[];
  exclude: string[];
  recursive: boolean;
  concurrency: number;
  /** Milliseconds between the starts of two files, over all sessions; 0: no pause. */
  minInterval: number;
  delete: boolean;
  dryRun: boolean;
  /** Most objects one run may delete; undefined: the default cap. */
  maxDelete?: number;
  allowEmptySource: boolean;
  /** A key in the target bucket, or s3://bucket/key. */
  stateKey?: string;
  maxDepth?: number;
  maxEntries?: number;
  /** Seconds; see the mirror job's fields of the same names. */
  minAge?: number;
  stableFor?: number;
  doneMarker?: string;
  /** What becomes of each source file once its object is committed; default keep. */
  afterCopy?: AfterCopyAsWritten;
}

/**
 * ftp2s3 mirror <ftp-url-dir> <s3-url-prefix>: every file below the directory to the same relative
 * key below the prefix, skipping files stored unchanged. Exit 1 when any file failed, a directory
 * could not be listed, or deletion was refused; 130 when interrupted.
 */
export async function mirrorCommand(ftpUrl: string, s3Url: string, options: MirrorCommandOptions, io: CliIo) {
  let setup: Setup | undefined;
  try {
    if (!options.delete && (options.maxDelete !== undefined || options.allowEmptySource)) {
      // Said at once: a cap the user believes in, silently ignored, would be worse than none.
      throw new InvalidInputError("--max-delete and --allow-empty-source apply only with --delete");
    }
    const markerProblem =
      options.doneMarker === undefined ? undefined : doneMarkerProblem(options.doneMarker);
    if (markerProblem !== undefined) throw new InvalidInputError(`--done-marker: ${markerProblem}`);
    const location = parseFtpUrl(ftpUrl, { implicitTls: options.implicitTls });
    const remoteDir = normaliseRemotePath(location.path);
    const s3 = parseS3Url(s3Url);
    const keyPrefix = s3.key === "" || s3.key.endsWith("/") ? s3.key : `${s3.key}/`;
    if (keyPrefix.startsWith("/"))
      throw new InvalidInputError(`the S3 prefix ${JSON.stringify(keyPrefix)} starts with "/"`);
    const mirror = resolveMirror({
      bucket: s3.bucket,
      remoteDir,
      keyPrefix,
      state: stateOf(options.stateKey, s3.bucket),
      include: options.include,
      exclude: options.exclude,
      recursive: options.recursive,
      readiness: readinessOf(options),
      deleteExtraneous: options.delete,
      deleteRules: { allowEmptySource: options.allowEmptySource, maxDelete: options.maxDelete },
      dryRun: options.dryRun,
      limits: { maxDepth: options.maxDepth, maxEntries: options.maxEntries },
      copy: copyOptionsOf(options, location.host),
      concurrency: options.concurrency,
      signal: io.signal,
      afterCopy: checkAfterCopy(options.afterCopy ?? "keep", {
        sourceDir: remoteDir,
        recursive: options.recursive,
      }),
    });
    setup = await setUp(location, options, io);
    // The command's sessions are its own: --concurrency caps them, with no budget shared between
    // processes (the Lambda's maxSessions is).
    const pacer = options.minInterval > 0 ? new FilePacer(options.minInterval) : undefined;
    const connect = setup.connect;
    const summary = await mirrorDirectory(mirror, {
      openSource: pacer === undefined ? connect : async () => pacedSource(await connect(), pacer),
      sink: setup.sink,
      observer: mirrorPrinter(setup, s3.bucket, io),
    });
    const { skippedEntries: _skipped, ...result } = summary;
    io.stdout.write(`${JSON.stringify(result)}\n`);
    return exitStatus(summary, io);
  } catch (error) {
    return reportFailure(error, io);
  } finally {
    // Every exit path ends the S3 client's sockets: the process ends with its last line.
    setup?.close();
  }
}

/** The state object: the one named (a key in the bucket, or an s3:// URL), else one per prefix. */
function stateOf(given: string | undefined, bucket: string): MirrorDirectorySettings["state"] {
  if (given === undefined) return { root: DEFAULT_STATE_ROOT };
  if (given.startsWith("s3://")) {
    const url = parseS3Url(given);
    if (url.key === "" || url.key.endsWith("/"))
      throw new InvalidInputError(`--state-key ${given} names no object (it ends with "/")`);
    assertValidKey(url.key);
    return { object: url };
  }
  if (given === "" || given.startsWith("/") || given.endsWith("/"))
    throw new InvalidInputError(`--state-key ${JSON.stringify(given)} is not an object key`);
  assertValidKey(given);
  return { object: { bucket, key: given } };
}

function exitStatus(summary: MirrorSummary, io: CliIo): number {
  const recorded = `${summary.copied} files copied and recorded (a rerun skips them), nothing deleted`;
  const stopped = stopStatus(io, recorded);
  if (stopped !== undefined) return stopped;
  if (io.signal?.aborted) {
    io.stderr.write(`ftp2s3: interrupted: ${recorded}\n`);
    return EXIT_INTERRUPTED;
  }
  const refused = summary.deleteRefused;
  if (refused !== undefined) {
    const error =
      refused.reason === "DELETE_LIMIT"
        ? new DeleteLimitError(refused.message)
        : new EmptySourceError(refused.message);
    io.stderr.write(`ftp2s3: ${error.code}: ${error.message}\n`);
    return EXIT_FAILED;
  }
  if (summary.listingFailures.length > 0) {
    io.stderr.write(
      `ftp2s3: ${summary.listingFailures.length} directories not seen in full (nothing below them was deleted): ${summary.listingFailures
        .slice(0, 3)
        .map((f) => `${f.dir} (${f.code})`)
        .join(", ")}\n`,
    );
  }
  if (summary.changed.length > 0) {
    io.stderr.write(
      `ftp2s3: ${summary.changed.length} files changed while they were copied (left for the next run): ${summary.changed
        .slice(0, 3)
        .map((f) => f.path)
        .join(", ")}\n`,
    );
  }
  return summary.failed.length > 0 ? EXIT_FAILED : EXIT_OK;
}

/** Each file as --progress asks; a deletion is no progress report: it is logged whatever --progress says. */
function mirrorPrinter(setup: Setup, bucket: string, io: CliIo): MirrorObserver {
  return {
    onFile: filePrinter(setup.progressMode, io),
    onWarning: setup.warn,
    onDelete: (key) =>
      io.stderr.write(
        setup.progressMode === "json"
          ? `${JSON.stringify({ event: "deleted", bucket, key })}\n`
          : `deleted s3://${bucket}/${key}\n`,
      ),
  };
}

function filePrinter(mode: string, io: CliIo): MirrorObserver["onFile"] {
  if (mode === "none") return () => {};
  if (mode === "json") return (event) => io.stderr.write(`${JSON.stringify({ event: "file", ...event })}\n`);
  return (event) => {
    const what = event.outcome === "copied" ? `copied (${formatBytes(event.bytes)})` : event.outcome;
    const why = event.error ? `: ${event.error.code}: ${event.error.message}` : "";
    io.stderr.write(`${event.path} -> ${event.key}: ${what}${why}\n`);
  };
}
