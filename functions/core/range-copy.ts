import {
  abortReason,
  RestartRefusedError,
  S3Error,
  SizeMismatchError,
  SourceChangedError,
  throwIfAborted,
  untilAborted,
} from "./errors.js";
import { Intake } from "./intake.js";
import { formatS3Url, type S3Location } from "./locations.js";
import { PartUpload } from "./part-upload.js";
import type { FileSource, ObjectSink, RemoteFileInfo, UploadedPart } from "./ports.js";
import { partSizeIn, partsOf, type RangeSpec, type SourceVersion } from "./range-plan.js";
import type { RunningHash } from "./sha256.js";
import type { RemoteFilePath } from "./values.js";

export interface RangeCopyArgs {
  path: RemoteFilePath;
  target: S3Location;
  /** The fanned-out file's multipart upload, opened by whoever planned the ranges. */
  uploadId: string;
  range: RangeSpec;
  /** The file as the plan saw it: a leg that finds it otherwise reads nothing. */
  version: SourceVersion;
  signal: AbortSignal;
  /** The range's bytes received so far. */
  onProgress?: (bytes: number) => void;
  /** Parts uploaded at once, and part buffers (memory: buffers x partSize); default 4 and queueSize + 1. */
  parts?: { queueSize: number; buffers?: number };
}

/** What one range leg uploaded: confirmed by the byte count, not yet part of any object. */
export interface RangeCopied {
  bytes: number;
  parts: UploadedPart[];
  /** The CRC64NVME of the range's bytes (base64), or null when the sink sends no checksums. */
  crc64nvme: string | null;
}

const DEFAULT_QUEUE_SIZE = 4;

/**
 * A full-file SHA-256 cannot be put together from ranges read apart (unlike a CRC): a range leg
 * computes none, and a fanned-out object carries no sha256 tag.
 */
const NO_SHA256: RunningHash = { update: () => undefined, digest: () => "", save: () => undefined };

/**
 * One range leg of a fanned-out file: checks that the file is still the version the plan saw, reads
 * [start, end) with REST + RETR (the read is cut after its last byte), and uploads it as the range's
 * own part numbers of the file's open multipart upload, computing the range's CRC64NVME on the way.
 * Completes nothing: the upload stays open whatever happens (a retried range uploads the same part
 * numbers again, which S3 replaces), and completeRanges commits once every range is confirmed.
 *
 * The session is left in no state for another command (the read is cut): the caller closes it.
 */
export async function copyRange(
  source: FileSource,
  sink: ObjectSink,
  args: RangeCopyArgs,
): Promise<RangeCopied> {
  const { path, target, uploadId, range, version, signal } = args;
  const url = source.urlOf(path);
  const readRange = source.downloadRange?.bind(source);
  if (readRange === undefined) {
    throw new RestartRefusedError(`${url}: this session cannot read a range of a file`);
  }
  throwIfAborted(signal);
  assertSameVersion(
    url,
    version,
    await untilAborted(() => source.stat(path), signal),
    `range ${range.index}`,
  );
  // Also tells the sink how this upload's parts are checksummed (it was opened elsewhere).
  const held = await untilAborted(() => sink.listParts(target, uploadId), signal);
  if (held === null) throw uploadGone(target, uploadId);
  const crc = (await sink.fullObjectChecksum?.()) ?? null;
  const length = range.end - range.start;
  const queueSize = args.parts?.queueSize ?? DEFAULT_QUEUE_SIZE;
  const upload = new PartUpload(sink, target, {
    partSize: range.partSize,
    queueSize,
    buffers: args.parts?.buffers ?? queueSize + 1,
    metadata: {},
    ifNoneMatch: false,
    expectedBytes: length,
    hash: NO_SHA256,
    ...(crc === null ? {} : { crc }),
    resume: { uploadId, parts: [] },
    firstPartNumber: range.firstPart,
  });
  // One signal stops the read for either reason: the caller's, or S3 failing under us.
  const stop = new AbortController();
  const forwardCallerAbort = () => stop.abort(signal.reason);
  signal.addEventListener("abort", forwardCallerAbort, { once: true });
  upload.failed.catch((error: unknown) => stop.abort(error));
  const intake = new Intake(upload, (bytes) => args.onProgress?.(bytes));
  try {
    await untilAborted(() => readRange(path, intake, stop.signal, range.start, range.end), stop.signal);
    await intake.flush();
    // The adapter delivers exactly the range or rejects; the rule is checked where it is decided.
    if (intake.bytes !== length) {
      throw new SizeMismatchError(
        `${url}: range ${range.index} (bytes ${range.start}-${range.end}) received ${intake.bytes} of its ${length} bytes`,
        length,
        intake.bytes,
      );
    }
    const parts = await upload.finishParts();
    if (parts.length !== partsOf(range)) {
      throw new S3Error(
        `${formatS3Url(target)}: range ${range.index} uploaded ${parts.length} parts, not the ${partsOf(range)} planned`,
        undefined,
      );
    }
    return {
      bytes: length,
      parts: parts.map((part) => ({ ...part, size: partSizeIn(range, part.partNumber) })),
      crc64nvme: crc === null ? null : await crc.value(),
    };
  } catch (error) {
    if (!stop.signal.aborted) stop.abort(error);
    // Parts in flight settle before the leg reports: a retry must not race this leg's requests.
    // The upload stays open either way.
    await upload.suspend().catch(() => {});
    throw signal.aborted ? abortReason(signal) : error;
  } finally {
    signal.removeEventListener("abort", forwardCallerAbort);
  }
}

/**
 * The file is still the version the plan saw: the same SIZE, and the same MDTM to the second where
 * the plan had one. A file the server no longer sizes (gone, or refused) counts as changed: a
 * range's bytes are only worth keeping for the file they were planned from.
 */
export function assertSameVersion(
  url: string,
  version: SourceVersion,
  now: RemoteFileInfo,
  when: string,
): void {
  const problems: string[] = [];
  if (now.size !== version.size) problems.push(`size ${version.size} is now ${now.size ?? "unknown"}`);
  if (version.modifiedAt !== null) {
    const then = Math.floor(Date.parse(version.modifiedAt) / 1000);
    const seconds = now.modifiedAt === null ? null : Math.floor(now.modifiedAt.getTime() / 1000);
    if (seconds !== then) {
      problems.push(`modified ${version.modifiedAt} is now ${now.modifiedAt?.toISOString() ?? "unknown"}`);
    }
  }
  if (problems.length > 0) {
    throw new SourceChangedError(
      `${url} changed since its ranged copy was planned (${when}: ${problems.join(", ")}): its ranges are not committed`,
    );
  }
}

export function uploadGone(target: S3Location, uploadId: string): S3Error {
  return new S3Error(
    `${formatS3Url(target)}: upload ${uploadId} no longer exists (completed, aborted, or expired by the lifecycle rule)`,
    404,
  );
}
