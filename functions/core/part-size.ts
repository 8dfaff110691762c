import { InvalidInputError } from "./errors.js";

const MiB = 1024 * 1024;

/** S3's limits for one multipart upload. */
export const S3_MIN_PART_SIZE = 5 * MiB;
export const S3_MAX_PART_SIZE = 5 * 1024 * MiB;
export const S3_MAX_PARTS = 10_000;
export const S3_MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB;

/**
 * Part size when the file's size is known: big enough that few requests carry the file, small enough
 * that memory (part size x (queue size + 1)) stays near 40 MiB with the default queue of 4.
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
export function choosePartSize(totalBytes: number | null, preferred?: number): number {
  if (preferred !== undefined) assertValidPartSize(preferred);
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

export function assertValidPartSize(partSize: number): void {
  if (!Number.isSafeInteger(partSize) || partSize < S3_MIN_PART_SIZE || partSize > S3_MAX_PART_SIZE) {
    throw new InvalidInputError(
      `part size must be a whole number of bytes from ${S3_MIN_PART_SIZE} (5 MiB) to ${S3_MAX_PART_SIZE} (5 GiB), got ${partSize}`,
    );
  }
}
