import type { LedgerError, LedgerResult, TransferRecord } from "./transfer-ledger.js";

/**
 * A ranged transfer in the ledger: leg 0 writes the plan (one multipart upload, ranges of parts) into
 * the transfer's own item, and each range leg claims, advances and ends its range there with
 * conditional writes. One item holds it all (at most 64 ranges, a few KB): a range's end and the count
 * of done ranges are one write, so no crash can fall between them.
 */

/** A range's life: queued → running → done, or failed and claimable again until the attempts run out. */
export type RangeState = "queued" | "running" | "done" | "failed";

/** What leg 0 decided, fixed for the transfer's life; range legs read everything they do from here. */
export interface FanOutPlan {
  uploadId: string;
  bucket: string;
  key: string;
  /** The source as leg 0 saw it (SIZE, MDTM): every range leg and the completion check it again. */
  size: number;
  modifiedAt: string | null;
  partSize: number;
  /** The object may not replace one that appeared meanwhile (If-None-Match: * on Complete). */
  ifNoneMatch: boolean;
  /** Ranges of this file read at once. */
  maxSessions: number;
  ranges: { start: number; end: number; firstPart: number }[];
}

/** One range's progress. `claimId` and `leaseUntil` belong to the leg that runs it. */
export interface RangeProgress {
  state: RangeState;
  bytes: number;
  /** Failed runs so far (a leg that crashed and lost its lease does not count). */
  attempts: number;
  crc64nvme?: string | null;
  error?: LedgerError;
  claimId?: string;
  leaseUntil?: number;
  /** When its message first found every session of the file taken, since the range last ran (ms). */
  waitingSince?: number;
}

/** A range as the leg that claimed it holds it. */
export interface HeldRange {
  transferId: string;
  index: number;
  claimId: string;
}

export type RangeClaimAnswer =
  | { claimed: true; record: TransferRecord }
  | { claimed: false; current: TransferRecord | undefined };

export interface RangeLedger {
  /**
   * Leg 0, still holding the transfer, hands it to its ranges: state "ranging", the plan, every range
   * queued. False when its claim no longer holds (nothing written).
   */
  fanOut(leg: { transferId: string; claimId: string }, plan: FanOutPlan, at: number): Promise<boolean>;
  /** Claims a range: queued or failed, or running with a lapsed lease, while the transfer is ranging. */
  claimRange(claim: HeldRange & { at: number; leaseUntil: number }): Promise<RangeClaimAnswer>;
  /**
   * The range's message found no free session: its wait starts now, unless it started already. The
   * record after, or undefined when the range is not waiting to run (running, done, the transfer
   * ended). The transfer's `updatedAt` is left as it is: a wait is not progress.
   */
  rangeWaits(transferId: string, index: number, at: number): Promise<TransferRecord | undefined>;
  /**
   * The range waited too long for a session: it counts a failed attempt, and its wait is over. Written
   * once per wait (`since`, the wait's start, must still be the range's); the record after, or undefined.
   */
  rangeWaitedTooLong(
    transferId: string,
    index: number,
    wait: { since: number; error: LedgerError },
    at: number,
  ): Promise<TransferRecord | undefined>;
  /** Bytes of the range so far, while the claim holds. */
  rangeProgress(range: HeldRange, bytes: number, at: number): Promise<void>;
  /** The range is done and counted; the record after, or undefined when the claim no longer held. */
  rangeDone(
    range: HeldRange,
    done: { bytes: number; crc64nvme: string | null },
    at: number,
  ): Promise<TransferRecord | undefined>;
  /**
   * The range stopped without its bytes: "failed" counts an attempt, "queued" (no free session: it
   * comes back later) does not. The record after, or undefined when the claim no longer held.
   */
  rangeStopped(
    range: HeldRange,
    end: { state: "failed" | "queued"; error: LedgerError },
    at: number,
  ): Promise<TransferRecord | undefined>;
  /**
   * Takes the completion of a transfer whose `ranges` ranges are all done: once, or again when the leg
   * that took it crashed (its lease lapsed). False otherwise.
   */
  claimCompletion(transferId: string, ranges: number, at: number, leaseUntil: number): Promise<boolean>;
  /**
   * The completion this leg took (`leaseUntil`, as claimCompletion wrote it) failed for a reason that
   * may pass: it is released for a later delivery to take again, and the failure counted. The count
   * after, or undefined when the leg no longer held the completion.
   */
  completionFailed(transferId: string, leaseUntil: number, at: number): Promise<number | undefined>;
  /** The ranged transfer's end: written once, only while it is ranging. */
  rangedFinished(
    transferId: string,
    end: { state: "committed"; result: LedgerResult } | { state: "failed"; error: LedgerError },
    at: number,
  ): Promise<boolean>;
}
