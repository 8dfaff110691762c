import { InvalidInputError, SizeMismatchError } from "./errors.js";
import { formatS3Url, type S3Location } from "./locations.js";
import type { FileSource, ObjectSink, UploadedPart } from "./ports.js";
import { assertSameVersion, uploadGone } from "./range-copy.js";
import { partSizeIn, partsOf, type RangeSpec, type SourceVersion } from "./range-plan.js";
import { type CompletedUpload, completeUpload, foundLanded } from "./upload-completion.js";
import type { RemoteFilePath } from "./values.js";

/** A range as its leg reported it: where it lies, and what it read. */
export interface RangeDone extends Omit<RangeSpec, "partSize"> {
  /** Bytes the leg confirmed. */
  bytes: number;
  /** The range's CRC64NVME (base64), or null when its leg computed none. */
  crc64nvme: string | null;
}

export interface CompleteRangesArgs {
  path: RemoteFilePath;
  target: S3Location;
  uploadId: string;
  /** The file's size as planned (SourceVersion.size). */
  size: number;
  partSize: number;
  /** Every range of the plan, each confirmed by its leg. */
  ranges: RangeDone[];
  version: SourceVersion;
  /** Fail rather than replace an object that appeared at the key meanwhile (S3 conditional write). */
  ifNoneMatch: boolean;
}

/**
 * The commit rule of a fanned-out file, checked once every range leg has reported: the ranges cover
 * the file end to end with the bytes they were planned for; the file is still the version they were
 * read from (SIZE, MDTM, asked once more: a SourceChangedError, and the caller aborts the upload); S3
 * holds every planned part at its planned size. Then one CompleteMultipartUpload, with the full-object
 * CRC64NVME combined from the ranges' (S3 checks it against the bytes it holds) when every range has
 * one. An upload found gone, here or at the Complete, counts as committed when the object at the key
 * proves to be its own (an earlier completion's answer was lost: upload-completion.ts). Nothing is
 * aborted here: a failure leaves the upload to the caller.
 */
export async function completeRanges(
  source: FileSource,
  sink: ObjectSink,
  args: CompleteRangesArgs,
): Promise<CompletedUpload & { crc64nvme: string | null }> {
  const { path, target, uploadId, version } = args;
  const url = source.urlOf(path);
  const ranges = [...args.ranges].sort((a, b) => a.start - b.start);
  assertRangesCoverFile(url, ranges, args);
  assertSameVersion(url, version, await source.stat(path), "before completing");
  const crc64nvme = combinedCrc(sink, ranges);
  const held = await sink.listParts(target, uploadId);
  if (held === null) {
    // An earlier completion (another attempt of this one) may have committed it, its answer lost.
    const planned = { size: args.size, crc64nvme, partEtags: null };
    const found = await foundLanded(sink, target, uploadId, planned, uploadGone(target, uploadId));
    return { ...found, crc64nvme };
  }
  const parts = partsToComplete(target, uploadId, ranges, args.partSize, held);
  const committed = await completeUpload(
    sink,
    target,
    uploadId,
    parts,
    { ifNoneMatch: args.ifNoneMatch, ...(crc64nvme === null ? {} : { crc64nvme }) },
    args.size,
  );
  return { ...committed, crc64nvme };
}

/** Each range starts where the one before ended, at its planned part, and its leg read all of it. */
function assertRangesCoverFile(url: string, ranges: RangeDone[], args: CompleteRangesArgs): void {
  const { size, partSize } = args;
  let expectedStart = 0;
  for (const range of ranges) {
    if (range.start !== expectedStart || range.firstPart !== range.start / partSize + 1) {
      throw new InvalidInputError(
        `${url}: range ${range.index} starts at byte ${range.start} (part ${range.firstPart}), where byte ${expectedStart} (part ${expectedStart / partSize + 1}) was due: the ranges do not make the plan`,
      );
    }
    const length = range.end - range.start;
    if (range.bytes !== length) {
      throw new SizeMismatchError(
        `${url}: range ${range.index} (bytes ${range.start}-${range.end}) read ${range.bytes} of its ${length} bytes: the file is not committed`,
        length,
        range.bytes,
      );
    }
    expectedStart = range.end;
  }
  if (expectedStart !== size) {
    throw new InvalidInputError(
      `${url}: the ranges cover ${expectedStart} of the file's ${size} bytes: the ranges do not make the plan`,
    );
  }
}

/** The planned parts as S3 holds them (with the ETags it lists): each there, each of its planned size. */
function partsToComplete(
  target: S3Location,
  uploadId: string,
  ranges: RangeDone[],
  partSize: number,
  held: UploadedPart[],
): { partNumber: number; etag: string }[] {
  const byNumber = new Map(held.map((part) => [part.partNumber, part]));
  const parts: { partNumber: number; etag: string }[] = [];
  for (const done of ranges) {
    const range: RangeSpec = { ...done, partSize };
    const last = range.firstPart + partsOf(range) - 1;
    for (let partNumber = range.firstPart; partNumber <= last; partNumber += 1) {
      const part = byNumber.get(partNumber);
      const planned = partSizeIn(range, partNumber);
      if (part === undefined || part.size !== planned) {
        const heldBytes = sumHeld(byNumber, range.firstPart, last);
        throw new SizeMismatchError(
          `${formatS3Url(target)}: range ${range.index} (parts ${range.firstPart}-${last} of upload ${uploadId}): part ${partNumber} is ${part === undefined ? "missing" : `${part.size} bytes, not ${planned}`}; the range must be copied again`,
          range.end - range.start,
          heldBytes,
        );
      }
      parts.push({ partNumber, etag: part.etag });
    }
  }
  return parts;
}

function sumHeld(byNumber: Map<number, UploadedPart>, first: number, last: number): number {
  let bytes = 0;
  for (let n = first; n <= last; n += 1) bytes += byNumber.get(n)?.size ?? 0;
  return bytes;
}

/**
 * The ranges' CRC64NVMEs combined in file order into the object's, or null when a range has none
 * (the sink sends no checksums): S3 then checks the parts' own checksums only.
 */
function combinedCrc(sink: ObjectSink, ranges: RangeDone[]): string | null {
  const pieces: { crc64nvme: string; bytes: number }[] = [];
  for (const range of ranges) {
    if (range.crc64nvme === null) return null;
    pieces.push({ crc64nvme: range.crc64nvme, bytes: range.bytes });
  }
  if (sink.combineChecksums === undefined) {
    throw new Error("the ranges carry CRC64NVMEs but this sink cannot combine them (combineChecksums)");
  }
  return sink.combineChecksums(pieces);
}
