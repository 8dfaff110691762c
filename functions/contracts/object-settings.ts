import { z } from "zod";
import {
  contentTypeProblem,
  mergeObjectSettings,
  type ObjectSettings,
  RETENTION_MODES,
  STORAGE_CLASSES,
  templatesProblems,
} from "../core/index.js";

/**
 * Where a connection's, a mirror job's or a request's objects land. Most specific wins, field by
 * field (metadata and tags name by name): request (API, queue) over mirror job over connection.
 * The key and the lock are the operator's: `kmsKeyId` and `retention` are set on the connection only
 * (the stack grants exactly those keys, and a caller must not lock objects away for years).
 */

const contentType = z.string().superRefine((value, ctx) => {
  const problem = contentTypeProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

function templates(kind: "metadata" | "tags") {
  return z.record(z.string(), z.string()).superRefine((map, ctx) => {
    for (const message of templatesProblems(kind, map)) ctx.addIssue({ code: "custom", message });
  });
}

/** What a mirror job and a request may set. */
export const objectOverridesSchema = z
  .object({
    /** S3 storage class (STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, ...). Default: the bucket's (STANDARD). */
    storageClass: z.enum(STORAGE_CLASSES).optional(),
    /** Content-Type for every object. Default: from the file's extension, else application/octet-stream. */
    contentType: contentType.optional(),
    /** User metadata, name -> template with {connection} {path} {name} {size} {mtime}. Default: none. */
    metadata: templates("metadata").optional(),
    /** Tags (at most 10, 9 with the SHA-256 tag), key -> template as for metadata. Default: none. */
    tags: templates("tags").optional(),
  })
  .strict();

/** A KMS key's ARN: IAM grants a key by its ARN (an alias or a bare id names nothing to grant). */
export const kmsKeyArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
    "must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), which the stack grants",
  );

/** What a connection may set: the overrides, the SSE-KMS key and Object Lock retention. */
export const objectSettingsSchema = objectOverridesSchema
  .extend({
    /** SSE-KMS with this key (the stack grants kms:GenerateDataKey and kms:Decrypt on it, through S3 only). Default: the bucket's encryption. */
    kmsKeyId: kmsKeyArn.optional(),
    /** With kmsKeyId: S3 Bucket Keys, far fewer KMS requests. Default true. */
    bucketKeyEnabled: z.boolean().optional(),
    /** Object Lock retention counted from the upload (the bucket must have Object Lock on). Default: none. */
    retention: z
      .object({ mode: z.enum(RETENTION_MODES), days: z.number().int().min(1).max(36_500) })
      .strict()
      .optional(),
  })
  .strict();

export type ObjectOverrides = z.infer<typeof objectOverridesSchema>;
export type ObjectSettingsConfig = z.infer<typeof objectSettingsSchema>;

/**
 * The one object settings value of a copy: the connection's, then the job's, then the request's,
 * each field from the most specific level that sets it. `connection` is what {connection} renders.
 */
export function objectSettingsOf(
  connection: string,
  configured: ObjectSettingsConfig | undefined,
  ...overrides: (ObjectOverrides | undefined)[]
): ObjectSettings {
  const { kmsKeyId, bucketKeyEnabled, retention, ...rest } = configured ?? {};
  return mergeObjectSettings(
    {
      connection,
      ...(kmsKeyId === undefined ? {} : { kms: { keyId: kmsKeyId, bucketKey: bucketKeyEnabled ?? true } }),
      ...(retention === undefined ? {} : { retention }),
    },
    rest,
    ...overrides,
  );
}
