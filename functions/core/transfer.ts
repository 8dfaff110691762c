import { CopyLeg } from "./copy-leg.js";
import { FileCopy } from "./file-copy.js";
import type { ObjectSettings } from "./object-settings.js";
import { DEFAULT_MEMORY_BUDGET } from "./part-size.js";
import type { FileSource, FtpReply, ObjectSink, RemoteFileInfo } from "./ports.js";
import type { ProgressSnapshot } from "./progress.js";
import type { ResumePoint } from "./resume.js";
import type { ServerDigestMode, SourceDigest } from "./source-digest.js";
import type { ObjectTarget, PartSize, RemoteFilePath } from "./values.js";

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
  /** The remote file, checked where it entered (resolveAllowedFile, remoteFilePath, the mirror's listing). */
  path: RemoteFilePath;
  target: ObjectTarget;
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
  partSize?: PartSize;
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
  /**
   * Storage class, SSE-KMS key, content type, metadata and tag templates, retention. Default: the
   * content type from the file's extension, the bucket's defaults for the rest.
   */
  object?: ObjectSettings;
  /** Whether the server's own digest of the file is asked for and compared (see ServerDigestMode). */
  serverDigest: ServerDigestMode;
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
   * The file's facts after its transfer, supplied by the caller instead of a stat on the session (a
   * mirror checks many small files with one re-listing of their directory). Called once the file is
   * read and confirmed and any server digest is in, just before onDownloaded; resolves with the
   * facts, or null when the file is gone. The copy is committed only when they equal the facts it
   * started from; a rejection fails it with that error, nothing stored.
   */
  recheck?: (path: RemoteFilePath, before: RemoteFileInfo) => Promise<RemoteFileInfo | null>;
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
  serverDigest: "auto",
};

export interface CopyResult {
  status: "copied";
  bucket: string;
  key: string;
  bytes: number;
  etag: string;
  versionId?: string;
  sha256: string;
  /** The full-object CRC64NVME S3 checked on its side (base64, as S3 shows it), when one was sent. */
  crc64nvme?: string;
  /** The server's own digest of the file, equal to the bytes read, when it gave one. */
  sourceDigest?: SourceDigest;
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
  const copy = new FileCopy(source, sink, request, { ...defaultCopyOptions, ...options });
  copy.time.throwIfStopped();
  const prepared = await copy.prepare();
  if ("status" in prepared) return { ...prepared, durationMs: copy.elapsedMs() };
  return new CopyLeg(copy, prepared).run();
}
