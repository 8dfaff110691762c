import { S3Error } from "./errors.js";
import { landedAsPlanned, type PlannedObject } from "./landed-object.js";
import { formatS3Url, type S3Location } from "./locations.js";
import type { CommittedObject, ObjectSink } from "./ports.js";

/** A committed object, and why it was taken from a HEAD when the Complete's answer was lost. */
export interface CompletedUpload extends CommittedObject {
  /** Set when the Complete's answer was lost and the object at the key proved to be this upload's. */
  answerLost?: string;
}

/**
 * CompleteMultipartUpload, the one commit of a multipart upload. S3 may commit it while its answer is
 * lost (a reset, a timeout, a proxy's 5xx after the commit); the retry (the SDK's, or ours) then meets
 * NoSuchUpload, and the object is in the bucket. So a 404 is not the end: see foundLanded.
 */
export async function completeUpload(
  sink: ObjectSink,
  target: S3Location,
  uploadId: string,
  parts: { partNumber: number; etag: string }[],
  options: { ifNoneMatch: boolean; crc64nvme?: string },
  size: number,
): Promise<CompletedUpload> {
  try {
    return await sink.completeMultipartUpload(target, uploadId, parts, options);
  } catch (error) {
    if (!(error instanceof S3Error && error.httpStatus === 404)) throw error;
    const planned = {
      size,
      crc64nvme: options.crc64nvme ?? null,
      partEtags: parts.map((part) => part.etag),
    };
    return foundLanded(sink, target, uploadId, planned, error);
  }
}

/**
 * The upload is gone (`gone`, a 404): its object counts as committed only when a HEAD proves it is
 * exactly what the upload would have made (landed-object.ts); otherwise `gone` is the failure, as it
 * would have been without the look.
 */
export async function foundLanded(
  sink: ObjectSink,
  target: S3Location,
  uploadId: string,
  planned: PlannedObject,
  gone: Error,
): Promise<CompletedUpload & { answerLost: string }> {
  const found = await sink.head(target, { checksum: true }).catch(() => {
    throw gone; // the HEAD's own failure would hide why the commit failed
  });
  const landing = landedAsPlanned(planned, found);
  if (!landing.landed || found === null) throw gone;
  return {
    etag: found.etag,
    versionId: found.versionId,
    answerLost: `upload ${uploadId} to ${formatS3Url(target)} was gone when its completion was asked again (the answer to an earlier CompleteMultipartUpload was lost): the object at the key is this upload's (${landing.proof}), so it counts as committed`,
  };
}
