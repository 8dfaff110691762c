import type { FanOutPlan, RangeLedger, RangeProgress } from "./range-ledger.js";

/**
 * The Lambda's durable record of each transfer (one item per transfer id): what was asked, which leg
 * runs it, how far it got and how it ended. Legs claim the transfer before they touch FTP or S3, so
 * one transfer runs one leg at a time however often SQS delivers it. The command keeps no ledger.
 */

/**
 * A transfer's life: queued → running ⇄ continuing → committed | unchanged | failed; a big file's
 * leg 0 may hand it to its ranges instead: running → ranging → committed | failed (range-ledger.ts).
 */
export type TransferState =
  | "queued"
  | "running"
  | "continuing"
  | "ranging"
  | "committed"
  | "unchanged"
  | "failed";

/** The request as it is kept: what was asked, never a continuation's resume point or signature. */
export interface LedgerRequest {
  connection: string;
  path: string;
  key?: string;
  overwrite?: boolean;
  mirrored?: boolean;
  trigger: string;
}

/** A committed (or unchanged) transfer's object. */
export interface LedgerResult {
  bucket: string;
  key: string;
  versionId?: string;
  bytes: number;
  etag: string;
  sha256?: string;
  source: { size: number | null; modifiedAt: string | null };
}

export interface LedgerError {
  code: string;
  message: string;
  ftpCode?: number;
}

/** One transfer as the ledger holds it. Times are ISO strings; `leaseUntil` is epoch milliseconds. */
export interface TransferRecord {
  transferId: string;
  request: LedgerRequest;
  state: TransferState;
  /** The leg that runs (running, failed, finished) or is to run next (queued, continuing): 0 first. */
  leg: number;
  /** Bytes of the file received so far, over all legs. */
  bytes: number;
  totalBytes: number | null;
  /** The last progress report's rate and its estimate of the seconds left, while running. */
  bytesPerSecond?: number;
  etaSeconds?: number | null;
  createdAt: string;
  updatedAt: string;
  /** When the running leg's claim runs out: past it, another delivery may take the transfer over. */
  leaseUntil?: number;
  result?: LedgerResult;
  error?: LedgerError;
  /** A ranged transfer's plan, its ranges' progress (in plan order) and how many are done. */
  plan?: FanOutPlan;
  ranges?: RangeProgress[];
  rangesDone?: number;
}

/** A leg of one transfer, as the invocation that claimed it holds it. */
export interface HeldLeg {
  transferId: string;
  /** 0 for the first leg, n for continuation n. */
  leg: number;
  /** Unique to this claim: a leg whose lease ran out and was taken over can no longer write. */
  claimId: string;
}

/** A leg asking to run: the first (leg 0) or a continuation (leg n). */
export interface LegClaim extends HeldLeg {
  request: LedgerRequest;
  /** Now, in epoch milliseconds (the ledger's clock is its caller's, so tests can move it). */
  at: number;
  /** Until when the claim holds: past the invocation's end, so only a crashed leg's claim expires. */
  leaseUntil: number;
}

/**
 * "claimed": this leg runs. Otherwise the transfer's record as it stands: another leg holds it, or
 * this leg already ran (a duplicate delivery), and this one must not touch FTP or S3.
 */
export type ClaimAnswer =
  | { claimed: true; record: TransferRecord }
  | { claimed: false; current: TransferRecord | undefined };

export interface ProgressUpdate {
  bytes: number;
  totalBytes: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

export interface RecentPage {
  transfers: TransferRecord[];
  /** Opaque: hand it back for the next page; absent on the last. */
  next?: string;
}

/** What an idempotency key holds: the transfer it started, and a digest of the request body. */
export interface IdempotencyRecord {
  transferId: string;
  fingerprint: string;
}

export interface TransferLedger extends RangeLedger {
  /** An async request was accepted: its transfer waits on the queue for leg 0. */
  queued(transferId: string, request: LedgerRequest, at: number): Promise<void>;
  claim(claim: LegClaim): Promise<ClaimAnswer>;
  /** Bytes so far, written only while this leg still holds the transfer. */
  progress(leg: HeldLeg, update: ProgressUpdate, at: number): Promise<void>;
  /** The leg stopped on purpose: leg + 1 goes on from `bytes`. Written before the continuation is queued. */
  continuing(leg: HeldLeg, bytes: number, at: number): Promise<void>;
  /** The leg's end. False when the leg no longer held the transfer (its lease ran out and another took it). */
  finished(
    leg: HeldLeg,
    end:
      | { state: "committed" | "unchanged"; result: LedgerResult }
      | { state: "failed"; error: LedgerError }
      // A queued copy the server refused as busy: back to the queue, claimable again, the refusal kept.
      | { state: "queued"; error: LedgerError },
    at: number,
  ): Promise<boolean>;
  get(transferId: string): Promise<TransferRecord | undefined>;
  /** A connection's transfers created at or after `since`, newest first. `after` must come from a page. */
  recent(connection: string, since: string, limit: number, after?: string): Promise<RecentPage>;
  /**
   * Takes the key for this request, or gives what already holds it within its window: the caller
   * compares fingerprints.
   */
  remember(
    key: string,
    record: IdempotencyRecord,
    at: number,
    windowMs: number,
  ): Promise<{ taken: true } | { taken: false; holder: IdempotencyRecord }>;
}
