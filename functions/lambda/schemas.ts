import { z } from "zod";
import { describeIssues } from "../config.js";
import { InvalidInputError } from "../core/index.js";

/** Where a suspended copy goes on (core/resume.ts ResumePoint), as a queue message carries it. */
const resumePointSchema = z
  .object({
    uploadId: z.string().min(1),
    offset: z.number().int().positive(),
    partSize: z.number().int().positive(),
    size: z.number().int().nonnegative(),
    modifiedAt: z.iso.datetime(),
    hashState: z.string().min(1),
  })
  .strict();

/** Set by a leg that stopped before the end: the next leg's instructions. */
const continuationSchema = z
  .object({
    /** 1 for the first continuation (the copy's second leg). */
    number: z.number().int().positive(),
    /** null: start from byte 0 (nothing was uploaded, or the server refused REST). */
    resumeAt: resumePointSchema.nullable(),
    /** What the first leg was told to do with an existing object. */
    ifExists: z.enum(["fail", "fail-unless-unchanged", "replace", "skip-unchanged"]),
    /** The server refused REST: run to the end or fail, never suspend (it could not go on). */
    noRestart: z.boolean().default(false),
    /** HMAC-SHA256 by the function over every field above and the request's (continuation-signature.ts). */
    signature: z.string().min(1).max(128).optional(),
  })
  .strict();

/** A request to copy one file: what API callers send and what queue messages carry. */
export const transferRequestSchema = z
  .object({
    /** The configured connection to read from. */
    connection: z.string().min(1),
    /** Absolute path of the file on that server. */
    path: z.string().min(1),
    /** Key below the connection's key space (`prefix` + keyPrefix); default: the path without its "/". */
    key: z.string().min(1).optional(),
    /**
     * Replace an object already at the key. Default false: an existing object is refused (a queued
     * copy leaves an object holding this very version alone: a message may arrive twice).
     */
    overwrite: z.boolean().optional(),
    /** Queue only: a mirror's fan-out, which replaces an object of an older version (set by ftp2s3). */
    mirrored: z.boolean().optional(),
    /** API only: queue the copy and answer 202 at once. */
    async: z.boolean().default(false),
    /** Set by the API when it queues a request, so logs of both legs share it. */
    transferId: z.string().optional(),
    /** Queue only: the copy's earlier legs stopped here (set by ftp2s3 itself, not by callers). */
    continuation: continuationSchema.optional(),
  })
  .strict();

export type TransferRequest = z.infer<typeof transferRequestSchema>;

/** A scheduled mirror job. */
export const mirrorJobSchema = z
  .object({
    connection: z.string().min(1),
    /** Absolute directory on the server. */
    remoteDir: z.string().min(1),
    /** Key prefix below the configured prefix ("" or ending in "/"). */
    prefix: z.string().refine((p) => p === "" || p.endsWith("/"), 'must be "" or end with "/"'),
    include: z.array(z.string().min(1)).default([]),
    exclude: z.array(z.string().min(1)).default([]),
    recursive: z.boolean().default(false),
    /** Delete objects under the prefix whose source file is gone. Default false. */
    deleteExtraneous: z.boolean().default(false),
    /** Above this many deletions a run deletes none and fails (DELETE_LIMIT). Default: 100 or a tenth of the prefix's objects. */
    maxDelete: z.number().int().nonnegative().optional(),
    /** Let an empty listing delete what lies below it (otherwise the run deletes none: EMPTY_SOURCE). Default false. */
    allowEmptySource: z.boolean().default(false),
    /** Directory levels listed below remoteDir. Default 32. */
    maxDepth: z.number().int().positive().max(1000).optional(),
    /** Listing entries one run takes in (memory stays bounded by it). Default 250,000 (about 200 MiB of planning, measured). */
    maxEntries: z.number().int().positive().max(10_000_000).optional(),
    /** Report what a run would do, change nothing. Default false. */
    dryRun: z.boolean().default(false),
  })
  .strict();

export type MirrorJob = z.infer<typeof mirrorJobSchema>;

/** Validates `input`; an InvalidInputError names every field that is wrong. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new InvalidInputError(`invalid ${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
