import { z } from "zod";
import { InvalidInputError } from "./core/index.js";

/**
 * The Lambda's configuration: one JSON document in the environment variable FTP2S3_CONFIG, written
 * by the stack. Connections are the only way an API caller or an event can name an FTP server: they
 * give a connection's name and a path, never a host or a password (the SSRF fence).
 */

export const absolutePath = z
  .string()
  .regex(/^\//, "must be an absolute path")
  .refine((p) => !/[\r\n\0]/.test(p), "must not contain CR, LF or NUL");

/**
 * A connection's fields, shared with the stack's config (infra/config.ts), which writes them through:
 * one definition, so a field cannot be known to one and lost by the other.
 */
export const connectionFields = z.object({
  /** Host name or address of the FTP server. */
  host: z.string().min(1),
  /** Control port; default 21 (990 for implicit TLS). */
  port: z.number().int().min(1).max(65535).optional(),
  /** Login name; leave out together with `anonymous: true` for an anonymous login. */
  user: z.string().min(1).optional(),
  /** Log in as "anonymous" (no secret needed). Default false. */
  anonymous: z.boolean().default(false),
  /** "explicit" (AUTH TLS, the default), "implicit", or false for plain FTP. */
  secure: z.union([z.literal(false), z.literal("explicit"), z.literal("implicit")]).default("explicit"),
  /** Secrets Manager secret holding the password: a plain string, or JSON with a "password" field. */
  passwordSecretArn: z.string().min(1).optional(),
  /** PEM CA certificates to trust for this server's TLS certificate (default: Node's CAs). */
  caPem: z.string().optional(),
  /** Remote directories that may be read; a requested path must lie inside one of them. */
  roots: z.array(absolutePath).min(1),
  /**
   * Allow a host that is or resolves to a loopback, private, link-local or other non-public address.
   * Default false: besides naming only configured hosts, the fence keeps callers off internal networks.
   */
  allowPrivateAddresses: z.boolean().default(false),
  /**
   * "windows" for a Windows-hosted server (IIS FTP, FileZilla Server), which reads "\" as a separator:
   * callers' "\" then counts as "/" in the root check. Default (left out, to keep the environment
   * small) "posix": a path with "\" is refused.
   */
  pathStyle: z.enum(["posix", "windows"]).optional(),
  /** Idle timeout in seconds for this server (connect, replies, stalled data). Default 30. */
  timeoutSeconds: z.number().positive().default(30),
  /**
   * A data connection delivering fewer bytes a second than this (over `minRateWindowSeconds`) is
   * stopped with TIMEOUT: a trickle keeps the idle timeout alive forever. Default 1024; 0 turns it off.
   */
  minBytesPerSecond: z.number().min(0).default(1024),
  /** The window the minimum rate is measured over, in seconds. Default 60. */
  minRateWindowSeconds: z.number().positive().default(60),
  /**
   * Seconds the control connection may stay silent (it does while a file downloads) before TCP
   * keepalive probes keep NAT gateways and firewalls from dropping it. Default (left out, to keep the
   * environment small) 60: AWS NAT gateways drop a flow after 350 s. 0 turns keepalive off; at most
   * Linux's 32767.
   */
  keepAliveSeconds: z.number().int().min(0).max(32_767).optional(),
  /**
   * The connection's key space below the bucket prefix: every key a request, an event or a mirror
   * job of this connection writes lies below it (ending in "/"). Default "<connection name>/".
   */
  keyPrefix: z
    .string()
    .regex(/^[^/\\]/, 'must not be empty or start with "/" or "\\"')
    .refine((p) => p.endsWith("/"), 'must end with "/"')
    .refine((p) => !/[\\\r\n\0]/.test(p), 'must not contain "\\", CR, LF or NUL')
    .refine((p) => !p.split("/").some((s) => s === "." || s === ".."), 'must not have "." or ".." segments')
    .optional(),
});

/** "user" xor "anonymous": a connection says how it logs in. */
export const userOrAnonymous = {
  check: (c: { anonymous: boolean; user?: string | undefined }) => c.anonymous === (c.user === undefined),
  message: 'give either "user" or "anonymous": true',
};

export const connectionSchema = connectionFields
  .strict()
  .refine(userOrAnonymous.check, { message: userOrAnonymous.message, path: ["user"] })
  .refine((c) => c.anonymous || c.passwordSecretArn !== undefined, {
    message: 'a connection with a user needs "passwordSecretArn"',
    path: ["passwordSecretArn"],
  });

export type ConnectionConfig = z.infer<typeof connectionSchema>;

/** A key prefix: "" or ending in "/", never starting with "/". Shared with the stack's config. */
export const keyPrefix = z
  .string()
  .refine((p) => p === "" || p.endsWith("/"), 'must be empty or end with "/"')
  .refine((p) => !p.startsWith("/"), 'must not start with "/"');

/** A connection's name, as the stack's config and the function's both key connections. */
export const connectionName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - only");

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
    statePrefix: keyPrefix.refine((p) => p !== "", "must not be empty").default("ftp2s3-state/"),
    /**
     * Secrets Manager secret whose value signs continuations (HMAC-SHA256). Without it no copy
     * suspends, and a queued continuation is refused: nothing unsigned is trusted.
     */
    continuationKeySecretArn: z.string().min(1).optional(),
    /** The ingestion queue; needed for `async: true` API calls. */
    queueUrl: z.url().optional(),
    /** Named FTP connections. */
    connections: z.record(connectionName, connectionSchema),
    transfer: z
      .object({
        /** Preferred part size in MiB (grown for big files). */
        partSizeMiB: z.number().min(5).max(5120).default(8),
        /** Parts uploaded in parallel. */
        queueSize: z.number().int().min(1).max(64).default(4),
        /**
         * MiB the part buffers of the invocation's copies may take together (a mirror shares it
         * between its sessions). Default: half of the function's memory above a 128 MiB allowance
         * for the runtime (see functions/lambda/memory-budget.ts).
         */
        memoryBudgetMiB: z.number().int().min(1).max(10240).optional(),
        /** Seconds between two progress log lines. */
        progressIntervalSeconds: z.number().positive().default(5),
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
        tagWithSha256: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    mirror: z
      .object({
        /** FTP sessions one mirror run opens at once (servers limit sessions per user). */
        concurrency: z.number().int().min(1).max(16).default(4),
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

/** Zod issues as one line: `connections.partner.roots: Too small ...; bucket: Required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}
