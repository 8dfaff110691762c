import { InvalidInputError } from "./errors.js";
import { MiB, S3_MAX_OBJECT_SIZE, S3_MAX_PART_SIZE, S3_MAX_PARTS, S3_MIN_PART_SIZE } from "./part-size.js";

/**
 * One range of a fanned-out file: the bytes [start, end), uploaded as the parts firstPart,
 * firstPart + 1, ... of the file's one multipart upload, each `partSize` bytes except a short last
 * part of the last range. `start` is a multiple of `partSize`, so the ranges' parts line up.
 */
export interface RangeSpec {
  /** 0, 1, ...: the range's place in the file. */
  index: number;
  start: number;
  end: number;
  firstPart: number;
  partSize: number;
}

/** The file as the plan saw it (SIZE, MDTM): every range leg and the completion check it again. */
export interface SourceVersion {
  size: number;
  /** ISO 8601, or null when the server gave no MDTM. */
  modifiedAt: string | null;
}

export interface RangePlan {
  /** The part size every range uses (grown from the one asked when 10,000 parts would not hold the file). */
  partSize: number;
  ranges: RangeSpec[];
}

/**
 * Splits a file of `size` bytes into at most `ranges` ranges of whole parts, as even as whole parts
 * allow (the first ranges take one part more when they do not divide). The part size grows by whole
 * MiB until the file fits in `maxParts` parts, and is at least S3's 5 MiB; a file of fewer parts
 * than `ranges` gets one range a part. Pure: the same inputs give the same plan, in every leg.
 */
export function planRanges(
  size: number,
  opts: { ranges: number; partSize: number; maxParts?: number },
): RangePlan {
  const maxParts = opts.maxParts ?? S3_MAX_PARTS;
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new InvalidInputError(`a ranged copy needs a file of at least one byte, got a size of ${size}`);
  }
  if (size > S3_MAX_OBJECT_SIZE) {
    throw new InvalidInputError(
      `the file has ${size} bytes, more than an S3 object can hold (${S3_MAX_OBJECT_SIZE} bytes, 5 TiB)`,
    );
  }
  if (!Number.isSafeInteger(opts.ranges) || opts.ranges < 1) {
    throw new InvalidInputError(`ranges must be a whole number from 1, got ${opts.ranges}`);
  }
  if (!Number.isSafeInteger(maxParts) || maxParts < 1 || maxParts > S3_MAX_PARTS) {
    throw new InvalidInputError(`maxParts must be a whole number from 1 to ${S3_MAX_PARTS}, got ${maxParts}`);
  }
  if (!Number.isSafeInteger(opts.partSize) || opts.partSize < 1 || opts.partSize > S3_MAX_PART_SIZE) {
    throw new InvalidInputError(
      `part size must be a whole number of bytes up to ${S3_MAX_PART_SIZE} (5 GiB), got ${opts.partSize}`,
    );
  }
  const smallestThatFits = Math.ceil(Math.ceil(size / maxParts) / MiB) * MiB;
  const partSize = Math.min(Math.max(opts.partSize, S3_MIN_PART_SIZE, smallestThatFits), S3_MAX_PART_SIZE);
  const parts = Math.ceil(size / partSize);
  if (parts > maxParts) {
    throw new InvalidInputError(
      `${size} bytes do not fit in ${maxParts} parts of at most ${S3_MAX_PART_SIZE} bytes (5 GiB)`,
    );
  }
  const count = Math.min(opts.ranges, parts);
  const base = Math.floor(parts / count);
  const longer = parts % count;
  const ranges: RangeSpec[] = [];
  let firstPart = 1;
  for (let index = 0; index < count; index += 1) {
    const partsHere = base + (index < longer ? 1 : 0);
    const start = (firstPart - 1) * partSize;
    const end = Math.min(start + partsHere * partSize, size);
    ranges.push({ index, start, end, firstPart, partSize });
    firstPart += partsHere;
  }
  return { partSize, ranges };
}

/** How many parts a range of the plan holds. */
export function partsOf(range: RangeSpec): number {
  return Math.ceil((range.end - range.start) / range.partSize);
}

/** The size of the range's part `partNumber` (a number of this range's): whole, or the short last one. */
export function partSizeIn(range: RangeSpec, partNumber: number): number {
  const start = range.start + (partNumber - range.firstPart) * range.partSize;
  return Math.min(range.partSize, range.end - start);
}
