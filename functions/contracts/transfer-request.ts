import { z } from "zod";
import { afterCopySchema } from "./after-copy.js";
import { transferIdSchema } from "./ledger-table.js";
import { objectOverridesSchema } from "./object-settings.js";
import { resumePointSchema } from "./resume-point.js";

/** Set by a leg that stopped before the end: the next leg's instructions. */
export const continuationSchema = z
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
    /** What becomes of the source file once the object is committed (see afterCopySchema). Default "keep". */
    afterCopy: afterCopySchema.optional(),
    /** API only: queue the copy and answer 202 at once. */
    async: z.boolean().default(false),
    /** Set by the API when it queues a request, so logs of both legs share it. */
    transferId: transferIdSchema.optional(),
    /** Storage class, content type, metadata and tags, over the connection's (a mirror's fan-out: its job's). */
    object: objectOverridesSchema.optional(),
    /**
     * Queue only: how many times this copy found the FTP server busy and came back later (set by
     * ftp2s3 when it re-sends the message with a delay; not signed: it only bounds those returns).
     */
    busy: z.number().int().min(1).max(1000).optional(),
    /** Queue only: the copy's earlier legs stopped here (set by ftp2s3 itself, not by callers). */
    continuation: continuationSchema.optional(),
  })
  .strict();

export type TransferRequest = z.infer<typeof transferRequestSchema>;
