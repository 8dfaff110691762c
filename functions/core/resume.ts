import type { S3Location } from "./locations.js";
import type { ObjectSink, RemoteFileInfo, UploadedPart } from "./ports.js";

/**
 * Where a suspended copy stands: everything the next leg needs besides the request itself. Small
 * whatever the file's size: the parts are listed from S3 (ListParts), not carried. One that came from
 * outside was checked where it entered (functions/contracts/resume-point.ts); the core trusts it.
 */
export interface ResumePoint {
  uploadId: string;
  /** Bytes the upload's parts hold; the next leg asks the server for the file from here (REST). */
  offset: number;
  /** Every part but the last has this size. */
  partSize: number;
  /** The source as the copy's first leg saw it: a change means starting over. */
  size: number;
  modifiedAt: string;
  /** The SHA-256 state over the first `offset` bytes (RunningHash.save). */
  hashState: string;
  /** The full-object CRC64NVME over the same bytes, when the copy sends one (FullObjectChecksum.value). */
  crcState?: string;
}

/**
 * Recovers a suspended upload: null (after a warning, and the old upload aborted) when the copy must
 * start over because the source changed, the upload is gone, or its parts are not what this copy
 * uploaded; otherwise the parts to complete it with.
 */
export async function recoverUpload(
  sink: ObjectSink,
  target: S3Location,
  point: ResumePoint,
  now: RemoteFileInfo,
  warn: (message: string, details: Record<string, unknown>) => void,
): Promise<{ point: ResumePoint; parts: UploadedPart[] } | null> {
  const startOver = async (why: string, abort: boolean) => {
    warn(`${why}; the copy starts over from byte 0`, { uploadId: point.uploadId, offset: point.offset });
    if (abort) await abandonUpload(sink, target, point.uploadId, warn);
    return null;
  };

  const modifiedAt = now.modifiedAt?.toISOString() ?? null;
  if (now.size !== point.size || modifiedAt !== point.modifiedAt) {
    return startOver(
      `the source changed since the copy started (size ${point.size} -> ${now.size ?? "unknown"}, modified ${point.modifiedAt} -> ${modifiedAt ?? "unknown"})`,
      true,
    );
  }
  const listed = await sink.listParts(target, point.uploadId);
  if (listed === null) {
    return startOver(
      `upload ${point.uploadId} no longer exists (completed by an earlier delivery, aborted, or expired by the lifecycle rule)`,
      false,
    );
  }
  // What the earlier legs uploaded: parts 1..n, each one part size, adding up to the offset.
  const parts = [...listed].sort((a, b) => a.partNumber - b.partNumber);
  const expected = point.offset / point.partSize;
  const matches =
    parts.length === expected &&
    parts.every((part, index) => part.partNumber === index + 1 && part.size === point.partSize);
  if (!matches) {
    return startOver(
      `upload ${point.uploadId} holds ${parts.length} parts (${parts.reduce((n, p) => n + p.size, 0)} bytes), not the ${expected} of ${point.partSize} bytes the copy left`,
      true,
    );
  }
  return { point, parts };
}

/**
 * Aborts the upload an earlier leg left open: the copy failed, or starts over. A refused abort is a
 * warning (the bucket's lifecycle rule removes it in the end), never the error.
 */
export async function abandonUpload(
  sink: ObjectSink,
  target: S3Location,
  uploadId: string,
  warn: (message: string, details: Record<string, unknown>) => void,
): Promise<void> {
  try {
    await sink.abortMultipartUpload(target, uploadId);
  } catch (error) {
    warn("could not abort the earlier leg's multipart upload; the lifecycle rule will", {
      uploadId,
      reason: error instanceof Error ? error.message : String(error),
    });
  }
}
