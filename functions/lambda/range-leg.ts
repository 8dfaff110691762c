import { createHash, randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { ContinuationKeySource } from "../adapters/continuation-key.js";
import type { TransferQueue } from "../adapters/transfer-queue.js";
import type { ConnectionFence } from "../app/connection-fence.js";
import type { SessionBudgets, SessionLease } from "../app/session-budget.js";
import type { RangeMessage } from "../contracts/index.js";
import {
  abandonUpload,
  completeRanges,
  copyRange,
  type FanOutPlan,
  FtpBusyError,
  type HeldRange,
  type LedgerError,
  NotAllowedError,
  type ObjectSink,
  objectKey,
  type RangeSpec,
  SourceChangedError,
  type TransferEvents,
  type TransferLedger,
  type TransferRecord,
} from "../core/index.js";
import { failureFields, logFields } from "./failure-fields.js";
import { type KeyedLog, withKeys } from "./keyed-log.js";
import { LEASE_MS } from "./ledger-leg.js";
import { assertSignedRange } from "./range-signature.js";
import { isTemporaryS3Failure } from "./temporary-failure.js";
import { recordTransfer } from "./transfer-report.js";

/** Failed runs of one range before the whole transfer is given up (a source change gives it up at once). */
export const MAX_RANGE_ATTEMPTS = 3;

/** Completions that failed for a reason that may pass (isTemporaryS3Failure) before the transfer is given up. */
export const MAX_COMPLETION_ATTEMPTS = 3;

/**
 * A range that finds every session of its file taken comes back this much later, doubling up to
 * RANGE_WAIT_MAX_SECONDS: its siblings hold them, each for at most one invocation.
 */
const RANGE_WAIT_FIRST_SECONDS = 15;
const RANGE_WAIT_MAX_SECONDS = 120;

/**
 * How long a range waits for a session of its file while nothing else of its transfer moves (no
 * range claimed, advanced or ended: the ledger item's updatedAt): two leases, by which time every
 * holder has ended or lost its lease. Then the wait counts as a failed attempt. A wait behind
 * siblings that are reading goes on: with 64 ranges and 2 sessions it is hours, and legitimate.
 */
export const MAX_SLOT_WAIT_MS = 2 * LEASE_MS;

export interface RangeLegPorts {
  fence: ConnectionFence;
  sink: ObjectSink;
  ledger: TransferLedger;
  events: TransferEvents;
  queue: TransferQueue | undefined;
  continuationKey: ContinuationKeySource | undefined;
  /** Where each file's session slots (its plan's maxSessions) are kept: the connections' budgets' store. */
  sessionBudgets: SessionBudgets;
  logger: Logger;
  metrics: Metrics;
  /** Least time between two progress lines of a range. */
  progressIntervalMs: number;
  /** Least time between two writes of a range's bytes to the ledger. */
  ledgerProgressIntervalMs: number;
  /** Parts of a range uploaded at once, at most. */
  queueSize: number;
  /** Bytes the range's part buffers may take (as a whole-file copy's). */
  memoryBudget: number;
}

/** The range a message names, with its plan and the keys its log lines carry. */
interface RangeAtHand {
  message: RangeMessage;
  record: TransferRecord;
  plan: FanOutPlan;
  spec: RangeSpec;
  log: KeyedLog;
}

/**
 * One range leg of a fanned-out file (range-fanout.ts planned it): claims its range in the ledger,
 * takes one of the file's session slots, reads and uploads the range (copyRange), and records it done
 * and counted; the leg that finds every range done commits the object (completeRanges). A range that
 * fails is marked so and its message fails (SQS brings it back alone); after MAX_RANGE_ATTEMPTS, or at
 * once when the source changed, the transfer fails and its upload is aborted.
 */
export class RangeLegs {
  constructor(private readonly ports: RangeLegPorts) {}

  async run(message: RangeMessage, signal: AbortSignal): Promise<void> {
    const at = await this.rangeAtHand(message);
    const { record, plan, spec, log } = at;
    const progress = record.ranges?.[spec.index];
    if (record.state !== "ranging") {
      log.info(`range ${spec.index} skipped: the transfer is ${record.state}; nothing was read or written`);
      return;
    }
    if (progress?.state === "done") {
      log.info(`range ${spec.index} skipped: it is done already (a duplicate delivery)`);
      if (record.rangesDone === plan.ranges.length) await this.completeIfFree(at, signal);
      return;
    }
    const slot = await this.fileSlot(at);
    if (slot === undefined) return;
    try {
      await this.claimed(at, signal);
    } finally {
      await slot.release().catch(() => {});
    }
  }

  /** The message's range and its plan from the ledger, the message's signature checked against it. */
  private async rangeAtHand(message: RangeMessage): Promise<RangeAtHand> {
    const record = await this.ports.ledger.get(message.transferId);
    const plan = record?.plan;
    const planned = plan?.ranges[message.range];
    if (record === undefined || plan === undefined || planned === undefined) {
      throw new NotAllowedError(
        `a range message was refused: transfer ${message.transferId} has no range ${message.range}`,
      );
    }
    const signed = { transferId: message.transferId, range: message.range, uploadId: plan.uploadId };
    assertSignedRange(signed, message.signature, await this.ports.continuationKey?.());
    const spec: RangeSpec = { index: message.range, ...planned, partSize: plan.partSize };
    const log = withKeys(this.ports.logger, {
      transferId: message.transferId,
      trigger: "queue",
      connection: record.request.connection,
      path: record.request.path,
      bucket: plan.bucket,
      key: plan.key,
      range: message.range,
      ranges: plan.ranges.length,
    });
    return { message, record, plan, spec, log };
  }

  /**
   * One of the file's `maxSessions` slots (on top of the connection's own budget), or undefined when
   * all are held: the message then comes back later, as a busy server's copy does.
   */
  private async fileSlot(at: RangeAtHand): Promise<SessionLease | undefined> {
    const { record, plan, message } = at;
    const fileId = createHash("sha256").update(message.transferId).digest("base64url").slice(0, 22);
    const budget = this.ports.sessionBudgets(`${record.request.connection}#file-${fileId}`, plan.maxSessions);
    const slot = await budget.tryTake();
    if (slot === undefined) await this.waitForSlot(at);
    return slot;
  }

  /**
   * No free session: the range waits (its message comes back later) until its wait, counted from
   * its first one or from the transfer's last move, whichever is later, passes MAX_SLOT_WAIT_MS; it
   * then counts a failed attempt, and the attempts rule decides.
   */
  private async waitForSlot(at: RangeAtHand): Promise<void> {
    const { message, plan, spec, log } = at;
    const busy = `all ${plan.maxSessions} sessions for this file are in use`;
    const now = Date.now();
    const waiting = await this.ports.ledger.rangeWaits(message.transferId, spec.index, now);
    const since = waiting?.ranges?.[spec.index]?.waitingSince;
    if (waiting === undefined || since === undefined) {
      log.info(`range ${spec.index} skipped: it is not waiting to run (another delivery runs or ran it)`);
      return;
    }
    const stillSince = Math.max(since, Date.parse(waiting.updatedAt));
    if (now - stillSince < MAX_SLOT_WAIT_MS) {
      await this.comeBackLater(at, busy);
      return;
    }
    const minutes = Math.round((now - stillSince) / 60_000);
    const error = new FtpBusyError(
      `range ${spec.index} waited ${minutes} min for a session of its file while no other range moved: ${busy}`,
    );
    const after = await this.ports.ledger.rangeWaitedTooLong(
      message.transferId,
      spec.index,
      { since, error: errorOf(error) },
      now,
    );
    if (after === undefined) return; // another delivery of this range ended the same wait
    const attempts = after.ranges?.[spec.index]?.attempts ?? 0;
    log.error(`range ${spec.index} failed (attempt ${attempts} of ${MAX_RANGE_ATTEMPTS})`, logFields(error));
    if (attempts >= MAX_RANGE_ATTEMPTS) {
      await this.failTransfer(at, errorOf(error));
      return;
    }
    throw error;
  }

  private async claimed(at: RangeAtHand, signal: AbortSignal): Promise<void> {
    const { message, spec, log } = at;
    const now = Date.now();
    const held: HeldRange = { transferId: message.transferId, index: spec.index, claimId: randomUUID() };
    const answer = await this.ports.ledger.claimRange({ ...held, at: now, leaseUntil: now + LEASE_MS });
    if (!answer.claimed) {
      const state = answer.current?.ranges?.[spec.index]?.state;
      log.info(
        `range ${spec.index} skipped: it is ${state} in the ledger (transfer ${answer.current?.state})`,
      );
      return;
    }
    log.info(`range ${spec.index} of ${at.plan.ranges.length} started: bytes ${spec.start} to ${spec.end}`, {
      attempt: (answer.record.ranges?.[spec.index]?.attempts ?? 0) + 1,
    });
    const startedAt = Date.now();
    let after: TransferRecord | undefined;
    try {
      const copied = await this.copy(at, held, signal);
      recordTransfer(this.ports.metrics, copied.bytes, Date.now() - startedAt, false);
      after = await this.ports.ledger.rangeDone(held, copied, Date.now());
      if (after === undefined) {
        log.warn(`range ${spec.index} was read, but its claim was taken over: its end is not recorded`);
        return;
      }
      log.info(`range ${spec.index} done: ${after.rangesDone} of ${at.plan.ranges.length} ranges`, {
        bytes: copied.bytes,
        crc64nvme: copied.crc64nvme,
      });
    } catch (error) {
      recordTransfer(this.ports.metrics, 0, Date.now() - startedAt, true);
      await this.rangeFailed(at, held, error);
      return;
    }
    // The range is done whatever the completion meets: a failed completion is not this range's.
    if (after.rangesDone === at.plan.ranges.length)
      await this.completeIfFree({ ...at, record: after }, signal);
  }

  /** Reads the range into its parts on a session of the connection's, logging and recording its progress. */
  private async copy(at: RangeAtHand, held: HeldRange, signal: AbortSignal) {
    const { record, plan, spec, log } = at;
    const fenced = this.ports.fence.resolve({
      connection: record.request.connection,
      path: record.request.path,
    });
    const length = spec.end - spec.start;
    let loggedAt = 0;
    let writtenAt = Date.now();
    let writing = false;
    const onProgress = (bytes: number) => {
      const now = Date.now();
      if (now - loggedAt >= this.ports.progressIntervalMs) {
        loggedAt = now;
        const percent = Math.round((1000 * bytes) / length) / 10;
        log.info(
          `range ${spec.index} of ${plan.ranges.length}: received ${bytes} of ${length} bytes (${percent}%)`,
          {
            bytes,
            totalBytes: length,
            percent,
          },
        );
      }
      // One write at a time, at the ledger's own slower rate; a refused write only loses a figure.
      if (writing || now - writtenAt < this.ports.ledgerProgressIntervalMs) return;
      writing = true;
      writtenAt = now;
      void this.ports.ledger
        .rangeProgress(held, bytes, now)
        .catch(() => {})
        .finally(() => {
          writing = false;
        });
    };
    const source = await this.ports.fence.openSource(record.request.connection, signal);
    try {
      return await copyRange(source, this.ports.sink, {
        path: fenced.path,
        target: { bucket: plan.bucket, key: plan.key },
        uploadId: plan.uploadId,
        range: spec,
        version: { size: plan.size, modifiedAt: plan.modifiedAt },
        signal,
        onProgress,
        parts: this.partsWithin(plan.partSize),
      });
    } finally {
      // The read was cut after the range's last byte: the session is good for nothing else.
      source.close();
    }
  }

  /** Part buffers within the memory budget (two at least: one filling, one uploading), the queue one fewer. */
  private partsWithin(partSize: number): { queueSize: number; buffers: number } {
    const { queueSize, memoryBudget } = this.ports;
    const buffers = Math.max(2, Math.min(queueSize + 1, Math.floor(memoryBudget / partSize)));
    return { queueSize: buffers - 1, buffers };
  }

  /**
   * A busy server or connection budget: the range goes back to queued and comes back later (no
   * attempt counted). Otherwise an attempt is counted; the transfer is given up after the last, or at
   * once for a changed source, else the message fails and SQS brings this range back alone.
   */
  private async rangeFailed(at: RangeAtHand, held: HeldRange, error: unknown): Promise<void> {
    const { spec, log } = at;
    const ledgerError = errorOf(error);
    if (error instanceof FtpBusyError) {
      await this.ports.ledger.rangeStopped(held, { state: "queued", error: ledgerError }, Date.now());
      await this.comeBackLater(at, error.message);
      return;
    }
    const after = await this.ports.ledger.rangeStopped(
      held,
      { state: "failed", error: ledgerError },
      Date.now(),
    );
    const attempts = after?.ranges?.[spec.index]?.attempts ?? 0;
    log.error(`range ${spec.index} failed (attempt ${attempts} of ${MAX_RANGE_ATTEMPTS})`, logFields(error));
    if (error instanceof SourceChangedError || attempts >= MAX_RANGE_ATTEMPTS) {
      await this.failTransfer(at, ledgerError);
      return;
    }
    throw error;
  }

  /**
   * Takes the completion (once, or from a leg that crashed in it) and commits the object. A failure
   * that may pass (S3 5xx, throttling, no answer) releases the completion and fails the message: its
   * redelivery, finding its range done, takes the completion again, up to MAX_COMPLETION_ATTEMPTS.
   */
  private async completeIfFree(at: RangeAtHand, signal: AbortSignal): Promise<void> {
    const { message, plan, log } = at;
    const now = Date.now();
    const leaseUntil = now + LEASE_MS;
    if (!(await this.ports.ledger.claimCompletion(message.transferId, plan.ranges.length, now, leaseUntil))) {
      log.info("every range is done; another leg commits the object");
      return;
    }
    try {
      await this.complete(at, signal);
    } catch (error) {
      if (isTemporaryS3Failure(error)) {
        const failures = await this.ports.ledger.completionFailed(message.transferId, leaseUntil, Date.now());
        if (failures !== undefined && failures < MAX_COMPLETION_ATTEMPTS) {
          log.warn(
            `the ranged transfer could not be committed (attempt ${failures} of ${MAX_COMPLETION_ATTEMPTS}); the completion is tried again when this message returns`,
            logFields(error),
          );
          throw error;
        }
      }
      log.error("the ranged transfer could not be committed", logFields(error));
      await this.failTransfer(at, errorOf(error));
    }
  }

  private async complete(at: RangeAtHand, signal: AbortSignal): Promise<void> {
    const { message, record, plan, log } = at;
    const fenced = this.ports.fence.resolve({
      connection: record.request.connection,
      path: record.request.path,
    });
    const target = { bucket: plan.bucket, key: plan.key };
    const source = await this.ports.fence.openSource(record.request.connection, signal);
    const committed = await completeRanges(source, this.ports.sink, {
      path: fenced.path,
      target,
      uploadId: plan.uploadId,
      size: plan.size,
      partSize: plan.partSize,
      ranges: plan.ranges.map((range, index) => ({
        index,
        ...range,
        bytes: record.ranges?.[index]?.bytes ?? 0,
        crc64nvme: record.ranges?.[index]?.crc64nvme ?? null,
      })),
      version: { size: plan.size, modifiedAt: plan.modifiedAt },
      ifNoneMatch: plan.ifNoneMatch,
    }).finally(() => source.close());
    if (committed.answerLost !== undefined) log.warn(committed.answerLost);
    const result = {
      ...target,
      ...(committed.versionId === undefined ? {} : { versionId: committed.versionId }),
      bytes: plan.size,
      etag: committed.etag,
      source: { size: plan.size, modifiedAt: plan.modifiedAt },
    };
    if (
      !(await this.ports.ledger.rangedFinished(
        message.transferId,
        { state: "committed", result },
        Date.now(),
      ))
    ) {
      log.warn("the object was committed, but the ledger had ended the transfer already");
      return;
    }
    log.info("transfer completed", { ...result, ranges: plan.ranges.length, crc64nvme: committed.crc64nvme });
    await this.announce(at, {
      detailType: "Object Ingested",
      detail: { ...this.eventFields(at), ...result },
    });
  }

  /** Ends the transfer as failed (once: a second leg finds it ended) and aborts its upload. */
  private async failTransfer(at: RangeAtHand, error: LedgerError): Promise<void> {
    const { message, plan, log } = at;
    if (!(await this.ports.ledger.rangedFinished(message.transferId, { state: "failed", error }, Date.now())))
      return;
    const target = { bucket: plan.bucket, key: objectKey(plan.key) };
    await abandonUpload(this.ports.sink, target, plan.uploadId, (text, details) => log.warn(text, details));
    log.error("transfer failed: its upload was aborted, and its other ranges stop", { ...error });
    await this.announce(at, { detailType: "Transfer Failed", detail: { ...this.eventFields(at), ...error } });
  }

  private async announce(at: RangeAtHand, event: Parameters<TransferEvents>[0]): Promise<void> {
    await this.ports.events(event).catch((error: unknown) => {
      at.log.error("the transfer's end was not announced", { error: String(error) });
    });
  }

  /** What both events say about a ranged transfer. */
  private eventFields({ message, record, plan }: RangeAtHand) {
    const { request, createdAt } = record;
    return {
      transferId: message.transferId,
      connection: request.connection,
      path: request.path,
      trigger: request.trigger,
      bucket: plan.bucket,
      key: plan.key,
      legs: 1 + plan.ranges.length,
      ranges: plan.ranges.length,
      durationMs: Date.now() - Date.parse(createdAt),
    };
  }

  /** Sends the message again, delayed, one wait more; without a queue the message fails and SQS brings it back. */
  private async comeBackLater(at: RangeAtHand, why: string): Promise<void> {
    const { message, spec, log } = at;
    const { queue } = this.ports;
    if (queue === undefined) throw new FtpBusyError(why);
    const waits = (message.waits ?? 0) + 1;
    const delaySeconds = Math.min(
      RANGE_WAIT_MAX_SECONDS,
      RANGE_WAIT_FIRST_SECONDS * 2 ** Math.min(waits - 1, 10),
    );
    await queue({ ...message, waits }, { delaySeconds });
    log.info(`range ${spec.index} waits: ${why}; it comes back in ${delaySeconds} s`, {
      waits,
      delaySeconds,
    });
  }
}

function errorOf(error: unknown): LedgerError {
  const { code, message, ftpCode } = failureFields(error);
  return { code, message, ...(ftpCode === undefined ? {} : { ftpCode }) };
}
