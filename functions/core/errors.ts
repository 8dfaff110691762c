/**
 * The errors a transfer can end with. Each has a stable `code` that callers map to exit statuses or
 * HTTP statuses, and a one-line message that names what failed and where (host, path, bucket, key),
 * never a password.
 */

export type ErrorCode =
  | "INVALID_INPUT"
  | "FTP_CONNECTION"
  | "FTP_LOGIN"
  | "FTP_BUSY"
  | "FTP_REPLY"
  | "FTP_DATA_CONNECTION"
  | "FTP_LISTING"
  | "SIZE_MISMATCH"
  | "SOURCE_CHANGED"
  | "CHECKSUM_MISMATCH"
  | "NO_SERVER_DIGEST"
  | "TIMEOUT"
  | "ABORTED"
  | "OBJECT_EXISTS"
  | "NOT_ALLOWED"
  | "MIRROR_INCOMPLETE"
  | "FTP_NO_RESTART"
  | "RESUME_LIMIT"
  | "TOO_LARGE"
  | "DELETE_LIMIT"
  | "EMPTY_SOURCE"
  | "S3"
  | "IDEMPOTENCY_KEY_REUSED";

export abstract class Ftp2s3Error extends Error {
  abstract readonly code: ErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

/** Bad input found before anything was sent: a malformed URL, key or option. */
export class InvalidInputError extends Ftp2s3Error {
  readonly code = "INVALID_INPUT";
}

/** The FTP server could not be reached, the TLS handshake failed, or the control connection broke. */
export class FtpConnectionError extends Ftp2s3Error {
  readonly code = "FTP_CONNECTION";
}

/** The FTP server refused the user name or password. */
export class FtpLoginError extends Ftp2s3Error {
  readonly code = "FTP_LOGIN";
  constructor(
    message: string,
    readonly ftpCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The server is at its session limit: it answered 421 to the greeting or the login, reset the
 * connection before greeting, or ftp2s3's own session budget for the connection had no slot free.
 * Back-pressure, not a broken copy: the same request succeeds once a session ends.
 */
export class FtpBusyError extends Ftp2s3Error {
  readonly code = "FTP_BUSY";
}

/** The FTP server answered a command with an error reply (4xx/5xx), e.g. 550 or 426. */
export class FtpReplyError extends Ftp2s3Error {
  readonly code = "FTP_REPLY";
  constructor(
    message: string,
    readonly ftpCode: number,
    readonly ftpMessage: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The data connection failed: it could not be opened, or it was reset before the file was complete. */
export class DataConnectionError extends Ftp2s3Error {
  readonly code = "FTP_DATA_CONNECTION";
}

/**
 * A directory could not be listed completely: the server refused LIST/MLSD (and CWD), a line matched
 * no listing format, or the listing passed its bounds. What was read is never used in part.
 */
export class ListingError extends Ftp2s3Error {
  readonly code = "FTP_LISTING";
  constructor(
    message: string,
    /** The directory that could not be listed. */
    readonly dir: string,
    /** "refused": a 4xx/5xx reply; "unparsable": lines of no known format; "cut-short": past a bound. */
    readonly reason: "refused" | "unparsable" | "cut-short",
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server confirmed the transfer but sent another number of bytes than its SIZE reply announced. */
export class SizeMismatchError extends Ftp2s3Error {
  readonly code = "SIZE_MISMATCH";
  constructor(
    message: string,
    readonly expectedBytes: number,
    readonly receivedBytes: number,
  ) {
    super(message);
  }
}

/**
 * The file changed while it was copied: SIZE or MDTM after the transfer differ from what the copy
 * started from, so it was still being written and the 2xx vouched for a part of it. Nothing was
 * stored; the next run (or the queue's retry) copies it whole.
 */
export class SourceChangedError extends Ftp2s3Error {
  readonly code = "SOURCE_CHANGED";
  /**
   * @param whileReading the file grew past its announced size during the read, which was cut short
   * (the FTP session is closed); otherwise it was read whole and found changed at a second look.
   */
  constructor(
    message: string,
    readonly whileReading = false,
  ) {
    super(message);
  }
}

/**
 * The bytes read are not the file: the server's own digest of it (HASH, XSHA256, ...) differs from
 * the one computed on the stream, or S3 found the object's CRC64NVME differs from the one sent.
 * Nothing was stored.
 */
export class ChecksumMismatchError extends Ftp2s3Error {
  readonly code = "CHECKSUM_MISMATCH";
}

/** serverDigest "require": the server offers no digest this copy can use. Nothing was stored. */
export class NoServerDigestError extends Ftp2s3Error {
  readonly code = "NO_SERVER_DIGEST";
}

/** No progress within the idle timeout, or the caller's deadline arrived. */
export class TransferTimeoutError extends Ftp2s3Error {
  readonly code = "TIMEOUT";
}

/** The caller cancelled the transfer (its AbortSignal fired with a reason that is not one of ours). */
export class TransferAbortedError extends Ftp2s3Error {
  readonly code = "ABORTED";
}

/** The target key already holds an object and the caller did not allow overwriting it. */
export class ObjectExistsError extends Ftp2s3Error {
  readonly code = "OBJECT_EXISTS";
}

/** The request names a connection that does not exist or a path outside the connection's roots. */
export class NotAllowedError extends Ftp2s3Error {
  readonly code = "NOT_ALLOWED";
}

/** A mirror run copied some files but not all; the summary names the failures. */
export class MirrorIncompleteError extends Ftp2s3Error {
  readonly code = "MIRROR_INCOMPLETE";
}

/**
 * The server refused to start a transfer at an offset (REST): a copy can go on only from byte zero.
 * The core turns it into a restart; callers see it only when they asked for a resume directly.
 */
export class RestartRefusedError extends Ftp2s3Error {
  readonly code = "FTP_NO_RESTART";
}

/** A copy was continued as many times as allowed without finishing. */
export class ResumeLimitError extends Ftp2s3Error {
  readonly code = "RESUME_LIMIT";
}

/**
 * The file is too large for this copy's limits, not for S3: one part buffer of the part size its
 * SIZE needs does not fit the memory budget (refused before the transfer), or a file without SIZE
 * ran past 10,000 parts of the unknown-size part size.
 */
export class FileTooLargeError extends Ftp2s3Error {
  readonly code = "TOO_LARGE";
}

/** A mirror would have deleted more objects than its cap allows: it deleted none. */
export class DeleteLimitError extends Ftp2s3Error {
  readonly code = "DELETE_LIMIT";
}

/** A mirror listed a directory as empty where the bucket holds objects: it deleted none (not asked to). */
export class EmptySourceError extends Ftp2s3Error {
  readonly code = "EMPTY_SOURCE";
}

/** An Idempotency-Key came again with another request than the one it started (the Lambda's API only). */
export class IdempotencyKeyReusedError extends Ftp2s3Error {
  readonly code = "IDEMPOTENCY_KEY_REUSED";
}

/** S3 refused or failed a request (HeadObject, an upload part, CompleteMultipartUpload, ...). */
export class S3Error extends Ftp2s3Error {
  readonly code = "S3";
  constructor(
    message: string,
    readonly httpStatus: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The reason an AbortSignal fired, as one of our errors. */
export function abortReason(signal: AbortSignal): Ftp2s3Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Ftp2s3Error) return reason;
  const text = reason instanceof Error ? reason.message : String(reason ?? "no reason given");
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new TransferTimeoutError(`transfer stopped: the deadline arrived (${text})`, { cause: reason });
  }
  return new TransferAbortedError(`transfer cancelled: ${text}`, { cause: reason });
}

/**
 * Starts `start()` unless the signal already fired, and rejects as soon as it fires, whatever the work
 * is doing (a basic-ftp command, a DNS lookup or a secret that hangs): nothing is begun after a stop,
 * and nothing is waited for after it. The listener goes when the work settles, so a long-lived signal
 * does not collect one per call. `reasonOf` turns the fired signal into the rejection.
 */
export function untilAborted<T>(
  start: () => Promise<T>,
  signal: AbortSignal,
  reasonOf: (signal: AbortSignal) => unknown = abortReason,
): Promise<T> {
  if (signal.aborted) return Promise.reject(reasonOf(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reasonOf(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    start()
      .then(resolve, reject)
      .finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Throws the signal's reason, as one of our errors, once it fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}
