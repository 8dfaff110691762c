import { z } from "zod";
import { DEFAULTS, inSeconds } from "../core/index.js";
import { nonEmptyKeyPrefix } from "./key-rules.js";
import { objectSettingsSchema } from "./object-settings.js";
import { serverEncodingProblem } from "./server-encoding.js";

/**
 * An FTP connection as the operator configures it: the function's config and the stack's read the
 * same fields. API callers and events name a connection; they never give a host or a password.
 */

export const absolutePath = z
  .string()
  .regex(/^\//, "must be an absolute path")
  .refine((p) => !/[\r\n\0]/.test(p), "must not contain CR, LF or NUL");

/** Most ranges one file is split into (the ledger keeps them all in the transfer's one item). */
export const MAX_FANOUT_RANGES = 64;

/** One big file over many invocations: when, into how many ranges, and how many read at once. */
export const rangeFanoutSchema = z
  .object({
    /** Files of at least this many MiB fan out; smaller ones are copied as one. At least 5 (one S3 part). */
    minMiB: z.number().min(5),
    /** Ranges (queue messages) a file is split into. */
    ranges: z.number().int().min(2).max(MAX_FANOUT_RANGES),
    /** Ranges of one file read at once (FTP sessions for the file), at most `ranges`. */
    maxSessions: z.number().int().min(1),
  })
  .strict()
  .refine((f) => f.maxSessions <= f.ranges, {
    message: '"maxSessions" of a range fan-out may not exceed its "ranges"',
    path: ["maxSessions"],
  });

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
  timeoutSeconds: z.number().positive().default(inSeconds(DEFAULTS.ftpTimeoutMs)),
  /**
   * A data connection delivering fewer bytes a second than this (over `minRateWindowSeconds`) is
   * stopped with TIMEOUT: a trickle keeps the idle timeout alive forever. Default 1024; 0 turns it off.
   */
  minBytesPerSecond: z.number().min(0).default(DEFAULTS.minBytesPerSecond),
  /** The window the minimum rate is measured over, in seconds. Default 60. */
  minRateWindowSeconds: z.number().positive().default(inSeconds(DEFAULTS.minRateWindowMs)),
  /**
   * Seconds the control connection may stay silent (it does while a file downloads) before TCP
   * keepalive probes keep NAT gateways and firewalls from dropping it. Default (left out, to keep the
   * environment small) 60: AWS NAT gateways drop a flow after 350 s. 0 turns keepalive off; at most
   * Linux's 32767.
   */
  keepAliveSeconds: z.number().int().min(0).max(32_767).optional(),
  /**
   * Send the next transfer's EPSV when a download's data ends, before the server's final reply to
   * RETR: one round trip less a file. Default (left out) true; false for a server that cannot take a
   * command before it has answered the one before.
   */
  pipelining: z.boolean().optional(),
  /**
   * The encoding of the server's file names: "utf8" (the default, left out) or another that
   * iconv-lite knows, e.g. "latin1", "windows-1252", "shift_jis", "gbk". Keys are the names in UTF-8,
   * commands send the server's own bytes, and a name not valid in it is skipped and named.
   */
  encoding: z
    .string()
    .superRefine((encoding, ctx) => {
      const problem = serverEncodingProblem(encoding);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  /**
   * FTP sessions this connection may have open at once, all invocations together: a mirror's
   * sessions and the queue's copies share them (a lease table; see README, Networks). Default (left
   * out): no budget beyond a mirror's concurrency and the queue's maxConcurrency.
   */
  maxSessions: z.number().int().min(1).max(1000).optional(),
  /**
   * Milliseconds between the starts of two files of this connection (every RETR of a process), for
   * servers that ban clients fetching too fast. Default (left out) 0: no pause.
   */
  minIntervalMs: z.number().int().min(0).max(3_600_000).optional(),
  /**
   * Splits one big file over many invocations: a copy of a file of at least `minMiB` becomes
   * `ranges` queue messages, each reading its own byte range (REST + RETR) into its own parts of one
   * multipart upload, at most `maxSessions` of them at once (see README, Ranged fan-out). Default
   * (left out): off, every file is one sequential copy.
   */
  rangeFanout: rangeFanoutSchema.optional(),
  /**
   * The connection's key space below the bucket prefix: every key a request, an event or a mirror
   * job of this connection writes lies below it (ending in "/"). Default "<connection name>/".
   */
  keyPrefix: nonEmptyKeyPrefix.optional(),
  /**
   * Where this connection's objects land: storage class, SSE-KMS key, content type, metadata and
   * tag templates, Object Lock retention (see object-settings.ts). Default: the bucket's defaults,
   * the content type from the file's extension.
   */
  object: objectSettingsSchema.optional(),
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

/** A connection's name, as the stack's config and the function's both key connections. */
export const connectionName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - only");
