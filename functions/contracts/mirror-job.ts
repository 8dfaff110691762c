import { z } from "zod";
import { doneMarkerProblem } from "../core/index.js";
import { afterCopySchema } from "./after-copy.js";
import { absolutePath, connectionName } from "./connection.js";
import { keyPrefix } from "./key-rules.js";
import { objectOverridesSchema } from "./object-settings.js";

/**
 * A mirror job: what a schedule sends the function as `{ "mirror": { ... } }`. The one definition of
 * a job's fields: the stack's `mirrors[]` entry is this schema plus the schedule's own fields, and the
 * schedule's input is the entry's job fields, so a new field is added here and only here.
 */
export const mirrorJobSchema = z
  .object({
    connection: z.string().min(1),
    /** Absolute directory on the server. */
    remoteDir: z.string().min(1),
    /** Key prefix below the connection's key space ("" or ending in "/"). */
    prefix: keyPrefix,
    /** Glob patterns a file name must match. Default: every file. */
    include: z.array(z.string().min(1)).default([]),
    /** Glob patterns that leave a file out. Default: none. */
    exclude: z.array(z.string().min(1)).default([]),
    /** Descend into subdirectories. Default false. */
    recursive: z.boolean().default(false),
    /** Delete objects under the prefix whose source file is gone (the stack then grants s3:DeleteObject there). Default false. */
    deleteExtraneous: z.boolean().default(false),
    /** Above this many deletions a run deletes none and fails (DELETE_LIMIT). Default: 100 or a tenth of the prefix's objects. */
    maxDelete: z.number().int().nonnegative().optional(),
    /** Let an empty listing delete what lies below it (otherwise the run deletes none: EMPTY_SOURCE). Default false. */
    allowEmptySource: z.boolean().default(false),
    /** Directory levels listed below remoteDir. Default 32. */
    maxDepth: z.number().int().positive().max(1000).optional(),
    /** Listing entries one run takes in (memory stays bounded by it). Default 250,000 (about 200 MiB of planning, measured). */
    maxEntries: z.number().int().positive().max(10_000_000).optional(),
    /** Seconds since a file's modification time before it is taken; younger files wait for a later run. Default: none. */
    minAge: z.number().int().nonnegative().max(31_536_000).optional(),
    /** Seconds a file's size and time must stay unchanged, seen on two runs that far apart, before it is taken. Default: none. */
    stableFor: z.number().int().nonnegative().max(31_536_000).optional(),
    /** A file is taken only once its marker is listed: "{name}.done" (one per file) or a glob such as "*.ok" (one per directory). Markers are never copied. Default: none. */
    doneMarker: z
      .string()
      .superRefine((pattern, ctx) => {
        const problem = doneMarkerProblem(pattern);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
    /**
     * What becomes of each source file once its object is committed (see afterCopySchema): journaled
     * in the manifest, retried by the next run, and never a reason to delete the object. Default "keep".
     */
    afterCopy: afterCopySchema.optional(),
    /** Report what a run would do, change nothing. Default false. */
    dryRun: z.boolean().default(false),
    /** Storage class, content type, metadata and tags for this job's objects, over the connection's. Default: the connection's. */
    object: objectOverridesSchema.optional(),
  })
  .strict();

export type MirrorJob = z.infer<typeof mirrorJobSchema>;

/** The job's fields as the operator may leave them out: the function fills in the defaults. */
const jobAsWritten = Object.fromEntries(
  Object.entries(mirrorJobSchema.shape).map(([name, field]) => [
    name,
    field instanceof z.ZodDefault ? field.unwrap().optional() : field,
  ]),
) as unknown as AsWritten<typeof mirrorJobSchema.shape>;

type AsWritten<Shape> = {
  [K in keyof Shape]: Shape[K] extends z.ZodDefault<infer T> ? z.ZodOptional<T> : Shape[K];
};

/**
 * A mirror job in the stack's config (`mirrors[]`): the job, checked at synth time a little more
 * strictly, and when to run it.
 */
export const scheduledMirrorSchema = z
  .object({
    ...jobAsWritten,
    /** The configured connection to read from. */
    connection: connectionName,
    /** Remote directory to mirror; must lie inside one of the connection's roots. */
    remoteDir: absolutePath,
    /** Key prefix the files land under (below the connection's key space). Default "". */
    prefix: keyPrefix.default(""),
    /** Names the schedule: letters, digits, "-" and "_". */
    name: z.string().regex(/^[A-Za-z0-9_-]{1,48}$/, "1 to 48 letters, digits, - or _"),
    /** EventBridge Scheduler expression: "rate(1 hour)", "cron(0 2 * * ? *)" or "at(2030-01-01T00:00:00)". */
    schedule: z.string().regex(/^(rate|cron|at)\(.+\)$/, 'must be "rate(...)", "cron(...)" or "at(...)"'),
    /** IANA time zone of a cron or at expression. Default: `schedules.timeZone`. */
    timeZone: z.string().min(1).optional(),
    /** Whether the schedule runs. Default true. */
    enabled: z.boolean().default(true),
  })
  .strict();

export type ScheduledMirror = z.infer<typeof scheduledMirrorSchema>;

/** What the schedule sends: the entry's job fields as the operator wrote them, none undefined. */
export function scheduleInputOf(entry: ScheduledMirror): { mirror: Partial<MirrorJob> } {
  const job = Object.keys(mirrorJobSchema.shape).flatMap((name) => {
    const value = entry[name as keyof ScheduledMirror];
    return value === undefined ? [] : [[name, value]];
  });
  return { mirror: Object.fromEntries(job) };
}
