import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { CopyObserver } from "../app/copy-one-file.js";
import type {
  MirrorMetricName,
  SourceActionMetricName,
  TransferMetricName,
  TransferRequest,
} from "../contracts/index.js";
import type { CopyOutcome, MirrorSummary, SourceActionReport } from "../core/index.js";
import { logFields } from "./failure-fields.js";
import { type KeyedLog, withKeys } from "./keyed-log.js";

/** What one leg of a copy says in CloudWatch: its lines, each with the transfer's keys, and its metrics. */
export class LegReport {
  readonly log: KeyedLog;
  private startedAt = Date.now();

  constructor(
    logger: Logger,
    private readonly metrics: Metrics,
    keys: Record<string, unknown>,
  ) {
    this.log = withKeys(logger, keys);
  }

  /** The leg's first line: a new copy, or which continuation goes on from where. */
  started(continuation: TransferRequest["continuation"]): void {
    const resumeAt = continuation?.resumeAt ?? undefined;
    if (continuation === undefined) this.log.info("transfer started");
    else if (resumeAt === undefined) {
      this.log.info(
        `continuation ${continuation.number} of a copy, from byte 0 (the previous leg kept nothing)`,
      );
    } else {
      this.log.info(
        `continuation ${continuation.number} of a copy of ${resumeAt.size} bytes, from offset ${resumeAt.offset}`,
        { uploadId: resumeAt.uploadId, offset: resumeAt.offset, size: resumeAt.size },
      );
    }
    this.startedAt = Date.now();
  }

  /** Progress and warnings (an abort S3 refused, a tag not written) carry the transfer's keys too. */
  observer(): CopyObserver {
    return {
      onProgress: (progress) => this.log.info("transfer progress", { ...progress }),
      onWarning: (message, details) => this.log.warn(message, details),
    };
  }

  /** The leg's last line and its metrics: bytes this leg moved (none for an unchanged file). */
  finished(outcome: CopyOutcome): void {
    const durationMs = Date.now() - this.startedAt;
    if (outcome.status === "suspended") {
      recordTransfer(this.metrics, outcome.bytes, durationMs, false);
      return;
    }
    this.log.info(outcome.status === "copied" ? "transfer completed" : "transfer skipped: unchanged", {
      ...outcome,
    });
    const moved = outcome.status === "copied" ? outcome.bytes - (outcome.resumedFrom ?? 0) : 0;
    recordTransfer(this.metrics, moved, durationMs, false);
  }

  /** The source action after the commit: a line when done (the failure's warning is already out), and its metric. */
  sourceAction(report: SourceActionReport): void {
    if (report.action !== "failed") this.log.info(`source file ${report.action}`, { ...report });
    const failed: SourceActionMetricName = "TransferSourceActionFailed";
    this.metrics.addMetric(failed, MetricUnit.Count, report.action === "failed" ? 1 : 0);
  }

  /** A queued copy the FTP server refused as busy: it comes back later, so no failure is counted. */
  deferred(error: unknown): void {
    this.log.warn("transfer deferred: the FTP server is busy", logFields(error));
  }

  failed(error: unknown): void {
    this.log.error("transfer failed", logFields(error));
    recordTransfer(this.metrics, 0, Date.now() - this.startedAt, true);
  }
}

/** The metrics of one copy, a leg's or a mirrored file's. */
export function recordTransfer(metrics: Metrics, bytes: number, durationMs: number, failed: boolean): void {
  const add = (name: TransferMetricName, unit: Parameters<Metrics["addMetric"]>[1], value: number) =>
    metrics.addMetric(name, unit, value);
  add("BytesTransferred", MetricUnit.Bytes, bytes);
  add("TransferDuration", MetricUnit.Milliseconds, Math.round(durationMs));
  add("TransferFailed", MetricUnit.Count, failed ? 1 : 0);
}

/** A mirror run's last line and its metrics. */
export function reportMirror(
  log: KeyedLog,
  metrics: Metrics,
  summary: MirrorSummary,
  skippedEntries: { path: string; reason: string }[],
): void {
  const add = (name: MirrorMetricName, unit: Parameters<Metrics["addMetric"]>[1], value: number) =>
    metrics.addMetric(name, unit, value);
  add("MirrorFilesListed", MetricUnit.Count, summary.listed);
  add("MirrorFilesCopied", MetricUnit.Count, summary.copied);
  add("MirrorFilesUnchanged", MetricUnit.Count, summary.unchanged);
  add("MirrorFilesEnqueued", MetricUnit.Count, summary.enqueued);
  add("MirrorFilesFailed", MetricUnit.Count, summary.failed.length);
  add("MirrorFilesChanged", MetricUnit.Count, summary.changed.length);
  add("MirrorFilesWaiting", MetricUnit.Count, summary.waiting?.length ?? 0);
  add("MirrorBytes", MetricUnit.Bytes, summary.bytes);
  add("MirrorDuration", MetricUnit.Milliseconds, summary.durationMs);
  if (summary.afterCopy !== undefined) {
    const actions = (name: SourceActionMetricName, value: number) =>
      metrics.addMetric(name, MetricUnit.Count, value);
    actions("MirrorSourceActionsDone", summary.afterCopy.done);
    actions("MirrorSourceActionsFailed", summary.afterCopy.failed.length);
  }
  const fields = { ...summary, skippedEntries };
  if (summary.deleteRefused !== undefined) log.error("mirror refused to delete", fields);
  else if (summary.failed.length > 0) log.error("mirror finished with failures", fields);
  // Files still being written are no failure, but a file that keeps changing run after run deserves a look.
  // A source action that failed is retried next run; one that keeps failing (rights, a full disk) deserves a look.
  else if ((summary.afterCopy?.failed.length ?? 0) > 0)
    log.warn("mirror completed; source actions that failed are retried on the next run", fields);
  else if (summary.changed.length > 0)
    log.warn("mirror completed; files that changed while copied are left for the next run", fields);
  else log.info("mirror completed", fields);
}
