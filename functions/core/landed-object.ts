import { createHash } from "node:crypto";
import type { ExistingObject } from "./ports.js";

/** What a multipart upload makes once completed, all known before its CompleteMultipartUpload is sent. */
export interface PlannedObject {
  /** Bytes in all its parts. */
  size: number;
  /** The full-object CRC64NVME sent with the Complete (base64), or null when none was sent. */
  crc64nvme: string | null;
  /** The parts' ETags in part order, or null when they are no longer at hand (the upload was gone). */
  partEtags: string[] | null;
}

/** Whether the object at the key is the one the upload would have made, and what shows it. */
export type Landing = { landed: true; proof: string } | { landed: false; why: string };

/**
 * Decides whether an object found at the key after a Complete that met NoSuchUpload is this upload's
 * own: its answer was lost, S3 had committed it, and the retry found the upload gone. Only proof
 * counts: the size, and the full-object CRC64NVME S3 checked against the bytes we read; without a
 * checksum to compare, the ETag S3 gives a multipart object, the MD5 of its parts' MD5s and their
 * number (an object of other bytes, or of the same bytes in other parts, has another).
 */
export function landedAsPlanned(planned: PlannedObject, found: ExistingObject | null): Landing {
  if (found === null) return { landed: false, why: "there is no object at the key" };
  if (found.size !== planned.size) {
    return { landed: false, why: `the object at the key is ${found.size} bytes, not ${planned.size}` };
  }
  if (planned.crc64nvme !== null && found.crc64nvme !== undefined) {
    return found.crc64nvme === planned.crc64nvme
      ? { landed: true, proof: `${found.size} bytes, CRC64NVME ${found.crc64nvme} as sent` }
      : { landed: false, why: `the object's CRC64NVME is ${found.crc64nvme}, not ${planned.crc64nvme}` };
  }
  const expected = planned.partEtags === null ? null : multipartEtag(planned.partEtags);
  if (expected === null) {
    return { landed: false, why: "neither a CRC64NVME nor the parts' MD5s are at hand to compare" };
  }
  return found.etag === expected
    ? { landed: true, proof: `${found.size} bytes, ETag ${found.etag} as its parts make it` }
    : { landed: false, why: `the object's ETag is ${found.etag}, not ${expected}` };
}

/**
 * The ETag S3 gives the object a multipart upload of these parts makes: the MD5 of the parts' binary
 * MD5s, "-", their number. Null when a part's ETag is not an MD5 (S3-compatible servers, SSE-C).
 */
export function multipartEtag(partEtags: string[]): string | null {
  if (partEtags.length === 0 || !partEtags.every((etag) => /^[0-9a-f]{32}$/i.test(etag))) return null;
  const md5s = Buffer.concat(partEtags.map((etag) => Buffer.from(etag, "hex")));
  return `${createHash("md5").update(md5s).digest("hex")}-${partEtags.length}`;
}
