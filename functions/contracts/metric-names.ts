/**
 * What the function's logs and EMF metrics are filed under. The stack's alarms and dashboard read
 * the same names (infra/constructs/metrics.ts), so a metric the function writes is one they watch.
 */
export const METRICS_NAMESPACE = "ftp2s3";
export const SERVICE_NAME = "ftp2s3";

/** The triggers, recorded as the `trigger` dimension of every metric. */
export const TRIGGERS = ["api", "schedule", "queue"] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** The metrics each transfer records: bytes, duration, and 1 (failed) or 0 (committed). */
export type TransferMetricName = "BytesTransferred" | "TransferDuration" | "TransferFailed";

/**
 * The metrics each mirror run records: what it listed, copied, left, queued and failed, what changed
 * while copied or waits to be ready (neither a failure, but a count that never falls deserves a look),
 * its bytes and time.
 */
export type MirrorMetricName =
  | "MirrorFilesListed"
  | "MirrorFilesCopied"
  | "MirrorFilesUnchanged"
  | "MirrorFilesEnqueued"
  | "MirrorFilesFailed"
  | "MirrorFilesChanged"
  | "MirrorFilesWaiting"
  | "MirrorBytes"
  | "MirrorDuration";

/**
 * afterCopy's metrics: per copy, 1 (the source file could not be taken away: a warning, the object
 * stands) or 0; per mirror run, files taken away and actions failed (retried by the next run).
 */
export type SourceActionMetricName =
  | "TransferSourceActionFailed"
  | "MirrorSourceActionsDone"
  | "MirrorSourceActionsFailed";
