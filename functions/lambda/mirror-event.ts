import type { MirrorJob } from "../contracts/index.js";
import type { MirrorSummary, TransferEvent } from "../core/index.js";

/** Paths one event names at most: an event holds 256 KiB, and a run may fail thousands of files. */
const LISTED_PATHS = 50;

/** A mirror run's one event: its counts, and the first of the files that failed. */
export function mirrorEvent(
  mirrorId: string,
  job: MirrorJob,
  bucket: string,
  prefix: string,
  summary: MirrorSummary,
): TransferEvent {
  return {
    detailType: "Mirror Completed",
    detail: {
      mirrorId,
      connection: job.connection,
      remoteDir: summary.remoteDir,
      bucket,
      prefix,
      dryRun: job.dryRun === true,
      listed: summary.listed,
      copied: summary.copied,
      unchanged: summary.unchanged,
      enqueued: summary.enqueued,
      deleted: summary.deleted,
      failed: summary.failed.length,
      failedFiles: summary.failed.slice(0, LISTED_PATHS).map(({ path, code }) => ({ path, code })),
      changed: summary.changed.length,
      deleteRefused: summary.deleteRefused?.reason ?? null,
      bytes: summary.bytes,
      durationMs: summary.durationMs,
    },
  };
}
