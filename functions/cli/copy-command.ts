import { InvalidInputError, RestartRefusedError } from "../core/errors.js";
import { assertRemoteFilePath, formatS3Url, parseFtpUrl, parseS3Url, resolveKey } from "../core/locations.js";
import type { ResumePoint } from "../core/resume.js";
import { type CopyOutcome, type CopyRequest, copyFile, type SuspendedResult } from "../core/transfer.js";
import {
  type CliIo,
  type CommonOptions,
  EXIT_OK,
  EXIT_SUSPENDED,
  reportFailure,
  setUp,
  stoppedBy,
} from "./common.js";
import { progressPrinter } from "./progress-view.js";
import { loadState, removeState, saveState, stateDirectory } from "./resume-state.js";

export interface CopyCommandOptions extends CommonOptions {
  overwrite: boolean;
  skipUnchanged: boolean;
  /** Ctrl-C stops at a part boundary and keeps the upload for --resume, instead of aborting. */
  resumable: boolean;
  /** Seconds after which the copy stops as Ctrl-C does with --resumable. */
  stopAfter?: number;
  /** Go on with the copy that suspended with this upload id. */
  resume?: string;
  stateDir?: string;
}

/** ftp2s3 <ftp-url> <s3-url>: one file into one object, committed only when the server confirmed it. */
export async function copyCommand(ftpUrl: string, s3Url: string, options: CopyCommandOptions, io: CliIo) {
  try {
    const location = parseFtpUrl(ftpUrl, { implicitTls: options.implicitTls });
    assertRemoteFilePath(location.path);
    const s3 = parseS3Url(s3Url);
    const target = { bucket: s3.bucket, key: resolveKey(s3.key, location.path) };
    if (options.overwrite && options.skipUnchanged) {
      throw new InvalidInputError("--overwrite and --skip-unchanged exclude each other");
    }
    const resumable = options.resumable || options.stopAfter !== undefined || options.resume !== undefined;
    const stateDir = options.stateDir ?? stateDirectory(io.env);
    const setup = await setUp(location, options, io);
    // Ctrl-C ends the session at once, unless it is to suspend the copy (--resumable).
    const source = await setup.connect(resumable ? undefined : io.signal);
    const names = { source: source.urlOf(location.path), target: formatS3Url(target) };
    const resumeFrom =
      options.resume === undefined ? undefined : await loadState(stateDir, options.resume, names);
    const request: CopyRequest = {
      path: location.path,
      target,
      ifExists: options.overwrite ? "replace" : options.skipUnchanged ? "skip-unchanged" : "fail",
      ...(resumeFrom === undefined ? {} : { resumeFrom }),
    };
    const stop = resumable ? stopSignals(options, io) : undefined;
    try {
      if (resumable && resumeFrom === undefined) {
        // A copy that may stop must be able to go on: that takes SIZE and MDTM. Ask now, not at Ctrl-C.
        const known = await source.stat(location.path);
        if (known.size === null || known.modifiedAt === null) {
          throw new InvalidInputError(
            `${names.source} cannot be resumed: the server gave no ${known.size === null ? "SIZE" : "MDTM"} (run without --resumable, --stop-after)`,
          );
        }
        request.known = known;
      }
      const outcome = await copyFile(source, setup.sink, request, {
        ...(options.partSize === undefined ? {} : { partSize: options.partSize }),
        queueSize: options.queueSize,
        memoryBudget: options.maxMemory,
        progressIntervalMs: setup.progressMode === "tty" ? 250 : 1000,
        tagWithSha256: options.tag,
        // With --resumable, Ctrl-C suspends; without, it aborts (nothing stored, upload aborted).
        ...(stop !== undefined
          ? { suspendSignal: stop.suspend }
          : io.signal === undefined
            ? {}
            : { signal: io.signal }),
        onProgress: progressPrinter(setup.progressMode, io.stderr),
        onWarning: setup.warn,
      });
      return await report(outcome, { names, stateDir, previous: resumeFrom, ftpUrl, s3Url }, io);
    } catch (error) {
      if (resumeFrom !== undefined) await removeState(stateDir, resumeFrom.uploadId);
      throw error;
    } finally {
      stop?.clear();
      source.close();
    }
  } catch (error) {
    return reportFailure(error, io);
  }
}

/** Prints the outcome; for a suspended copy, saves the state --resume needs and says how to go on. */
async function report(
  outcome: CopyOutcome,
  context: {
    names: { source: string; target: string };
    stateDir: string;
    previous: ResumePoint | undefined;
    ftpUrl: string;
    s3Url: string;
  },
  io: CliIo,
): Promise<number> {
  const { previous, stateDir } = context;
  const kept = outcome.status === "suspended" ? outcome.resumeAt?.uploadId : undefined;
  if (previous !== undefined && kept !== previous.uploadId) {
    await removeState(stateDir, previous.uploadId);
  }
  if (outcome.status !== "suspended") {
    io.stdout.write(`${JSON.stringify(outcome)}\n`);
    return EXIT_OK;
  }
  return reportSuspended(outcome, context, io);
}

async function reportSuspended(
  outcome: SuspendedResult,
  context: { names: { source: string; target: string }; stateDir: string; ftpUrl: string; s3Url: string },
  io: CliIo,
): Promise<number> {
  if (outcome.reason === "no-restart") {
    throw new RestartRefusedError(
      `${context.names.source}: the server refused to go on from where the copy stopped (REST); the upload was aborted: run the copy again from the start`,
    );
  }
  const { resumeAt } = outcome;
  if (resumeAt === null) {
    io.stdout.write(`${JSON.stringify({ ...outcome, uploadId: null })}\n`);
    io.stderr.write(
      "ftp2s3: stopped before a whole part was uploaded: nothing to resume; run the copy again\n",
    );
    return EXIT_SUSPENDED;
  }
  const stateFile = await saveState(context.stateDir, {
    version: 1,
    source: context.names.source,
    target: context.names.target,
    resumeAt,
  });
  const { hashState: _internal, ...shown } = resumeAt;
  io.stdout.write(
    `${JSON.stringify({ ...outcome, resumeAt: shown, uploadId: resumeAt.uploadId, stateFile })}\n`,
  );
  io.stderr.write(
    `ftp2s3: stopped at byte ${resumeAt.offset} of ${resumeAt.size}; go on with: ftp2s3 copy ${quote(context.ftpUrl)} ${quote(context.s3Url)} --resume ${resumeAt.uploadId}\n`,
  );
  return EXIT_SUSPENDED;
}

/** The first Ctrl-C or SIGTERM, or --stop-after, asks the copy to stop at a part boundary. */
function stopSignals(options: CopyCommandOptions, io: CliIo): { suspend: AbortSignal; clear: () => void } {
  const suspend = new AbortController();
  const onInterrupt = () => {
    const by = stoppedBy(io.signal)?.signalName;
    io.stderr.write(
      by === "SIGTERM"
        ? "ftp2s3: SIGTERM: stopping at the next part boundary (a second signal quits at once)\n"
        : "ftp2s3: stopping at the next part boundary (Ctrl-C again quits at once)\n",
    );
    suspend.abort("interrupted");
  };
  io.signal?.addEventListener("abort", onInterrupt, { once: true });
  const timer =
    options.stopAfter === undefined
      ? undefined
      : setTimeout(() => suspend.abort("stop-after"), options.stopAfter * 1000);
  return {
    suspend: suspend.signal,
    clear: () => {
      clearTimeout(timer);
      io.signal?.removeEventListener("abort", onInterrupt);
    },
  };
}

/** A URL as a shell reads it back: quoted when it holds anything but the safe characters. */
function quote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
