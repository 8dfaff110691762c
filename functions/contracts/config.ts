import { z } from "zod";
import { DEFAULTS, InvalidInputError, inMiB, inSeconds } from "../core/index.js";
import { connectionName, connectionSchema } from "./connection.js";
import { describeIssues } from "./issues.js";
import { keyPrefix, nonEmptyKeyPrefix } from "./key-rules.js";

/**
 * The Lambda's configuration: one JSON document in the environment variable FTP2S3_CONFIG, written
 * by the stack. Connections are the only way an API caller or an event can name an FTP server: they
 * give a connection's name and a path, never a host or a password (the SSRF fence).
 */

export const configSchema = z
  .object({
    /** The bucket every object is written to. */
    bucket: z.string().min(3),
    /** Every key starts with this prefix ("" or ending in "/"). */
    prefix: keyPrefix.default(""),
    /**
     * Where the function keeps its own state (a mirror's manifest), as a key prefix from the bucket
     * root, not below `prefix`. No connection's key space may overlap it: callers cannot write there.
     */
    statePrefix: nonEmptyKeyPrefix.default("ftp2s3-state/"),
    /**
     * Secrets Manager secret whose value signs continuations (HMAC-SHA256). Without it no copy
     * suspends, and a queued continuation is refused: nothing unsigned is trusted.
     */
    continuationKeySecretArn: z.string().min(1).optional(),
    /**
     * The DynamoDB table of session leases (the stack's SessionLeases): a connection's `maxSessions`
     * then holds across all invocations. Without it each container counts its own sessions only.
     */
    sessionTable: z.string().min(1).optional(),
    /** The ingestion queue; needed for `async: true` API calls. */
    queueUrl: z.url().optional(),
    /** Named FTP connections. */
    connections: z.record(connectionName, connectionSchema),
    transfer: z
      .object({
        /** Preferred part size in MiB (grown for big files). */
        partSizeMiB: z.number().min(5).max(5120).default(inMiB(DEFAULTS.partSize)),
        /** Parts uploaded in parallel. */
        queueSize: z.number().int().min(1).max(64).default(DEFAULTS.queueSize),
        /**
         * MiB the part buffers of the invocation's copies may take together (a mirror shares it
         * between its sessions). Default: half of the function's memory above a 128 MiB allowance
         * for the runtime (see functions/lambda/memory-budget.ts).
         */
        memoryBudgetMiB: z.number().int().min(1).max(10240).optional(),
        /** Seconds between two progress log lines. */
        progressIntervalSeconds: z.number().positive().default(inSeconds(DEFAULTS.progressIntervalMs)),
        /** Seconds before the Lambda deadline at which a transfer is stopped and its upload aborted. */
        deadlineMarginSeconds: z.number().positive().default(30),
        /**
         * Seconds before that margin at which a copy from the queue or the API stops at a part
         * boundary and continues in a new invocation (it must cover uploading queueSize parts).
         */
        suspendLeadSeconds: z.number().positive().default(30),
        /** Continuations one copy may take; a copy that needs more is aborted (it makes no progress). */
        maxContinuations: z.number().int().min(1).max(1000).default(20),
        /** Tag objects with their SHA-256 (needs s3:PutObjectTagging). */
        tagWithSha256: z.boolean().default(DEFAULTS.tagWithSha256),
        /**
         * The server's own digest of each file (HASH, XSHA256, XSHA1, XMD5, XCRC), compared with the
         * bytes read before anything is stored: "auto" when the server offers one, "off", or
         * "require" (a copy fails with NO_SERVER_DIGEST when the server gives none). Default (left
         * out, to keep the environment small) "auto".
         */
        serverDigest: z.enum(["auto", "off", "require"]).optional(),
      })
      .strict()
      .prefault({}),
    mirror: z
      .object({
        /** FTP sessions one mirror run opens at once (servers limit sessions per user). */
        concurrency: z.number().int().min(1).max(16).default(DEFAULTS.mirrorConcurrency),
        /**
         * Copies one invocation makes itself; the rest goes to the ingestion queue (fan-out), where
         * the queue's maxConcurrency caps the load on the FTP server.
         */
        inlineFiles: z.number().int().min(1).default(2000),
        /** Bytes (in MiB) one invocation copies itself before handing the rest to the queue. */
        inlineMiB: z.number().positive().default(8192),
      })
      .strict()
      .prefault({}),
    /** The transfer ledger (a DynamoDB table: see README, "The transfer ledger"). */
    ledger: z
      .object({
        /** Days a finished transfer's record is kept before DynamoDB's TTL removes it. */
        historyDays: z.number().int().min(1).max(3650).default(90),
        /**
         * Seconds between two writes of a running leg's bytes so far (each is a DynamoDB write; the
         * log's progress lines come as often as `transfer.progressIntervalSeconds` says).
         */
        progressIntervalSeconds: z.number().positive().default(10),
        /** Hours an `Idempotency-Key` keeps answering with the transfer it started. */
        idempotencyWindowHours: z.number().positive().max(720).default(24),
      })
      .strict()
      .prefault({}),
    /** Where each finished transfer and each mirror run is announced (EventBridge). */
    events: z
      .object({
        /** The event bus's name or ARN. */
        busName: z.string().min(1).max(1600).default("default"),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    // Key spaces must not nest (one connection could write over another's objects) nor touch the state.
    const spaces = Object.keys(config.connections).map((name) => ({ name, space: keySpaceOf(config, name) }));
    for (const { name, space } of spaces) {
      const clash = spaces.find(
        (o) => o.name !== name && (o.space.startsWith(space) || space.startsWith(o.space)),
      );
      if (clash !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["connections", name, "keyPrefix"],
          message: `key space "${space}" overlaps connection "${clash.name}"'s "${clash.space}"`,
        });
      }
      const stateSpaces = [config.statePrefix, config.prefix + config.statePrefix];
      if (isStateKey(config, space) || stateSpaces.some((state) => state.startsWith(space))) {
        ctx.addIssue({
          code: "custom",
          path: ["connections", name, "keyPrefix"],
          message: `key space "${space}" overlaps the state prefix "${config.statePrefix}"`,
        });
      }
    }
  });

export type Config = z.infer<typeof configSchema>;

/** A connection's key space as a key prefix from the bucket root: `prefix` + its keyPrefix. */
export function keySpaceOf(config: Pick<Config, "prefix" | "connections">, connection: string): string {
  return config.prefix + (config.connections[connection]?.keyPrefix ?? `${connection}/`);
}

/**
 * Whether a key (from the bucket root) lies in the function's own state, which no caller may write.
 * Both readings of the state prefix are fenced off: from the bucket root and below `prefix`.
 */
export function isStateKey(config: Pick<Config, "prefix" | "statePrefix">, key: string): boolean {
  return key.startsWith(config.statePrefix) || key.startsWith(config.prefix + config.statePrefix);
}

export const CONFIG_ENV = "FTP2S3_CONFIG";

/** Reads and validates the configuration once; a bad one fails the cold start with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const text = env[CONFIG_ENV];
  if (text === undefined || text === "") throw new InvalidInputError(`${CONFIG_ENV} is not set`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${CONFIG_ENV} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(json);
}

export function parseConfig(json: unknown): Config {
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) throw new InvalidInputError(`invalid ${CONFIG_ENV}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
