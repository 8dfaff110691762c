import {
  abortReason,
  Ftp2s3Error,
  FtpReplyError,
  ObjectExistsError,
  RestartRefusedError,
  S3Error,
  SizeMismatchError,
  TransferAbortedError,
  untilAborted,
} from "./errors.js";
import { Intake } from "./intake.js";
import { assertRemoteFilePath, assertValidKey, formatS3Url, type S3Location } from "./locations.js";
import { choosePartSize, DEFAULT_MEMORY_BUDGET, fitPartsToMemory, type PartPlan } from "./part-size.js";
import { type CommittedUpload, PartUpload } from "./part-upload.js";
import type { ExistingObject, FileSource, FtpReply, ObjectSink, RemoteFileInfo } from "./ports.js";
import { ProgressReporter, type ProgressSnapshot } from "./progress.js";
import { abandonUpload, type ResumePoint, recoverUpload } from "./resume.js";
import { fastSha256, type RunningHash, resumableSha256 } from "./sha256.js";

/**
 * What to do when the key already holds an object: refuse ("fail"), replace it ("replace"), or
 * leave it when it records the same source, size and modification time ("skip-unchanged"; without
 * SIZE and MDTM from the server nothing can be proven unchanged, so the file is copied again).
 * "fail-unless-unchanged" is "fail" for a message that may arrive twice: this very version at the
 * key is a duplicate delivery (unchanged), any other object is refused.
 *
 * Whenever the copy writes a key it believes absent (HEAD found nothing, or "create"), the write is
 * conditional: a writer that got there first wins. Its object is then compared: this very version
 * counts as unchanged; another version is left in place and the copy fails with ObjectExistsError.
 */
export type IfExists = "fail" | "fail-unless-unchanged" | "replace" | "skip-unchanged";

/**
 * IfExists, or "create" for a key the caller has just listed as absent (a mirror): no HEAD, and the
 * write is conditional. Not for queued requests: a message may wait long after any listing.
 */
export type CopyIfExists = IfExists | "create";

export interface CopyRequest {
  /** Absolute path of the remote file. */
  path: string;
  target: S3Location;
  ifExists: CopyIfExists;
  /** Size and time already known (from a directory listing): no SIZE and MDTM are sent. */
  known?: RemoteFileInfo;
  /**
   * Go on with a copy an earlier leg suspended: the source is checked unchanged, the parts S3 holds
   * are listed, and the server is asked for the rest (REST). When the source changed or the upload is
   * gone, the copy starts over from byte 0 (with a warning).
   */
  resumeFrom?: ResumePoint;
}

export interface CopyOptions {
  /** Preferred part size in bytes; grown when the file needs it (see choosePartSize). */
  partSize?: number;
  /** Parts uploaded in parallel, when the memory budget allows. */
  queueSize: number;
  /**
   * Bytes this copy's part buffers may take. The part size comes from the file's size; the queue
   * shrinks to fit, and a file whose one part does not fit is refused before it is read.
   */
  memoryBudget: number;
  /** Minimum milliseconds between two progress reports. */
  progressIntervalMs: number;
  /** Tag the object with the SHA-256 of its bytes after it is committed (needs s3:PutObjectTagging). */
  tagWithSha256: boolean;
  /** Cancels the copy; its reason (a TransferTimeoutError for a deadline) becomes the error. */
  signal?: AbortSignal;
  /**
   * Makes the copy resumable: when this fires, the copy stops at a part boundary and resolves with a
   * "suspended" outcome whose `resumeAt` another leg (another process) goes on from. Needs SIZE and
   * MDTM from the server (to tell an unchanged source on resuming); without them it is ignored.
   * Its abort reason, when a SuspendReason, is the outcome's reason ("deadline" otherwise).
   */
  suspendSignal?: AbortSignal;
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /**
   * Called once the file is read and confirmed, before the upload is committed: from then on the
   * copy no longer uses the FTP session, which may start on the next file.
   */
  onDownloaded?: () => void;
  /**
   * Called once a copy is decided (the key holds no object of this version), before anything is
   * read or an upload created: throwing stops the copy there, with that error and nothing to undo.
   */
  onCopyDecided?: (info: RemoteFileInfo) => void;
  /** Problems that do not fail the copy: an abort S3 refused, a tag not written. */
  onWarning?: (message: string, details: Record<string, unknown>) => void;
  /** Milliseconds clock, injected in tests. */
  now?: () => number;
}

export const defaultCopyOptions: CopyOptions = {
  queueSize: 4,
  memoryBudget: DEFAULT_MEMORY_BUDGET,
  progressIntervalMs: 5_000,
  tagWithSha256: true,
};

export interface CopyResult {
  status: "copied";
  bucket: string;
  key: string;
  bytes: number;
  etag: string;
  versionId?: string;
  sha256: string;
  durationMs: number;
  ftpReply: FtpReply;
  source: { url: string; size: number | null; modifiedAt: string | null };
  /** "matched" when the byte count equals the server's SIZE; "skipped" when the server gave none. */
  sizeCheck: "matched" | "skipped";
  partSize: number;
  /** Whether the SHA-256 tag was written (false when disabled or refused). */
  tagged: boolean;
  /** For the last leg of a resumed copy: the offset this leg started from. */
  resumedFrom?: number;
}

/** The key already held this very version of the file: nothing was read or written. */
export interface UnchangedResult {
  status: "unchanged";
  bucket: string;
  key: string;
  bytes: number;
  etag: string;
  durationMs: number;
  source: { url: string; size: number; modifiedAt: string };
}

/**
 * Why a copy suspended on purpose, the suspend signal's reason: "deadline" (the Lambda's time is
 * nearly up, and the default), "interrupted" (the command's Ctrl-C or SIGTERM), "stop-after" (its
 * --stop-after).
 */
export type SuspendReason = "deadline" | "interrupted" | "stop-after";
const suspendReasons: readonly unknown[] = [
  "deadline",
  "interrupted",
  "stop-after",
] satisfies SuspendReason[];

/** The copy stopped before the end, on purpose: another leg goes on from `resumeAt`. */
export interface SuspendedResult {
  status: "suspended";
  bucket: string;
  key: string;
  /** Why the suspend signal fired (see SuspendReason); "no-restart": the server refused REST, so go on from byte 0. */
  reason: SuspendReason | "no-restart";
  /** Where the next leg goes on, or null when it starts from byte 0 (nothing is left open then). */
  resumeAt: ResumePoint | null;
  /** Bytes received in this leg. */
  bytes: number;
  /** The offset this leg started from. */
  fromOffset: number;
  durationMs: number;
  source: { url: string; size: number | null; modifiedAt: string | null };
}

export type CopyOutcome = CopyResult | UnchangedResult | SuspendedResult;

/** Why a download was stopped on purpose: not an error, the copy suspends. */
const SUSPEND = Symbol("suspend");

/** Metadata keys written on every object; a copy that may skip an unchanged object reads them back. */
export const METADATA_SOURCE_URL = "source-url";
export const METADATA_SOURCE_SIZE = "source-size";
export const METADATA_SOURCE_MTIME = "source-mtime";

/**
 * Copies one remote file into one S3 object as a stream, committing it only when the server
 * confirmed the transfer: the final reply is 2xx, the data connection ended cleanly, and the byte
 * count equals SIZE when the server gave one. Any other outcome aborts the upload and rejects with
 * one of our errors; nothing is left in the bucket.
 */
export async function copyFile(
  source: FileSource,
  sink: ObjectSink,
  request: CopyRequest,
  options: Partial<CopyOptions> = {},
): Promise<CopyOutcome> {
  const opts = { ...defaultCopyOptions, ...options };
  const now = opts.now ?? Date.now;
  const startedAt = now();
  const { path, target } = request;
  assertRemoteFilePath(path);
  assertValidKey(target.key);
  throwIfAborted(opts.signal);
  const url = source.urlOf(path);
  const warn = opts.onWarning ?? (() => {});
  // An earlier leg's upload stays open until this leg takes it over (or finds it must start over).
  let earlierUpload = request.resumeFrom?.uploadId;
  let prepared: Prepared | UnchangedResult;
  try {
    prepared = await prepare(source, sink, request, opts, url, warn, () => {
      earlierUpload = undefined;
    });
  } catch (error) {
    // The commit rule holds across legs: a leg that fails leaves no upload open.
    if (earlierUpload !== undefined) await abandonUpload(sink, target, earlierUpload, warn);
    throw error;
  }
  if ("status" in prepared) return { ...prepared, durationMs: Math.round(now() - startedAt) };
  const { info, resumed, hash, resumable, plan, believedAbsent } = prepared;
  // A later leg of a mirrored copy ("skip-unchanged") may replace the older version its first leg found.
  const conditional =
    believedAbsent || request.ifExists === "fail" || request.ifExists === "fail-unless-unchanged";

  const startAt = resumed?.point.offset ?? 0;
  const { partSize } = plan;
  const upload = new PartUpload(sink, target, {
    partSize,
    queueSize: plan.queueSize,
    buffers: plan.buffers,
    metadata: sourceMetadata(url, info),
    ifNoneMatch: conditional,
    expectedBytes: info.size === null ? null : Math.max(0, info.size - startAt),
    hash,
    tagSha256: opts.tagWithSha256,
    ...(resumed === null ? {} : { resume: { uploadId: resumed.point.uploadId, parts: resumed.parts } }),
  });

  const progress = new ProgressReporter({
    totalBytes: info.size,
    startBytes: startAt,
    intervalMs: opts.progressIntervalMs,
    emit: opts.onProgress ?? (() => {}),
    now,
  });
  // One signal stops the download for every reason: the caller's, a suspension, too many bytes, or S3
  // failing under us (there is no point reading on, and a stalled body would hold the data socket
  // open forever).
  const stop = new AbortController();
  const intake = new Intake(upload, (bytes) => {
    const total = startAt + bytes;
    progress.update(total);
    // More than SIZE can never pass the gate: stop now rather than read (and upload) the rest.
    if (info.size !== null && total > info.size && !stop.signal.aborted) {
      const why = startAt > 0 ? `did it ignore REST ${startAt}?` : "is the file still being written?";
      stop.abort(
        new SizeMismatchError(
          `${url}: the server sent more than the ${info.size} bytes SIZE announced (${why})`,
          info.size,
          total,
        ),
      );
    }
  });

  const forwardCallerAbort = () => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", forwardCallerAbort, { once: true });
  let downloaded = false;
  const suspend = () => {
    if (!downloaded) stop.abort(SUSPEND);
  };
  if (resumable) {
    if (opts.suspendSignal?.aborted) suspend();
    else opts.suspendSignal?.addEventListener("abort", suspend, { once: true });
  }
  // The caller's signals matter only while the file is read: a mirror's copies share one signal, and
  // a listener kept through a slow commit piles up with the next files' (MaxListenersExceededWarning).
  const stopListening = () => {
    opts.signal?.removeEventListener("abort", forwardCallerAbort);
    opts.suspendSignal?.removeEventListener("abort", suspend);
  };
  upload.failed.catch((error: unknown) => stop.abort(error));
  const legFacts = () => ({
    bucket: target.bucket,
    key: target.key,
    bytes: intake.bytes,
    fromOffset: startAt,
    durationMs: Math.round(now() - startedAt),
    source: { url, size: info.size, modifiedAt: info.modifiedAt?.toISOString() ?? null },
  });

  try {
    const reply = await untilAborted(
      () => source.download(path, intake, stop.signal, startAt),
      stop.signal,
      // The stop signal's reason as it is: SUSPEND is not an error, and the others are ours already.
      (signal) => signal.reason,
    );
    downloaded = true;
    await intake.flush();
    const totalBytes = startAt + intake.bytes;
    progress.finish(totalBytes);
    checkConfirmed(reply, { url, expectedBytes: info.size, receivedBytes: totalBytes });
    throwIfAborted(stop.signal);
    stopListening(); // from here on the commit finishes whatever the signals say (below)
    opts.onDownloaded?.();

    // Past this point the server has confirmed the file: finish the commit even if the deadline
    // fires meanwhile (the caller's margin covers the last parts), rather than race it and leave an
    // object behind a reported failure.
    const committed = await upload.commit();
    const tagged = opts.tagWithSha256 ? await ensureTagged(sink, target, committed, warn) : false;
    return {
      status: "copied",
      bucket: target.bucket,
      key: target.key,
      bytes: totalBytes,
      etag: committed.etag,
      ...(committed.versionId === undefined ? {} : { versionId: committed.versionId }),
      sha256: committed.sha256,
      durationMs: Math.round(now() - startedAt),
      ftpReply: reply,
      source: { url, size: info.size, modifiedAt: info.modifiedAt?.toISOString() ?? null },
      sizeCheck: info.size === null ? "skipped" : "matched",
      partSize,
      tagged,
      ...(startAt > 0 ? { resumedFrom: startAt } : {}),
    };
  } catch (caught) {
    let failure = caught;
    const callerStopped = opts.signal?.aborted === true;
    if (!callerStopped && stop.signal.reason === SUSPEND) {
      // The deadline is near: keep what is uploaded, tell where the next leg goes on.
      try {
        const suspension = await upload.suspend();
        return {
          status: "suspended",
          reason: suspendReasons.includes(opts.suspendSignal?.reason)
            ? (opts.suspendSignal?.reason as SuspendReason)
            : "deadline",
          resumeAt:
            suspension.uploadId === undefined
              ? null
              : {
                  uploadId: suspension.uploadId,
                  offset: suspension.bytes,
                  partSize,
                  size: info.size as number,
                  modifiedAt: (info.modifiedAt as Date).toISOString(),
                  hashState: suspension.hashState as string,
                },
          ...legFacts(),
        };
      } catch (error) {
        failure = error; // a part failed meanwhile: the copy fails after all
      }
    }
    const error = callerStopped
      ? abortReason(opts.signal as AbortSignal)
      : stop.signal.aborted && stop.signal.reason !== SUSPEND
        ? abortReason(stop.signal)
        : asOurError(failure);
    if (!stop.signal.aborted) stop.abort(error); // closes the FTP side when the failure came from elsewhere
    const cleanup = await upload.cancel(error);
    if (!cleanup.clean) {
      warn(`could not abort the multipart upload of ${formatS3Url(target)}; the lifecycle rule will`, {
        uploadId: cleanup.uploadId,
        reason: cleanup.error?.message,
      });
    }
    if (error instanceof ObjectExistsError && conditional && request.ifExists !== "fail" && !callerStopped) {
      // The conditional write lost: another writer stored the key since it was found absent. "fail"
      // refuses any object, so only the modes where this very version counts as unchanged compare.
      const existing = await sink.head(target);
      if (existing !== null && isSameVersion(existing, url, info)) {
        return unchangedResult(target, existing, url, info, Math.round(now() - startedAt));
      }
      throw new ObjectExistsError(
        `${formatS3Url(target)} was stored by another writer while this copy ran, from ${describeVersion(existing)} (this copy read ${describeVersion({ metadata: sourceMetadata(url, info) })}); it was not overwritten`,
        { cause: error },
      );
    }
    if (error instanceof RestartRefusedError && !callerStopped) {
      warn(`${error.message}; the copy starts over from byte 0 in the next leg`, {});
      return { status: "suspended", reason: "no-restart", resumeAt: null, ...legFacts() };
    }
    throw error;
  } finally {
    stopListening();
  }
}

interface Prepared {
  info: RemoteFileInfo;
  /** The earlier legs' upload and parts, when this leg goes on with them. */
  resumed: Awaited<ReturnType<typeof recoverUpload>>;
  hash: RunningHash;
  /** A suspend signal was given and the file can be recognised again (SIZE and MDTM). */
  resumable: boolean;
  /** Part size and buffers, within the memory budget. */
  plan: PartPlan;
  /** The key held no object when checked (or the caller listed it absent): the write is conditional. */
  believedAbsent: boolean;
}

/**
 * The object at the key; null when there is none, and also when S3 forbids the check (a HeadObject
 * without s3:ListBucket reads 403 for a missing key): the write is then conditional (If-None-Match: *),
 * which S3 refuses with 412 (OBJECT_EXISTS) when an object is there, so the check is only a shortcut.
 * A copy that may replace a changed object (skip-unchanged) just copies again.
 */
async function headUnlessForbidden(
  sink: ObjectSink,
  target: S3Location,
  conditional: boolean,
  warn: (message: string, details: Record<string, unknown>) => void,
  onForbidden: () => void,
): Promise<ExistingObject | null> {
  try {
    return await sink.head(target);
  } catch (error) {
    if (!(error instanceof S3Error && error.httpStatus === 403)) throw error;
    onForbidden();
    const instead = conditional
      ? "the conditional write (If-None-Match: *) decides instead: an object already there fails the copy with OBJECT_EXISTS and is not replaced"
      : "the copy goes ahead and replaces what may be there (an unchanged object is copied again)";
    warn(`${error.message}; ${instead}`, { bucket: target.bucket, key: target.key, httpStatus: 403 });
    return null;
  }
}

/**
 * Everything before the upload: what the server says about the file, the earlier legs' upload (when
 * resuming), the existence check, and the hash to continue. Resolves with an "unchanged" outcome
 * (its duration to fill in) when the key already holds this version. Calls `onUploadGone` once an
 * earlier leg's upload is aborted or found gone (the copy then starts over).
 */
async function prepare(
  source: FileSource,
  sink: ObjectSink,
  request: CopyRequest,
  opts: CopyOptions,
  url: string,
  warn: (message: string, details: Record<string, unknown>) => void,
  onUploadGone: () => void,
): Promise<Prepared | UnchangedResult> {
  const { path, target } = request;
  let info: RemoteFileInfo;
  let resumed: Prepared["resumed"] = null;
  if (request.resumeFrom === undefined) {
    info = request.known ?? (await source.stat(path));
  } else {
    info = await source.stat(path);
    resumed = await recoverUpload(sink, target, request.resumeFrom, info, warn);
    if (resumed === null) onUploadGone();
  }

  let believedAbsent = request.ifExists === "create" && resumed === null;
  if (resumed === null && request.ifExists !== "replace" && request.ifExists !== "create") {
    let forbidden = false;
    const existing = await headUnlessForbidden(
      sink,
      target,
      request.ifExists !== "skip-unchanged",
      warn,
      () => {
        forbidden = true;
      },
    );
    // A check S3 forbade proves nothing absent: a skip-unchanged copy then replaces, as it says.
    believedAbsent = existing === null && !forbidden;
    const sameVersion = existing !== null && isSameVersion(existing, url, info);
    // A continuation finding this very version at the key: an earlier delivery of the same message
    // finished the copy (the first leg found the key free, or the copy could not have started).
    const finishedByUs = sameVersion && request.resumeFrom !== undefined;
    const refused =
      request.ifExists === "fail"
        ? !finishedByUs
        : request.ifExists === "fail-unless-unchanged" && !sameVersion;
    if (existing !== null && refused) {
      throw new ObjectExistsError(`${formatS3Url(target)} already exists and overwriting was not allowed`);
    }
    if (existing !== null && sameVersion) return unchangedResult(target, existing, url, info, 0);
  }
  throwIfAborted(opts.signal);
  opts.onCopyDecided?.(info);
  // Before any byte is read or an upload created: a SIZE (or a resumed leg's part size) that needs
  // more memory than the budget is refused here, not met by an out-of-memory kill mid-transfer.
  const startAt = resumed?.point.offset ?? 0;
  const plan = fitPartsToMemory({
    partSize: resumed?.point.partSize ?? choosePartSize(info.size, opts.partSize),
    queueSize: opts.queueSize,
    budget: opts.memoryBudget,
    expectedBytes: info.size === null ? null : Math.max(0, info.size - startAt),
    file: url,
  });

  const resumable = opts.suspendSignal !== undefined && info.size !== null && info.modifiedAt !== null;
  if (opts.suspendSignal !== undefined && !resumable) {
    warn(`${url} cannot be resumed if it runs out of time: the server gave no SIZE or no MDTM`, {});
  }
  // Only a copy that may go on in another process pays for a hash whose state can be saved.
  const hash =
    resumed !== null
      ? await resumableSha256(resumed.point.hashState)
      : resumable
        ? await resumableSha256()
        : fastSha256();
  return { info, resumed, hash, resumable, plan, believedAbsent };
}

/** The key holds this very version (isSameVersion): nothing to read or write. */
function unchangedResult(
  target: S3Location,
  existing: ExistingObject,
  url: string,
  info: RemoteFileInfo,
  durationMs: number,
): UnchangedResult {
  return {
    status: "unchanged",
    bucket: target.bucket,
    key: target.key,
    bytes: existing.size,
    etag: existing.etag,
    durationMs,
    source: { url, size: info.size as number, modifiedAt: (info.modifiedAt as Date).toISOString() },
  };
}

/** The source version an object's metadata records, for a message. */
function describeVersion(object: Pick<ExistingObject, "metadata"> | null): string {
  if (object === null) return "an object gone again";
  const m = object.metadata;
  return `${m[METADATA_SOURCE_URL] ?? "an unknown source"} (size ${m[METADATA_SOURCE_SIZE] ?? "?"}, modified ${m[METADATA_SOURCE_MTIME] ?? "?"})`;
}

/** The commit rule, for the parts the core can see: a 2xx final reply and the announced size. */
function checkConfirmed(
  reply: FtpReply,
  facts: { url: string; expectedBytes: number | null; receivedBytes: number },
): void {
  // The adapter resolves only on 2xx, but the rule is the product: check again where it is decided.
  if (reply.code < 200 || reply.code > 299) {
    throw new FtpReplyError(
      `RETR ${facts.url} ended with ${reply.code} ${reply.message}`,
      reply.code,
      reply.message,
    );
  }
  const { expectedBytes, receivedBytes } = facts;
  if (expectedBytes !== null && receivedBytes !== expectedBytes) {
    throw new SizeMismatchError(
      `${facts.url}: the server confirmed the transfer (${reply.code} ${reply.message}) after ${receivedBytes} bytes, but SIZE announced ${expectedBytes}`,
      expectedBytes,
      receivedBytes,
    );
  }
}

/** The object was written by us from this source at this size and modification time. */
function isSameVersion(existing: ExistingObject, url: string, info: RemoteFileInfo): boolean {
  if (info.size === null || info.modifiedAt === null) return false;
  const recorded = existing.metadata;
  return (
    recorded[METADATA_SOURCE_URL] === url &&
    recorded[METADATA_SOURCE_SIZE] === String(info.size) &&
    recorded[METADATA_SOURCE_MTIME] === info.modifiedAt.toISOString() &&
    existing.size === info.size
  );
}

function sourceMetadata(url: string, info: RemoteFileInfo): Record<string, string> {
  const metadata: Record<string, string> = { [METADATA_SOURCE_URL]: url };
  if (info.size !== null) metadata[METADATA_SOURCE_SIZE] = String(info.size);
  if (info.modifiedAt !== null) metadata[METADATA_SOURCE_MTIME] = info.modifiedAt.toISOString();
  return metadata;
}

/**
 * Whether the committed object carries its sha256 tag: a file in one PutObject took it along (or S3
 * refused it there); a multipart upload's goes in a request of its own.
 */
async function ensureTagged(
  sink: ObjectSink,
  target: S3Location,
  committed: CommittedUpload,
  onWarning: NonNullable<CopyOptions["onWarning"]>,
): Promise<boolean> {
  if (committed.taggedInline) return true;
  let reason = committed.tagRefused;
  if (reason === undefined) {
    try {
      await sink.tag(target, { sha256: committed.sha256 });
      return true;
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
  }
  // The object is committed and its bytes verified; a missing tag loses provenance, not data.
  onWarning(`committed ${formatS3Url(target)} but could not tag it with its SHA-256`, { reason });
  return false;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

function asOurError(error: unknown): Ftp2s3Error {
  if (error instanceof Ftp2s3Error) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransferAbortedError(`transfer failed unexpectedly: ${message}`, { cause: error });
}
