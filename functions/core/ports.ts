import type { Writable } from "node:stream";
import type { S3Location } from "./locations.js";
import type { DigestAlgorithm, SourceDigest } from "./source-digest.js";
import type { RemoteFilePath, RemotePath } from "./values.js";

/**
 * The two sides the core talks to. Adapters implement them over basic-ftp and the AWS SDK; tests
 * implement them in memory. The core imports neither library.
 */

/** A reply on the FTP control connection. */
export interface FtpReply {
  code: number;
  /** The reply text without the code, e.g. "Transfer complete." */
  message: string;
}

/** What the server says about a file before it is read. Either field is null when it gave none. */
export interface RemoteFileInfo {
  size: number | null;
  modifiedAt: Date | null;
}

/** One line of a directory listing. */
export interface RemoteEntry {
  /** The name as the server sent it (not yet checked: see the mirror's name rules). */
  name: string;
  kind: "file" | "directory" | "other";
  size: number | null;
  modifiedAt: Date | null;
  /** The listing's date as the server wrote it (LIST gives no parsed date): a version token of last resort. */
  modifiedRaw: string | null;
  /** MLSD's `unique` fact when the server gives one: the same directory reached twice has the same value. */
  unique?: string;
  /**
   * Set when the name's bytes are not valid in the server's encoding: why, naming the bytes. `name`
   * then shows them escaped, for messages only: such an entry is never fetched, listed or keyed.
   */
  unreadableName?: string;
}

/** How a ranged read (FileSource.downloadRange) ended, once every byte of the range was delivered. */
export interface RangeReadEnd {
  /**
   * The server's final reply to the transfer, or null when none came within a few seconds of the cut
   * (some servers send nothing). To a transfer we cut on purpose servers answer 426 or 451, or 226
   * when they had already sent everything: none of these is a failure of the range.
   */
  reply: FtpReply | null;
  /** True when we closed the data connection ourselves after the range's last byte. */
  cut: boolean;
}

/** A logged-in session with one FTP server. */
export interface FileSource {
  /** The file's URL for metadata and messages (no password). */
  urlOf(path: string): string;
  /** The entries of a directory (MLSD where the server has it, else LIST). */
  list(dir: RemotePath): Promise<RemoteEntry[]>;
  /** SIZE and MDTM; a server that cannot answer yields nulls, not an error. */
  stat(path: RemoteFilePath): Promise<RemoteFileInfo>;
  /**
   * RETR in binary mode, writing the bytes into `destination`. Resolves with the final reply once the
   * data connection has closed cleanly and the server sent a 2xx; rejects with one of our errors
   * otherwise. May end or destroy `destination` when done. Rejects promptly with `signal.reason`
   * when the signal fires. With `startAt` > 0 the server is asked for the bytes from there on (REST);
   * a server that refuses REST rejects with a RestartRefusedError.
   */
  download(
    path: RemoteFilePath,
    destination: Writable,
    signal: AbortSignal,
    startAt?: number,
  ): Promise<FtpReply>;
  /**
   * The bytes [start, end) of the file (REST start, then RETR), written into `destination`, which is
   * ended once all of them are in. The data connection is closed by us after the range's last byte:
   * the server's reply to that cut (426, 451, 226, or nothing within a few seconds) is not a failure.
   * Fewer bytes before the data connection ends reject with a SizeMismatchError; a refused REST with
   * a RestartRefusedError; the signal as `download`'s does. After the call, resolved or not, the
   * session is in no state for another command: the caller closes it. A source without this method
   * cannot read ranges.
   */
  downloadRange?(
    path: RemoteFilePath,
    destination: Writable,
    signal: AbortSignal,
    start: number,
    end: number,
  ): Promise<RangeReadEnd>;
  /**
   * Whether the server announced `REST STREAM` in FEAT (RFC 3659), read from the login's FEAT: ranges
   * are planned only on a server that says a RETR after REST starts at the offset. A source without
   * this method announces nothing.
   */
  announcesRestStream?(): Promise<boolean>;
  /** DELE: removes the file (afterCopy "delete"); rejects with an FtpReplyError when refused. */
  deleteFile(path: RemoteFilePath): Promise<void>;
  /** RNFR then RNTO (afterCopy "moveTo"); rejects with an FtpReplyError when either is refused. */
  rename(from: RemoteFilePath, to: RemoteFilePath): Promise<void>;
  /** MKD: one directory level; rejects with an FtpReplyError when refused (it may exist already). */
  makeDirectory(dir: RemotePath): Promise<void>;
  /**
   * The file digests the server computes (FEAT's HASH line, or XSHA256, XSHA1, XMD5, XCRC), strongest
   * first; FEAT is asked once a session. A source without this method offers none.
   */
  digestAlgorithms?(): Promise<DigestAlgorithm[]>;
  /**
   * The server's digest of the whole file, or why there is none (a refusal, a reply that does not
   * parse): never a guess. The server reads the whole file to answer, so the reply has its own timeout.
   */
  digest?(path: RemoteFilePath, algorithm: DigestAlgorithm): Promise<SourceDigest | { unavailable: string }>;
  /** Ends the session. Never waits for the server: a server that hangs on QUIT cannot hold us. */
  close(): void;
}

/** How an object is written. */
export interface ObjectOptions {
  /** User metadata stored with the object (x-amz-meta-*). ASCII values. */
  metadata: Record<string, string>;
  /** Fail rather than replace an object that appears at the key while we upload (S3 conditional write). */
  ifNoneMatch: boolean;
  /** Where and how the object lands (see object-settings.ts); without it, the bucket's defaults. */
  landing?: ObjectLanding;
}

/** What an upload's first request (CreateMultipartUpload or PutObject) says besides its metadata. */
export interface ObjectLanding {
  contentType: string;
  storageClass?: string;
  /** SSE-KMS with this key (and S3 Bucket Keys when `bucketKey`). */
  kms?: { keyId: string; bucketKey: boolean };
  /** Tags stored with the object (x-amz-tagging), with the SHA-256 tag when it goes along. */
  tags: Record<string, string>;
  /** Object Lock retention. */
  retention?: { mode: "GOVERNANCE" | "COMPLIANCE"; retainUntil: Date };
}

/**
 * A full-object checksum of the stream that S3 verifies itself (CRC64NVME), fed part by part. Its
 * value is also its state: a checksum made from a saved value goes on from there (the next leg).
 */
export interface FullObjectChecksum {
  /**
   * Adds the bytes that follow those so far (a part, best whole: each call costs a combine) and
   * resolves to their own CRC64NVME, which UploadPart sends as the part's checksum. The bytes must
   * stay unchanged until it resolves (it may be computed off the main thread).
   */
  update(bytes: Uint8Array): Promise<string>;
  /** The checksum of the bytes so far, as S3 shows it (base64). */
  value(): Promise<string>;
}

export interface CommittedObject {
  etag: string;
  versionId: string | undefined;
}

/** What became of an upload that was cancelled. */
export interface CancelReport {
  /** The multipart upload id, when one had been created. */
  uploadId: string | undefined;
  /** True when nothing is left open: no upload was created, or S3 confirmed the abort. */
  clean: boolean;
  /** Why the abort failed, when it did. */
  error: Error | undefined;
}

/** A part S3 holds for an open multipart upload. */
export interface UploadedPart {
  partNumber: number;
  size: number;
  etag: string;
}

/** What S3 says about an object already at a key. */
export interface ExistingObject {
  size: number;
  etag: string;
  /** User metadata (x-amz-meta-*), keys in lower case. */
  metadata: Record<string, string>;
  /** Its full-object CRC64NVME (base64), when asked for (head's `checksum`) and it has one. */
  crc64nvme?: string;
  versionId?: string;
}

/** One object of a bucket listing. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
}

export interface ObjectSink {
  /**
   * Every object under the prefix, by pages (ListObjectsV2): a thousand keys a request. With
   * `recursive: false`, only the keys directly under it (not those below another "/").
   */
  list(bucket: string, prefix: string, options?: { recursive?: boolean }): Promise<ListedObject[]>;
  /** A small text object (the mirror's manifest), or null when there is none. */
  readText(target: S3Location): Promise<string | null>;
  writeText(target: S3Location, text: string): Promise<void>;
  /** Deletes the keys (DeleteObjects, a thousand at a time); returns those S3 refused, with why. */
  delete(bucket: string, keys: string[]): Promise<{ key: string; message: string }[]>;
  /**
   * The object at the key, or null when there is none. With `checksum`, its CRC64NVME too, when it has
   * one (HeadObject's ChecksumMode).
   */
  head(target: S3Location, options?: { checksum?: boolean }): Promise<ExistingObject | null>;
  /**
   * One request for an object that fits in one part. `tags` are stored with it (x-amz-tagging): no
   * tagging request of its own.
   */
  putObject(
    target: S3Location,
    body: Uint8Array,
    options: ObjectOptions & { tags?: Record<string, string>; crc64nvme?: string },
  ): Promise<CommittedObject>;
  /**
   * Opens a multipart upload; returns its id. With `fullObjectChecksum`, S3 is told the object's
   * CRC64NVME comes with CompleteMultipartUpload, and checks it there against the bytes it holds.
   */
  createMultipartUpload(
    target: S3Location,
    options: ObjectOptions & { fullObjectChecksum?: boolean },
  ): Promise<string>;
  /**
   * Uploads one part; returns its ETag. With `checksum`, the part's CRC64NVME computed by the caller
   * goes with it (S3 checks it; the SDK computes none of its own).
   */
  uploadPart(
    target: S3Location,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    checksum?: { crc64nvme: string },
  ): Promise<string>;
  /** Every part S3 holds for the upload (ListParts, all pages), or null when there is no such upload. */
  listParts(target: S3Location, uploadId: string): Promise<UploadedPart[] | null>;
  /** The object becomes visible. A 412 (ifNoneMatch and an object appeared) is an ObjectExistsError. */
  completeMultipartUpload(
    target: S3Location,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
    options: { ifNoneMatch: boolean; crc64nvme?: string },
  ): Promise<CommittedObject>;
  abortMultipartUpload(target: S3Location, uploadId: string): Promise<void>;
  /** Sets a committed object's tags (all of them: S3 replaces the whole set). */
  tag(target: S3Location, tags: Record<string, string>): Promise<void>;
  /**
   * A full-object CRC64NVME to send with the object, going on from a saved value (an earlier leg's);
   * null when this sink sends no checksums (S3-compatible servers without them). A sink without
   * this method sends none.
   */
  fullObjectChecksum?(saved?: string): Promise<FullObjectChecksum | null>;
  /**
   * The CRC64NVME (base64) of pieces read apart, from each piece's value and length, in the order
   * given: a fanned-out file's ranges make its full-object checksum without reading a byte again.
   * Present wherever fullObjectChecksum gives checksums.
   */
  combineChecksums?(pieces: { crc64nvme: string; bytes: number }[]): string;
}
