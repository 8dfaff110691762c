import { DEFAULT_PLAN_LIMITS } from "./mirror-plan.js";
import { DEFAULT_STATE_ROOT } from "./mirror-state.js";
import { DEFAULT_MEMORY_BUDGET, DEFAULT_PART_SIZE, MiB } from "./part-size.js";
import { defaultCopyOptions } from "./transfer.js";

/** The control port when none is given, defined with the URL rules that apply it. */
export { defaultFtpPort } from "./locations.js";
/**
 * The units settings are written in (MiB, seconds) and the one conversion of each to what the code
 * counts in (bytes, milliseconds): a value is converted once, where it is parsed.
 */
export { MiB };

const MS_PER_SECOND = 1000;

export function bytesOfMiB(mebibytes: number): number {
  return mebibytes * MiB;
}

export function msOfSeconds(seconds: number): number {
  return seconds * MS_PER_SECOND;
}

/** For messages and help texts, which speak in the units the settings are given in. */
export function inMiB(bytes: number): number {
  return bytes / MiB;
}

export function inSeconds(ms: number): number {
  return ms / MS_PER_SECOND;
}

/**
 * The product's defaults, in bytes and milliseconds: the Lambda's config schema, the command's
 * options and the adapters all take them from here, so the function and the command cannot drift.
 */
export const DEFAULTS = {
  /** Preferred part size (grown for big files). */
  partSize: DEFAULT_PART_SIZE,
  /** Parts uploaded in parallel. */
  queueSize: defaultCopyOptions.queueSize,
  /** Bytes the part buffers may take: the command's --max-memory, the Lambda's where unknown. */
  memoryBudget: DEFAULT_MEMORY_BUDGET,
  progressIntervalMs: defaultCopyOptions.progressIntervalMs,
  /** Tag objects with their SHA-256. */
  tagWithSha256: defaultCopyOptions.tagWithSha256,
  /** Idle timeout of an FTP session: connect, replies, a stalled data connection. */
  ftpTimeoutMs: 30_000,
  /** Whether the server's own digest of a file is asked for and compared. */
  serverDigest: defaultCopyOptions.serverDigest,
  /**
   * The reply bound for a digest command (HASH, XSHA256...): the server reads the whole file before
   * it answers, at disk speed (5 minutes is about 30 GB at 100 MB/s).
   */
  digestTimeoutMs: 300_000,
  /** A data connection slower than this over the window is stopped (see README "Timeouts and rates"). */
  minBytesPerSecond: 1024,
  minRateWindowMs: 60_000,
  /**
   * Idle time before TCP keepalive probes start on the control connection: well below the 350 s
   * after which AWS NAT gateways drop an idle flow (see README "Networks").
   */
  keepAliveMs: 60_000,
  /** FTP sessions one mirror run opens at once. */
  mirrorConcurrency: 4,
  /** Listing bounds of a mirror run. */
  planLimits: DEFAULT_PLAN_LIMITS,
  /** Where the command keeps a mirror's manifest, per prefix. */
  stateRoot: DEFAULT_STATE_ROOT,
} as const;
