import { createHmac, timingSafeEqual } from "node:crypto";
import type { TransferRequest } from "../contracts/index.js";
import { NotAllowedError, type ResumePoint } from "../core/index.js";

/** The fields of a queued continuation that the next leg trusts, and its signature. */
export type SignedFields = Pick<TransferRequest, "connection" | "path" | "key" | "transferId"> & {
  continuation: Omit<NonNullable<TransferRequest["continuation"]>, "signature">;
};

/**
 * What is signed, in signing order: every field of the continuation and of its resume point (a test
 * holds these lists to the schemas in functions/contracts, so a new field cannot go unsigned).
 */
export const SIGNED_CONTINUATION_FIELDS = [
  "number",
  "resumeAt",
  "ifExists",
  "noRestart",
] as const satisfies readonly (keyof SignedFields["continuation"])[];
export const SIGNED_RESUME_POINT_FIELDS = [
  "uploadId",
  "offset",
  "partSize",
  "size",
  "modifiedAt",
  "hashState",
  "crcState",
] as const satisfies readonly (keyof ResumePoint)[];

/**
 * One canonical text per continuation: a JSON array in a fixed order, so no field can move, be
 * dropped or be added without changing what is signed. A version tag keeps a future layout apart.
 */
export function canonicalContinuation(request: SignedFields): string {
  const { continuation: c } = request;
  const r = c.resumeAt;
  return JSON.stringify([
    "ftp2s3-continuation-v1",
    request.connection,
    request.path,
    request.key ?? null,
    request.transferId ?? null,
    ...SIGNED_CONTINUATION_FIELDS.map((field) =>
      field !== "resumeAt" ? c[field] : r === null ? null : resumePointValues(r),
    ),
  ]);
}

/**
 * The resume point's fields in signing order. crcState, the one optional field, is last and left out
 * when absent: a continuation signed before it existed (or of a copy that sends S3 no checksum) reads
 * as it was signed.
 */
function resumePointValues(point: ResumePoint): unknown[] {
  const values: unknown[] = SIGNED_RESUME_POINT_FIELDS.map((field) => point[field]);
  return point.crcState === undefined ? values.slice(0, -1) : values;
}

/** HMAC-SHA256 of the canonical text, base64url. */
export function signContinuation(request: SignedFields, key: Uint8Array): string {
  return createHmac("sha256", key).update(canonicalContinuation(request), "utf8").digest("base64url");
}

/**
 * Refuses a continuation this function did not sign, before anything acts on it: a forged one could
 * name another copy's upload (to abort it, or to finish it with another file's bytes).
 */
export function assertSignedContinuation(
  request: SignedFields & { continuation: { signature?: string | undefined } },
  key: Uint8Array | undefined,
): void {
  const { signature } = request.continuation;
  if (key === undefined) {
    throw new NotAllowedError("a continuation was refused: no continuation key is configured to check it");
  }
  if (signature === undefined) throw new NotAllowedError("a continuation was refused: it is not signed");
  const expected = Buffer.from(signContinuation(request, key), "base64url");
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new NotAllowedError("a continuation was refused: its signature does not match");
  }
}
