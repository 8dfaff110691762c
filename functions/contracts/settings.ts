import {
  bytesOfMiB,
  DEFAULTS,
  defaultFtpPort,
  msOfSeconds,
  type PartSize,
  partSize,
  type ServerDigestMode,
} from "../core/index.js";
import type { Config } from "./config.js";
import type { ConnectionConfig } from "./connection.js";

/**
 * The configuration as the code counts: bytes and milliseconds. The config is written in MiB and
 * seconds for the operator; each value is converted here, once, and nowhere else.
 */

/** How each copy of the function runs. */
export interface TransferSettings {
  /** Preferred part size in bytes (grown for big files). */
  partSize: PartSize;
  queueSize: number;
  /** Bytes the invocation's part buffers may take together; undefined: a share of the function's memory. */
  memoryBudget: number | undefined;
  progressIntervalMs: number;
  /** How long before the Lambda deadline a transfer is stopped and its upload aborted. */
  deadlineMarginMs: number;
  /** How long before that margin a copy stops at a part boundary to go on in a new invocation. */
  suspendLeadMs: number;
  maxContinuations: number;
  tagWithSha256: boolean;
  serverDigest: ServerDigestMode;
}

export function transferSettingsOf(config: Pick<Config, "transfer">): TransferSettings {
  const t = config.transfer;
  return {
    partSize: partSize(bytesOfMiB(t.partSizeMiB)),
    queueSize: t.queueSize,
    memoryBudget: t.memoryBudgetMiB === undefined ? undefined : bytesOfMiB(t.memoryBudgetMiB),
    progressIntervalMs: msOfSeconds(t.progressIntervalSeconds),
    deadlineMarginMs: msOfSeconds(t.deadlineMarginSeconds),
    suspendLeadMs: msOfSeconds(t.suspendLeadSeconds),
    maxContinuations: t.maxContinuations,
    tagWithSha256: t.tagWithSha256,
    serverDigest: t.serverDigest ?? DEFAULTS.serverDigest,
  };
}

/** A connection with its port always set and its times in milliseconds. */
export type ConnectionSettings = Omit<
  ConnectionConfig,
  "port" | "timeoutSeconds" | "minRateWindowSeconds" | "keepAliveSeconds" | "rangeFanout"
> & {
  port: number;
  /** Idle timeout: connect, replies, a stalled data connection. */
  timeoutMs: number;
  /** The window `minBytesPerSecond` is measured over. */
  minRateWindowMs: number;
  /** Idle time before keepalive probes on the control connection; 0: none. */
  keepAliveMs: number;
  /** Big files split over many invocations; undefined: off. */
  rangeFanout?: RangeFanoutSettings;
};

/** A connection's range fan-out in bytes. */
export interface RangeFanoutSettings {
  /** Files of at least this many bytes fan out. */
  minBytes: number;
  ranges: number;
  /** Ranges of one file read at once. */
  maxSessions: number;
}

export function connectionSettingsOf(connection: ConnectionConfig): ConnectionSettings {
  const { port, timeoutSeconds, minRateWindowSeconds, keepAliveSeconds, rangeFanout, ...rest } = connection;
  return {
    ...rest,
    ...(rangeFanout === undefined
      ? {}
      : {
          rangeFanout: {
            minBytes: bytesOfMiB(rangeFanout.minMiB),
            ranges: rangeFanout.ranges,
            maxSessions: rangeFanout.maxSessions,
          },
        }),
    port: port ?? defaultFtpPort(connection.secure),
    timeoutMs: msOfSeconds(timeoutSeconds),
    minRateWindowMs: msOfSeconds(minRateWindowSeconds),
    keepAliveMs: keepAliveSeconds === undefined ? DEFAULTS.keepAliveMs : msOfSeconds(keepAliveSeconds),
  };
}

/** How a mirror run shares its work between the invocation and the queue. */
export interface MirrorSettings {
  /** FTP sessions one run opens at once. */
  concurrency: number;
  /** Files one invocation copies itself before handing the rest to the queue. */
  inlineFiles: number;
  /** Bytes one invocation copies itself before handing the rest to the queue. */
  inlineBytes: number;
}

export function mirrorSettingsOf(config: Pick<Config, "mirror">): MirrorSettings {
  const m = config.mirror;
  return { concurrency: m.concurrency, inlineFiles: m.inlineFiles, inlineBytes: bytesOfMiB(m.inlineMiB) };
}

/** The transfer ledger's times in milliseconds. */
export interface LedgerSettings {
  /** How long a transfer's record is kept. */
  historyMs: number;
  /** Least time between two writes of a leg's bytes so far. */
  progressIntervalMs: number;
  /** How long an Idempotency-Key answers with its transfer. */
  idempotencyWindowMs: number;
}

export function ledgerSettingsOf(config: Pick<Config, "ledger">): LedgerSettings {
  const l = config.ledger;
  return {
    historyMs: msOfSeconds(l.historyDays * 86_400),
    progressIntervalMs: msOfSeconds(l.progressIntervalSeconds),
    idempotencyWindowMs: msOfSeconds(l.idempotencyWindowHours * 3_600),
  };
}
