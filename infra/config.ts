import { readFileSync } from "node:fs";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { z } from "zod";
import { configSchema, describeIssues } from "../functions/config.js";

/**
 * The stack's configuration: one JSON document (a file named with `-c config=path`, or an object in
 * CDK context) validated here at synth time, so a mistake fails `cdk synth` with the path of the
 * wrong field instead of failing a Lambda cold start after the deploy. Passwords never appear here:
 * the stack creates one Secrets Manager secret per connection that logs in with a user.
 */

/** A bad stack configuration: the message names the source and every wrong field. */
export class StackConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

const absolutePath = z
  .string()
  .regex(/^\//, "must be an absolute path")
  .refine((p) => !/[\r\n\0]/.test(p), "must not contain CR, LF or NUL");

const keyPrefix = z
  .string()
  .refine((p) => p === "" || p.endsWith("/"), 'must be empty or end with "/"')
  .refine((p) => !p.startsWith("/"), 'must not start with "/"');

// A complete ARN (with the 6-character suffix Secrets Manager appends): IAM matches it exactly.
const secretArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/,
    "must be the complete secret ARN, ending with the 6-character suffix (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf)",
  );

const connectionName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - only");

const connectionSchema = z
  .object({
    /** Host name or address of the FTP server. */
    host: z.string().min(1),
    /** Control port. Default: 21 (990 for implicit TLS). */
    port: z.number().int().min(1).max(65535).optional(),
    /** Login name. Default: none (then `anonymous: true` is required). */
    user: z.string().min(1).optional(),
    /** Log in as "anonymous", without a secret. Default false. */
    anonymous: z.boolean().default(false),
    /** "explicit" (AUTH TLS), "implicit", or false for plain FTP. Default "explicit". */
    secure: z.union([z.literal(false), z.literal("explicit"), z.literal("implicit")]).default("explicit"),
    /** An existing secret holding the password. Default: the stack creates one. */
    passwordSecretArn: secretArn.optional(),
    /** PEM CA certificates to trust for the server's certificate. Default: Node's CAs. */
    caPem: z.string().optional(),
    /** Remote directories that may be read (at least one). */
    roots: z.array(absolutePath).min(1),
    /** Idle timeout in seconds (connect, replies, stalled data). Default 30. */
    timeoutSeconds: z.number().positive().default(30),
    /** Allow a host on a loopback, private or link-local address (e.g. inside a VPC). Default false. */
    allowPrivateAddresses: z.boolean().default(false),
  })
  .strict()
  .refine((c) => c.anonymous === (c.user === undefined), {
    message: 'give either "user" or "anonymous": true',
    path: ["user"],
  })
  .refine((c) => !(c.anonymous && c.passwordSecretArn !== undefined), {
    message: "an anonymous connection takes no password secret",
    path: ["passwordSecretArn"],
  });

const mirrorSchema = z
  .object({
    /** Names the schedule: letters, digits, "-" and "_". */
    name: z.string().regex(/^[A-Za-z0-9_-]{1,48}$/, "1 to 48 letters, digits, - or _"),
    /** EventBridge Scheduler expression: "rate(1 hour)", "cron(0 2 * * ? *)" or "at(2030-01-01T00:00:00)". */
    schedule: z.string().regex(/^(rate|cron|at)\(.+\)$/, 'must be "rate(...)", "cron(...)" or "at(...)"'),
    /** IANA time zone of a cron or at expression. Default: `schedules.timeZone`. */
    timeZone: z.string().min(1).optional(),
    /** Whether the schedule runs. Default true. */
    enabled: z.boolean().default(true),
    /** The configured connection to read from. */
    connection: connectionName,
    /** Remote directory to mirror; must lie inside one of the connection's roots. */
    remoteDir: absolutePath,
    /** Key prefix the files land under (below `bucket.prefix`). Default "". */
    prefix: keyPrefix.default(""),
    /** Glob patterns a file name must match. Default: every file. */
    include: z.array(z.string().min(1)).optional(),
    /** Glob patterns that leave a file out. Default: none. */
    exclude: z.array(z.string().min(1)).optional(),
    /** Descend into subdirectories. Default: the handler's default. */
    recursive: z.boolean().optional(),
    /** Delete objects whose source file is gone (grants s3:DeleteObject under the prefix). Default false. */
    deleteExtraneous: z.boolean().optional(),
  })
  .strict();

const retentionDays = z
  .number()
  .int()
  .refine((d) => (Object.values(RetentionDays) as unknown[]).includes(d), {
    message:
      "must be one of CloudWatch Logs' retention periods (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)",
  });

const baseSchema = z
  .object({
    /** CloudFormation stack name. Default "Ftp2s3". */
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, "letters, digits and -, starting with a letter")
      .default("Ftp2s3"),
    bucket: z
      .object({
        /** Bucket name. Default: generated by CloudFormation (required with `existing`). */
        name: z.string().min(3).max(63).optional(),
        /** Import the bucket `name` instead of creating it. Default false. */
        existing: z.boolean().default(false),
        /** Every key starts with this prefix ("" or ending in "/"). Default "". */
        prefix: keyPrefix.default(""),
        /** "S3" (SSE-S3) or "KMS" (SSE-KMS with a bucket key). Default "S3". */
        encryption: z.enum(["S3", "KMS"]).default("S3"),
        /** With "KMS": an existing key. Default: the stack creates a key with rotation. */
        kmsKeyArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:kms:/, "must be a KMS key ARN")
          .optional(),
        /** Keep every version of every object. Default false. */
        versioned: z.boolean().default(false),
        /** Server access logs go to this existing bucket. Default: no access logs. */
        accessLogs: z
          .object({
            /** The bucket receiving the logs (it must allow the S3 logging service to write). */
            bucketName: z.string().min(3).max(63),
            /** Key prefix of the log objects. Default "ftp2s3/". */
            prefix: keyPrefix.default("ftp2s3/"),
          })
          .strict()
          .optional(),
        /** Keep the bucket (and its objects) when the stack is deleted. Default true. */
        retain: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** Named FTP connections (at least one). */
    connections: z
      .record(connectionName, connectionSchema)
      .refine((c) => Object.keys(c).length > 0, "configure at least one connection"),
    /** Directories mirrored on a schedule. Default none. */
    mirrors: z.array(mirrorSchema).default([]),
    function: z
      .object({
        /** Memory in MiB; Lambda's CPU share grows with it. Default 1024. */
        memoryMiB: z.number().int().min(128).max(10240).default(1024),
        /** Reserved concurrency. Default: none (the account's unreserved pool). */
        reservedConcurrency: z.number().int().min(1).optional(),
        /** Days the function's logs are kept. Default 30. */
        logRetentionDays: retentionDays.default(30),
        /** Powertools log level. Default "INFO". */
        logLevel: z.enum(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SILENT"]).default("INFO"),
      })
      .strict()
      .prefault({}),
    ingestion: z
      .object({
        /** Messages per invocation. Default 1 (one file per invocation and per FTP connection). */
        batchSize: z.number().int().min(1).max(10).default(1),
        /** Concurrent invocations the queue may start (AWS minimum 2). Default 5. */
        maxConcurrency: z.number().int().min(2).max(1000).default(5),
        /** Receives before a message moves to the dead-letter queue. Default 3. */
        maxReceiveCount: z.number().int().min(1).max(1000).default(3),
        /** Event sources whose "FTP File Available" events are routed to the queue. Default ["ftp2s3.producer"]. */
        eventSources: z
          .array(
            z
              .string()
              .min(1)
              .refine((s) => !s.startsWith("aws."), 'must not start with "aws."'),
          )
          .min(1)
          .default(["ftp2s3.producer"]),
        /** Days a message waits in the queue. Default 4. */
        retentionDays: z.number().int().min(1).max(14).default(4),
      })
      .strict()
      .prefault({}),
    schedules: z
      .object({
        /** Time zone of cron and at expressions. Default "UTC". */
        timeZone: z.string().min(1).default("UTC"),
        /** Scheduler's delivery retries before the dead-letter queue. Default 3. */
        retryAttempts: z.number().int().min(0).max(185).default(3),
        /** Minutes Scheduler keeps retrying a delivery. Default 60. */
        maxEventAgeMinutes: z.number().int().min(1).max(1440).default(60),
        /** Lambda's retries of a failed scheduled run (0 to 2). Default 0: the next run catches up. */
        invocationRetryAttempts: z.number().int().min(0).max(2).default(0),
      })
      .strict()
      .prefault({}),
    /** Transfer tuning passed to the function (see functions/config.ts). */
    transfer: configSchema.shape.transfer,
    /** Mirror runs: FTP sessions per run and the per-invocation budget before fan-out (see functions/config.ts). */
    mirror: configSchema.shape.mirror,
    alarms: z
      .object({
        /** E-mail addresses subscribed to a new SNS topic for the alarms. Default none. */
        emails: z.array(z.email()).default([]),
        /** An existing SNS topic the alarms notify. Default none. */
        topicArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:sns:/, "must be an SNS topic ARN")
          .optional(),
        /** Function errors per period that raise the errors alarm. Default 1. */
        errorThreshold: z.number().int().min(1).default(1),
        /** Alarm period in minutes. Default 5. */
        periodMinutes: z.number().int().min(1).max(1440).default(5),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const stackConfigSchema = baseSchema.superRefine(checkReferences);

export type StackConfig = z.infer<typeof stackConfigSchema>;
export type StackConnection = StackConfig["connections"][string];
export type MirrorJob = StackConfig["mirrors"][number];

/** Cross-field rules: what one field says about another. */
function checkReferences(c: z.output<typeof baseSchema>, ctx: z.RefinementCtx): void {
  const names = new Set<string>();
  c.mirrors.forEach((mirror, i) => {
    if (names.has(mirror.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["mirrors", i, "name"],
        message: `"${mirror.name}" is used twice`,
      });
    }
    names.add(mirror.name);
    const connection = c.connections[mirror.connection];
    if (connection === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["mirrors", i, "connection"],
        message: `no connection named "${mirror.connection}" (configured: ${Object.keys(c.connections).join(", ")})`,
      });
    } else if (!connection.roots.some((root) => isInside(mirror.remoteDir, root))) {
      ctx.addIssue({
        code: "custom",
        path: ["mirrors", i, "remoteDir"],
        message: `${mirror.remoteDir} is outside the roots of "${mirror.connection}" (${connection.roots.join(", ")})`,
      });
    }
  });
  if (c.bucket.existing && c.bucket.name === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["bucket", "name"],
      message: 'an "existing" bucket needs its name',
    });
  }
  if (c.bucket.kmsKeyArn !== undefined && c.bucket.encryption !== "KMS") {
    ctx.addIssue({ code: "custom", path: ["bucket", "kmsKeyArn"], message: 'needs "encryption": "KMS"' });
  }
  if (c.bucket.existing && c.bucket.encryption === "KMS" && c.bucket.kmsKeyArn === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["bucket", "kmsKeyArn"],
      message: "an existing bucket encrypted with KMS needs the ARN of its key",
    });
  }
  const reserved = c.function.reservedConcurrency;
  if (reserved !== undefined && c.ingestion.maxConcurrency > reserved) {
    ctx.addIssue({
      code: "custom",
      path: ["ingestion", "maxConcurrency"],
      message: `${c.ingestion.maxConcurrency} exceeds function.reservedConcurrency (${reserved}): queue batches would be throttled into the dead-letter queue`,
    });
  }
}

/** Whether `dir` is `root` or lies below it (both absolute, as the schema guarantees). */
export function isInside(dir: string, root: string): boolean {
  const base = root.endsWith("/") ? root : `${root}/`;
  return dir === root || dir === base.slice(0, -1) || dir.startsWith(base);
}

/** Validates a configuration object; `source` names where it came from in the error message. */
export function parseStackConfig(json: unknown, source = "stack config"): StackConfig {
  const parsed = stackConfigSchema.safeParse(json);
  if (!parsed.success) throw new StackConfigError(`invalid ${source}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Reads and validates the configuration file at `path`. */
export function loadStackConfig(path: string): StackConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new StackConfigError(`cannot read the stack config ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StackConfigError(`the stack config ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseStackConfig(json, `stack config ${path}`);
}
