import type { CreateMultipartUploadCommandInput, PutObjectCommandInput } from "@aws-sdk/client-s3";
import type { ObjectLanding } from "../core/index.js";

/** The parameters CreateMultipartUpload and PutObject share. */
type LandingParams = Pick<
  PutObjectCommandInput & CreateMultipartUploadCommandInput,
  | "ContentType"
  | "StorageClass"
  | "ServerSideEncryption"
  | "SSEKMSKeyId"
  | "BucketKeyEnabled"
  | "Tagging"
  | "ObjectLockMode"
  | "ObjectLockRetainUntilDate"
>;

/**
 * Where and how the object lands, as the upload's first request says it: S3 takes all of these only
 * there (a multipart upload's on CreateMultipartUpload), so tags ride along in the x-amz-tagging
 * header rather than a request of their own. `extraTags` (the SHA-256 of a one-request file) join
 * the landing's. Nothing is sent for what the settings leave to the bucket.
 */
export function landingParams(
  landing: ObjectLanding | undefined,
  extraTags?: Record<string, string>,
): LandingParams {
  const tags = { ...landing?.tags, ...extraTags };
  const params: LandingParams = {};
  if (Object.keys(tags).length > 0) params.Tagging = new URLSearchParams(tags).toString();
  if (landing === undefined) return params;
  params.ContentType = landing.contentType;
  if (landing.storageClass !== undefined)
    params.StorageClass = landing.storageClass as LandingParams["StorageClass"];
  if (landing.kms !== undefined) {
    params.ServerSideEncryption = "aws:kms";
    params.SSEKMSKeyId = landing.kms.keyId;
    if (landing.kms.bucketKey) params.BucketKeyEnabled = true;
  }
  if (landing.retention !== undefined) {
    params.ObjectLockMode = landing.retention.mode;
    params.ObjectLockRetainUntilDate = landing.retention.retainUntil;
  }
  return params;
}
