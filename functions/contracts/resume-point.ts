import { z } from "zod";
import type { ResumePoint } from "../core/index.js";
import { S3_MAX_PART_SIZE, S3_MIN_PART_SIZE } from "../core/index.js";

/**
 * Where a suspended copy goes on (core ResumePoint): the one check of a resume point that comes from
 * outside, a queue message's continuation or the command's state file. The core trusts what passed.
 * The text fields come first so that a damaged file is reported by its first missing text.
 */
export const resumePointSchema = z
  .object({
    uploadId: z.string().min(1),
    modifiedAt: z.iso.datetime(),
    /** The SHA-256 state over the first `offset` bytes (RunningHash.save). */
    hashState: z.string().min(1),
    /** The CRC64NVME over the same bytes (8 bytes, base64), when the copy sends S3 one. */
    crcState: z
      .string()
      .regex(/^[A-Za-z0-9+/]{11}=$/, "must be a CRC64NVME in base64 (12 characters)")
      .optional(),
    offset: z.number().int().positive(),
    partSize: z
      .number()
      .int()
      .min(S3_MIN_PART_SIZE, `must be a whole number of bytes from ${S3_MIN_PART_SIZE} (5 MiB)`)
      .max(S3_MAX_PART_SIZE, `must be a whole number of bytes up to ${S3_MAX_PART_SIZE} (5 GiB)`),
    size: z.number().int().nonnegative(),
  })
  .strict()
  .refine((p) => p.offset <= p.size && p.offset % p.partSize === 0, {
    message: "must be a positive multiple of the part size no larger than the size",
    path: ["offset"],
  }) satisfies z.ZodType<ResumePoint>;
