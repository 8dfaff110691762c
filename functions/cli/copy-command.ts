import { resolve } from "node:path";
import type { ResumePoint } from "../core/index.js";
import {
  assertRemoteFilePath,
  type CopyOutcome,
  type CopyRequest,
  copyFile,
  formatFtpUrl,
  formatS3Url,
  InvalidInputError,
  msOfSeconds,
  parseFtpUrl,
  parseS3Url,
  RestartRefusedError,
  resolveKey,
  type SuspendedResult,
} from "../core/index.js";
import {
  type CliIo,
  type CommonOptions,
  EXIT_OK,
  EXIT_SUSPENDED,
  reportFailure,
  type Setup,
  setUp,
  stoppedBy,
} from "./common.js";
import { progressPrinter } from "./progress-view.js";
import { abortCommand, resumeCommand } from "./resume-hint.js";
import {
  loadState,
  type ResumeSettings,
  removeState,
  resumeSettingOptions,
  saveState,
  stateDirectory,
} from "./resume-state.js";

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
export async function copyCommand(
  ftpUrl: string,
  s3Url: string,
  options: CopyCommandOptions,
  io: CliIo,
  /** The options as given on the command line (see givenOptions): the stopped copy's hint repeats them. */
  given: readonly string[] = [],
) {
  let setup: Setup | undefined;
  let leftOpen: string | undefined;
  try {
    // Everything local comes first: an exit 2 means that no server was contacted.
    const location = parseFtpUrl(ftpUrl, { implicitTls: options.implicitTls });
    assertRemoteFilePath(location.path);
    const s3 = parseS3Url(s3Url);
    const target = { bucket: s3.bucket, key: resolveKey(s3.key, location.path) };
    if (options.overwrite && options.skipUnchanged) {
      throw new InvalidInputError("--overwrite and --skip-unchanged exclude each other");
    }
    const resumable = options.resumable || options.stopAfter !== undefined || options.resume !== undefined;
    const stateDir = options.stateDir ?? stateDirectory(io.env);
    const names = { source: formatFtpUrl(location, location.path), target: formatS3Url(target) };
    const state = options.resume === undefined ? undefined : await loadState(stateDir, options.resume, names);
    const effective = withStoredSettings(options, state?.settings, given);
    setup = await setUp(location, effective, io);
    const resumeFrom = state?.resumeAt;
    const request: CopyRequest = {
      path: location.path,
      target,
      ifExists: options.overwrite ? "replace" : options.skipUnchanged ? "skip-unchanged" : "fail",
      ...(resumeFrom === undefined ? {} : { resumeFrom }),
    };
    await setup.checkBucket(target.bucket);
    // Ctrl-C ends the session at once, unless it is to suspend the copy (--resumable).
    const source = await setup.connect(resumable ? undefined : io.signal);
    const stop = resumable ? stopSignals(options, io) : undefined;
    const warn = setup.warn;
    const endpoint = setup.endpoint;
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
        ...(effective.partSize === undefined ? {} : { partSize: effective.partSize }),
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
        onWarning: (message, details) => {
          const uploadId = abortFailure(message, details);
          if (uploadId === undefined) return warn(message, details);
          leftOpen = uploadId;
          io.stderr.write(
            `ftp2s3: warning: could not abort the multipart upload ${uploadId} of ${names.target} (${String(details.reason)}): its parts stay stored until the bucket's lifecycle rule removes them; remove them now with: ${abortCommand(target, uploadId, endpoint)}\n`,
          );
        },
      });
      const settings = storedSettings(effective, endpoint);
      return await report(
        outcome,
        { names, stateDir, previous: resumeFrom, ftpUrl, s3Url, given, settings },
        io,
      );
    } catch (error) {
      if (resumeFrom !== undefined) await removeState(stateDir, resumeFrom.uploadId);
      throw error;
    } finally {
      stop?.clear();
      source.close();
    }
  } catch (error) {
    const outcome =
      leftOpen === undefined ? undefined : `the upload ${leftOpen} could not be aborted (see above)`;
    return reportFailure(error, io, outcome);
  } finally {
    setup?.close();
  }
}

/** The upload id of a warning that an abort failed (from the copy or from an earlier leg's cleanup). */
function abortFailure(message: string, details: Record<string, unknown>): string | undefined {
  return message.startsWith("could not abort") && typeof details.uploadId === "string"
    ? details.uploadId
    : undefined;
}

/** The stored settings fill in what the resuming command line does not give: the upload lives there. */
function withStoredSettings(
  options: CopyCommandOptions,
  stored: ResumeSettings | undefined,
  given: readonly string[],
): CopyCommandOptions {
  if (stored === undefined) return options;
  const merged: CopyCommandOptions = { ...options };
  for (const [field, flag] of Object.entries(resumeSettingOptions) as [keyof ResumeSettings, string][]) {
    const value = stored[field];
    if (value !== undefined && !given.includes(flag)) Object.assign(merged, { [field]: value });
  }
  return merged;
}

function storedSettings(options: CopyCommandOptions, endpoint: string | undefined): ResumeSettings {
  const settings: ResumeSettings = {};
  if (endpoint !== undefined) settings.s3Endpoint = endpoint;
  if (options.region !== undefined) settings.region = options.region;
  if (options.checksums !== undefined) settings.checksums = options.checksums;
  if (options.caFile !== undefined) settings.caFile = resolve(options.caFile);
  if (options.passwordFile !== undefined) settings.passwordFile = resolve(options.passwordFile);
  return settings;
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
    given: readonly string[];
    settings: ResumeSettings;
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
  context: {
    names: { source: string; target: string };
    stateDir: string;
    ftpUrl: string;
    s3Url: string;
    given: readonly string[];
    settings: ResumeSettings;
  },
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
    settings: context.settings,
  });
  const { hashState: _internal, ...shown } = resumeAt;
  io.stdout.write(
    `${JSON.stringify({ ...outcome, resumeAt: shown, uploadId: resumeAt.uploadId, stateFile })}\n`,
  );
  io.stderr.write(
    `ftp2s3: stopped at byte ${resumeAt.offset} of ${resumeAt.size}; go on with: ${resumeCommand(context.ftpUrl, context.s3Url, context.given, resumeAt.uploadId)}\n`,
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
      : setTimeout(() => suspend.abort("stop-after"), msOfSeconds(options.stopAfter));
  return {
    suspend: suspend.signal,
    clear: () => {
      clearTimeout(timer);
      io.signal?.removeEventListener("abort", onInterrupt);
    },
  };
}
