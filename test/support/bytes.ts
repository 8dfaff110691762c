/** Byte helpers without the AWS SDK, so unit tests can use them without loading it (objects.ts re-exports them). */
import { createHash, randomBytes } from "node:crypto";

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Random bytes, so that a shifted or repeated part cannot hash the same as the original. */
export function randomFile(size: number): Buffer {
  return randomBytes(size);
}
