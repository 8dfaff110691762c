import { createHmac, timingSafeEqual } from "node:crypto";
import { NotAllowedError } from "../core/index.js";

/** What a range message's signature covers: the transfer, the range, and the plan's upload. */
export interface SignedRange {
  transferId: string;
  range: number;
  uploadId: string;
}

/** One canonical text per range message; the version tag keeps it apart from continuations' texts. */
function canonicalRange({ transferId, range, uploadId }: SignedRange): string {
  return JSON.stringify(["ftp2s3-range-v1", transferId, range, uploadId]);
}

/** HMAC-SHA256 of the canonical text with the continuation key, base64url. */
export function signRange(signed: SignedRange, key: Uint8Array): string {
  return createHmac("sha256", key).update(canonicalRange(signed), "utf8").digest("base64url");
}

/**
 * Refuses a range message this function did not sign for this plan, before anything acts on it: a
 * forged one could otherwise make legs read ranges of any transfer's plan, and one of an abandoned
 * plan would write parts into an upload no one completes.
 */
export function assertSignedRange(signed: SignedRange, signature: string, key: Uint8Array | undefined): void {
  if (key === undefined) {
    throw new NotAllowedError("a range message was refused: no continuation key is configured to check it");
  }
  const expected = Buffer.from(signRange(signed, key), "base64url");
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new NotAllowedError(
      `a range message was refused: its signature does not match range ${signed.range} of transfer ${signed.transferId}'s plan`,
    );
  }
}
