import { FileTooLargeError, InvalidInputError } from "./errors.js";
import type { PartSize } from "./values.js";

export const MiB = 1024 * 1024;

/** S3's limits for one multipart upload. */
export const S3_MIN_PART_SIZE = 5 * MiB;
export const S3_MAX_PART_SIZE = 5 * 1024 * MiB;
export const S3_MAX_PARTS = 10_000;
export const S3_MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB;

/**
 * Part size when the file's size is known: big enough that few requests carry the file, small enough
 * that memory (part size x queue size) stays at 32 MiB with the default queue of 4.
 */
export const DEFAULT_PART_SIZE = 8 * MiB;

/**
 * Part size when the server gave no SIZE. Without a size we cannot grow the part to fit, so this is
 * what caps the file: 10,000 x 16 MiB = 156.25 GiB.
 */
export const DEFAULT_PART_SIZE_UNKNOWN_TOTAL = 16 * MiB;

/**
 * The part size for an upload of `totalBytes` (null when unknown): the preferred size, grown to a
 * whole number of MiB when the file would otherwise need more than 10,000 parts.
 */
export function choosePartSize(totalBytes: number | null, preferred?: PartSize): number {
  if (totalBytes === null) return preferred ?? DEFAULT_PART_SIZE_UNKNOWN_TOTAL;
  if (!Number.isSafeInteger(totalBytes) || totalBytes < 0) {
    throw new InvalidInputError(`file size must be a whole number of bytes, got ${totalBytes}`);
  }
  if (totalBytes > S3_MAX_OBJECT_SIZE) {
    throw new InvalidInputError(
      `the file has ${totalBytes} bytes, more than an S3 object can hold (${S3_MAX_OBJECT_SIZE} bytes, 5 TiB)`,
    );
  }
  const smallestThatFits = Math.ceil(Math.ceil(totalBytes / S3_MAX_PARTS) / MiB) * MiB;
  return Math.min(Math.max(preferred ?? DEFAULT_PART_SIZE, smallestThatFits), S3_MAX_PART_SIZE);
}

/** How many parts an upload of `totalBytes` takes; a file that fits in one part is a single PutObject. */
export function partCount(totalBytes: number, partSize: number): number {
  return Math.max(1, Math.ceil(totalBytes / partSize));
}

export function assertValidPartSize(partSize: number): asserts partSize is PartSize {
  if (!Number.isSafeInteger(partSize) || partSize < S3_MIN_PART_SIZE || partSize > S3_MAX_PART_SIZE) {
    throw new InvalidInputError(
      `part size must be a whole number of bytes from ${S3_MIN_PART_SIZE} (5 MiB) to ${S3_MAX_PART_SIZE} (5 GiB), got ${partSize}`,
    );
  }
}

/** The size in bytes, once it lies within S3's part range (assertValidPartSize). */
export function partSize(bytes: number): PartSize {
  assertValidPartSize(bytes);
  return bytes;
}

/** The memory part buffers may take when nobody says otherwise: the command's `--max-memory`. */
export const DEFAULT_MEMORY_BUDGET = 256 * MiB;

/** The first buffer of a file smaller than a part is its size, not a whole part; at least this much. */
export const MIN_FIRST_BUFFER = 64 * 1024;

/** How a copy holds its parts in memory: at most `buffers` x `partSize` bytes. */
export interface PartPlan {
  partSize: number;
  /** Parts uploaded at once. */
  queueSize: number;
  /** Part buffers the upload may hold: queueSize when they fit the budget, down to 1. */
  buffers: number;
}

export interface MemoryFit {
  /** The part size already chosen (choosePartSize, or the one a resumed upload's parts have). */
  partSize: number;
  /** Parts uploaded at once when memory allows. */
  queueSize: number;
  /** Bytes the part buffers may take. */
  budget: number;
  /** Bytes still to receive (SIZE less a resumed offset), or null when the server gave no SIZE. */
  expectedBytes: number | null;
  /** Names the file in the error, e.g. its URL. */
  file: string;
}

/**
 * Fits the part buffers into the memory budget: one buffer a part in flight, as lib-storage and
 * rclone hold them (a part being filled takes a buffer that would otherwise carry one in flight, so
 * the download waits while all of them are). The part size is not ours to shrink (S3's 10,000 parts,
 * or the parts a resumed upload already holds, fixed it): the queue shrinks instead. One buffer is
 * the least PartUpload needs to make progress (the download then waits while each part uploads); a
 * file whose one buffer does not fit is refused here, before anything is read or any upload created.
 */
export function fitPartsToMemory(fit: MemoryFit): PartPlan {
  const { partSize, queueSize, budget, expectedBytes } = fit;
  // A file that fits in one part is one buffer of its own size (PartUpload sizes it so).
  if (expectedBytes !== null && expectedBytes <= partSize) {
    const needed = Math.max(expectedBytes, MIN_FIRST_BUFFER);
    if (needed > budget) throw tooLarge(fit, needed);
    return { partSize, queueSize, buffers: 1 };
  }
  const buffers = Math.min(queueSize, Math.floor(budget / partSize));
  if (buffers < 1) throw tooLarge(fit, partSize);
  return { partSize, queueSize: buffers, buffers };
}

function tooLarge(fit: MemoryFit, needed: number): FileTooLargeError {
  const why =
    fit.expectedBytes === null
      ? "the server gave no SIZE"
      : needed === fit.partSize
        ? `${fit.expectedBytes} bytes to receive in at most ${S3_MAX_PARTS} parts`
        : `${fit.expectedBytes} bytes`;
  return new FileTooLargeError(
    `${fit.file} needs ${mebibytesUp(needed)} MiB of memory for one part buffer (${why}), more than the memory budget of ${mebibytesDown(fit.budget)} MiB per copy: raise it (ftp2s3 --max-memory; in the Lambda the function's memory size or transfer.memoryBudgetMiB)`,
  );
}

const mebibytesUp = (bytes: number) => Math.ceil(bytes / MiB);
const mebibytesDown = (bytes: number) => Math.floor(bytes / MiB);
