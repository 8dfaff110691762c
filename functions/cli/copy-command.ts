import { resolve } from "node:path";
import { type CopiedLeg, type CopyOneFileSettings, copyOneFile } from "../app/copy-one-file.js";
import {
  type AfterCopy,
  type AfterCopyAsWritten,
  type CopyRequest,
  checkAfterCopy,
  type FileSource,
  type FtpLocation,
  formatFtpUrl,
  formatS3Url,
  InvalidInputError,
  msOfSeconds,
  parentOf,
  parseFtpUrl,
  parseS3Url,
  remoteFilePath,
  resolveKey,
  type S3Location,
} from "../core/index.js";
import {
  type CliIo,
  type CommonOptions,
  copyOptionsOf,
  EXIT_OK,
  EXIT_SUSPENDED,
  reportFailure,
  type Setup,
  setUp,
  stoppedBy,
} from "./common.js";
import { progressPrinter } from "./progress-view.js";
import { abortCommand, resumeCommand } from "./resume-hint.js";
import { loadState, type ResumeSettings, resumeSettingOptions, stateFileStore } from "./resume-state.js";
import { stateDirectory } from "./state-directory.js";

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
  /** What becomes of the source file once the object is committed; default keep. */
  afterCopy?: AfterCopyAsWritten;
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
  const warnings = abortWarnings(io);
  try {
    // Everything local comes first: an exit 2 means that no server was contacted.
    const plan = await planCopy(ftpUrl, s3Url, options, io, given);
    setup = await setUp(plan.location, plan.effective, io);
    // Ctrl-C ends the session at once, unless it is to suspend the copy (--resumable).
    const openSource = await sessionOnceBucketChecked(setup, plan, plan.resumable ? undefined : io.signal);
    const stop = plan.resumable ? stopSignals(options, io) : undefined;
    try {
      const leg = await copyOneFile(copySettings(plan, setup, stop, io), {
        openSource,
        sink: setup.sink,
        ...(plan.resumable
          ? {
              store: stateFileStore(plan.stateDir, {
                ...plan.names,
                settings: storedSettings(plan.effective, setup.endpoint),
              }),
            }
          : {}),
        observer: {
          onProgress: progressPrinter(setup.progressMode, io.stderr),
          onWarning: warnings.handler(plan.request.target, setup),
          ...(stop === undefined ? {} : { onConnected: stop.arm }),
        },
      });
      return present(leg, { ftpUrl, s3Url, given }, io);
    } finally {
      stop?.clear();
    }
  } catch (error) {
    const leftOpen = warnings.leftOpen();
    const outcome =
      leftOpen === undefined ? undefined : `the upload ${leftOpen} could not be aborted (see above)`;
    return reportFailure(error, io, outcome);
  } finally {
    setup?.close();
  }
}

/**
 * The FTP session, opened while S3 is asked whether the bucket exists: the two handshakes (TCP, TLS,
 * login) overlap instead of following each other, a few round trips less before the first byte on a
 * WAN. A missing bucket still fails before any file command, at once: the session being opened is
 * stopped (or closed unused), so an unreachable FTP server does not hold the answer up. The session's
 * own failure is left to copyOneFile (the opener given back rejects with it), which handles a leg
 * that cannot connect.
 */
async function sessionOnceBucketChecked(
  setup: Setup,
  plan: CopyPlan,
  signal: AbortSignal | undefined,
): Promise<() => Promise<FileSource>> {
  const bucketMissing = new AbortController();
  const opening = setup.connect(
    signal === undefined ? bucketMissing.signal : AbortSignal.any([signal, bucketMissing.signal]),
  );
  // Its failure is copyOneFile's to report; meanwhile it must not count as unhandled.
  opening.catch(() => {});
  try {
    await setup.checkBucket(plan.request.target.bucket);
  } catch (error) {
    bucketMissing.abort();
    opening.then((session) => session.close()).catch(() => {});
    throw error;
  }
  return () => opening;
}

/** The copy as the command line and a saved state ask for it, read before anything is contacted. */
interface CopyPlan {
  location: FtpLocation;
  request: CopyRequest;
  names: { source: string; target: string };
  stateDir: string;
  afterCopy: AfterCopy;
  /** The options, with what the state of a resumed copy fills in. */
  effective: CopyCommandOptions;
  resumable: boolean;
}

async function planCopy(
  ftpUrl: string,
  s3Url: string,
  options: CopyCommandOptions,
  io: CliIo,
  given: readonly string[],
): Promise<CopyPlan> {
  const location = parseFtpUrl(ftpUrl, { implicitTls: options.implicitTls });
  const path = remoteFilePath(location.path);
  const s3 = parseS3Url(s3Url);
  const target = { bucket: s3.bucket, key: resolveKey(s3.key, location.path) };
  if (options.overwrite && options.skipUnchanged) {
    throw new InvalidInputError("--overwrite and --skip-unchanged exclude each other");
  }
  const afterCopy = checkAfterCopy(options.afterCopy ?? "keep", {
    sourceDir: parentOf(path),
    recursive: false,
  });
  const resumable = options.resumable || options.stopAfter !== undefined || options.resume !== undefined;
  const stateDir = options.stateDir ?? stateDirectory(io.env);
  const names = { source: formatFtpUrl(location, location.path), target: formatS3Url(target) };
  const state = options.resume === undefined ? undefined : await loadState(stateDir, options.resume, names);
  const resumeFrom = state?.resumeAt;
  const request: CopyRequest = {
    path,
    target,
    ifExists: options.overwrite ? "replace" : options.skipUnchanged ? "skip-unchanged" : "fail",
    ...(resumeFrom === undefined ? {} : { resumeFrom }),
  };
  const effective = withStoredSettings(options, state?.settings, given);
  return { location, request, names, stateDir, afterCopy, effective, resumable };
}

/** With --resumable, Ctrl-C suspends; without, it aborts (nothing stored, upload aborted). */
function copySettings(
  plan: CopyPlan,
  setup: Setup,
  stop: StopSignals | undefined,
  io: CliIo,
): CopyOneFileSettings {
  const { effective: options, names } = plan;
  return {
    request: plan.request,
    afterCopy: plan.afterCopy,
    copy: {
      ...copyOptionsOf(options, plan.location.host),
      progressIntervalMs: setup.progressMode === "tty" ? 250 : 1000,
      ...(stop !== undefined || io.signal === undefined ? {} : { signal: io.signal }),
    },
    ...(stop === undefined
      ? {}
      : {
          suspendSignal: stop.suspend,
          checkResumable: (known) => {
            if (known.size === null || known.modifiedAt === null) {
              throw new InvalidInputError(
                `${names.source} cannot be resumed: the server gave no ${known.size === null ? "SIZE" : "MDTM"} (run without --resumable, --stop-after)`,
              );
            }
          },
        }),
  };
}

/**
 * Warnings go to stderr; one that an abort failed says how to remove the upload by hand, and the
 * failure's last line then says the upload was left open.
 */
function abortWarnings(io: CliIo) {
  let leftOpen: string | undefined;
  return {
    leftOpen: () => leftOpen,
    handler:
      (target: S3Location, setup: Setup) =>
      (message: string, details: Record<string, unknown>): void => {
        const uploadId = abortFailure(message, details);
        if (uploadId === undefined) {
          setup.warn(message, details);
          return;
        }
        leftOpen = uploadId;
        io.stderr.write(
          `ftp2s3: warning: could not abort the multipart upload ${uploadId} of ${formatS3Url(target)} (${String(details.reason)}): its parts stay stored until the bucket's lifecycle rule removes them; remove them now with: ${abortCommand(target, uploadId, setup.endpoint)}\n`,
        );
      },
  };
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

/** Prints the outcome; for a suspended copy, where its state was saved and how to go on. */
function present(
  leg: CopiedLeg<string | undefined>,
  hint: { ftpUrl: string; s3Url: string; given: readonly string[] },
  io: CliIo,
): number {
  const { outcome, receipt: stateFile, afterCopy } = leg;
  if (outcome.status !== "suspended") {
    // A source action that failed was a warning on stderr: the object stands, the exit status is 0.
    io.stdout.write(`${JSON.stringify(afterCopy === undefined ? outcome : { ...outcome, afterCopy })}\n`);
    return EXIT_OK;
  }
  const { resumeAt } = outcome;
  if (resumeAt === null) {
    io.stdout.write(`${JSON.stringify({ ...outcome, uploadId: null })}\n`);
    io.stderr.write(
      "ftp2s3: stopped before a whole part was uploaded: nothing to resume; run the copy again\n",
    );
    return EXIT_SUSPENDED;
  }
  const { hashState: _sha256State, crcState: _crcState, ...shown } = resumeAt;
  io.stdout.write(
    `${JSON.stringify({ ...outcome, resumeAt: shown, uploadId: resumeAt.uploadId, stateFile })}\n`,
  );
  io.stderr.write(
    `ftp2s3: stopped at byte ${resumeAt.offset} of ${resumeAt.size}; go on with: ${resumeCommand(hint.ftpUrl, hint.s3Url, hint.given, resumeAt.uploadId)}\n`,
  );
  return EXIT_SUSPENDED;
}

interface StopSignals {
  suspend: AbortSignal;
  /** Starts listening (and --stop-after's clock) once the session is open. */
  arm: () => void;
  clear: () => void;
}

/** The first Ctrl-C or SIGTERM, or --stop-after, asks the copy to stop at a part boundary. */
function stopSignals(options: CopyCommandOptions, io: CliIo): StopSignals {
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
  let timer: NodeJS.Timeout | undefined;
  return {
    suspend: suspend.signal,
    arm: () => {
      io.signal?.addEventListener("abort", onInterrupt, { once: true });
      if (options.stopAfter !== undefined) {
        timer = setTimeout(() => suspend.abort("stop-after"), msOfSeconds(options.stopAfter));
      }
    },
    clear: () => {
      clearTimeout(timer);
      io.signal?.removeEventListener("abort", onInterrupt);
    },
  };
}
