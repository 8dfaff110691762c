import {
  abortReason,
  Ftp2s3Error,
  FtpReplyError,
  ObjectExistsError,
  SizeMismatchError,
  TransferAbortedError,
} from "./errors.js";
import { Intake } from "./intake.js";
import { assertRemoteFilePath, assertValidKey, formatS3Url, type S3Location } from "./locations.js";
import { choosePartSize } from "./part-size.js";
import type { ExistingObject, FileSource, FtpReply, ObjectSink, RemoteFileInfo } from "./ports.js";
import { ProgressReporter, type ProgressSnapshot } from "./progress.js";

/**
 * What to do when the key already holds an object: refuse ("fail"), replace it ("replace"), or
 * leave it when it records the same source, size and modification time ("skip-unchanged"; without
 * SIZE and MDTM from the server nothing can be proven unchanged, so the file is copied again).
 */
export type IfExists = "fail" | "replace" | "skip-unchanged";

export interface CopyRequest {
  /** Absolute path of the remote file. */
  path: string;
  target: S3Location;
  ifExists: IfExists;
  /** Size and time already known (from a directory listing): no SIZE and MDTM are sent. */
  known?: RemoteFileInfo;
}

export interface CopyOptions {
  /** Preferred part size in bytes; grown when the file needs it (see choosePartSize). */
  partSize?: number;
  /** Parts uploaded in parallel. */
  queueSize: number;
  /** Minimum milliseconds between two progress reports. */
  progressIntervalMs: number;
  /** Tag the object with the SHA-256 of its bytes after it is committed (needs s3:PutObjectTagging). */
  tagWithSha256: boolean;
  /** Cancels the copy; its reason (a TransferTimeoutError for a deadline) becomes the error. */
  signal?: AbortSignal;
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /**
   * Called once the file is read and confirmed, before the upload is committed: from then on the
   * copy no longer uses the FTP session, which may start on the next file.
   */
  onDownloaded?: () => void;
  /** Problems that do not fail the copy: an abort S3 refused, a tag not written. */
  onWarning?: (message: string, details: Record<string, unknown>) => void;
  /** Milliseconds clock, injected in tests. */
  now?: () => number;
}

export const defaultCopyOptions: CopyOptions = {
  queueSize: 4,
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

export type CopyOutcome = CopyResult | UnchangedResult;

/** Metadata keys written on every object; the mirror reads them back to skip unchanged files. */
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

  const info = request.known ?? (await source.stat(path));
  const url = source.urlOf(path);
  if (request.ifExists !== "replace") {
    const existing = await sink.head(target);
    if (existing !== null && request.ifExists === "fail") {
      throw new ObjectExistsError(`${formatS3Url(target)} already exists and overwriting was not allowed`);
    }
    if (existing !== null && isSameVersion(existing, url, info)) {
      return {
        status: "unchanged",
        bucket: target.bucket,
        key: target.key,
        bytes: existing.size,
        etag: existing.etag,
        durationMs: Math.round(now() - startedAt),
        source: { url, size: info.size as number, modifiedAt: (info.modifiedAt as Date).toISOString() },
      };
    }
  }
  throwIfAborted(opts.signal);

  const partSize = choosePartSize(info.size, opts.partSize);
  const upload = sink.startUpload(target, {
    partSize,
    queueSize: opts.queueSize,
    metadata: sourceMetadata(url, info),
    ifNoneMatch: request.ifExists === "fail",
  });

  const progress = new ProgressReporter({
    totalBytes: info.size,
    intervalMs: opts.progressIntervalMs,
    emit: opts.onProgress ?? (() => {}),
    now,
  });
  const intake = new Intake(upload.body, (bytes) => progress.update(bytes));

  // One signal stops the download for every reason: the caller's, or S3 failing under us (there is
  // no point reading on, and a stalled body would hold the data socket open forever).
  const stop = new AbortController();
  const forwardCallerAbort = () => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", forwardCallerAbort, { once: true });
  upload.failed.catch((error: unknown) => stop.abort(error));

  try {
    const reply = await untilStopped(source.download(path, intake, stop.signal), stop.signal);
    await intake.flush();
    progress.finish(intake.bytes);
    checkConfirmed(reply, { url, expectedBytes: info.size, receivedBytes: intake.bytes });
    throwIfAborted(stop.signal);
    opts.onDownloaded?.();

    // Past this point the server has confirmed the file: finish the commit even if the deadline
    // fires meanwhile (the caller's margin covers the last parts), rather than race it and leave an
    // object behind a reported failure.
    const committed = await upload.commit();
    const sha256 = intake.digest();
    // A request of its own: s3rver, for one, ignores the x-amz-tagging header of a PutObject silently.
    const tagged = opts.tagWithSha256 ? await tagObject(sink, target, sha256, opts.onWarning) : false;
    return {
      status: "copied",
      bucket: target.bucket,
      key: target.key,
      bytes: intake.bytes,
      etag: committed.etag,
      ...(committed.versionId === undefined ? {} : { versionId: committed.versionId }),
      sha256,
      durationMs: Math.round(now() - startedAt),
      ftpReply: reply,
      source: { url, size: info.size, modifiedAt: info.modifiedAt?.toISOString() ?? null },
      sizeCheck: info.size === null ? "skipped" : "matched",
      partSize,
      tagged,
    };
  } catch (caught) {
    const error = stop.signal.aborted ? abortReason(stop.signal) : asOurError(caught);
    stop.abort(error); // closes the FTP side when the failure came from elsewhere
    const cleanup = await upload.cancel(error);
    if (!cleanup.clean) {
      opts.onWarning?.(
        `could not abort the multipart upload of ${formatS3Url(target)}; the lifecycle rule will`,
        {
          uploadId: cleanup.uploadId,
          reason: cleanup.error?.message,
        },
      );
    }
    throw error;
  } finally {
    opts.signal?.removeEventListener("abort", forwardCallerAbort);
  }
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

async function tagObject(
  sink: ObjectSink,
  target: S3Location,
  sha256: string,
  onWarning: CopyOptions["onWarning"],
): Promise<boolean> {
  try {
    await sink.tag(target, { sha256 });
    return true;
  } catch (error) {
    // The object is committed and its bytes verified; a missing tag loses provenance, not data.
    onWarning?.(`committed ${formatS3Url(target)} but could not tag it with its SHA-256`, {
      reason: error instanceof Error ? error.message : String(error),
    });
    return false;
  }
}

/** Rejects as soon as the signal fires, whatever the promise is doing. */
function untilStopped<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

function asOurError(error: unknown): Ftp2s3Error {
  if (error instanceof Ftp2s3Error) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransferAbortedError(`transfer failed unexpectedly: ${message}`, { cause: error });
}
