import { S3Error } from "../core/index.js";

/**
 * An S3 failure worth trying again later: S3 answered 5xx (its SlowDown is a 503) or 429, or did not
 * answer at all (no HTTP status: the connection broke or timed out). The SDK has retried each
 * request already; what reaches here outlasted its retries. A 4xx is S3's refusal and stays one,
 * as do a checksum S3 refused and an object that appeared at the key (errors of their own).
 */
export function isTemporaryS3Failure(error: unknown): boolean {
  if (!(error instanceof S3Error)) return false;
  const status = error.httpStatus;
  return status === undefined || status === 429 || status >= 500;
}
