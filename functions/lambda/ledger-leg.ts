import { randomUUID } from "node:crypto";
import type { LedgerSettings } from "../contracts/index.js";
import type {
  FanOutPlan,
  HeldLeg,
  LedgerError,
  LedgerRequest,
  LedgerResult,
  TransferEvent,
  TransferEvents,
  TransferLedger,
  TransferRecord,
} from "../core/index.js";
import { type CopyOutcome, msOfSeconds, type ProgressSnapshot, type SuspendedResult } from "../core/index.js";
import { failureFields } from "./failure-fields.js";
import type { KeyedLog } from "./keyed-log.js";

/**
 * How long a claim holds: longer than any invocation can run (15 minutes), so only a leg that
 * crashed (or was killed) loses its transfer, and SQS's redelivery of its message takes it over.
 */
export const LEASE_MS = msOfSeconds(16 * 60);

export interface LedgerPorts {
  ledger: TransferLedger;
  events: TransferEvents;
  settings: LedgerSettings;
  log: KeyedLog;
}

/**
 * One leg's entries in the ledger: its claim, its bytes so far (at most one write per
 * `progressIntervalMs`), and its end, with the transfer's event when the transfer ends here.
 */
export class LedgerLeg {
  private lastProgressAt = Date.now();
  private progressWrite: Promise<void> | undefined;
  /** The transfer was handed to its ranges and ended there (fanOutFailed): the leg has no end to write. */
  private endedAsRanged = false;

  private constructor(
    private readonly ports: LedgerPorts,
    private readonly held: HeldLeg,
    private readonly record: TransferRecord,
    private readonly target: { bucket: string; key: string },
  ) {}

  /**
   * Claims the transfer for this leg; undefined when another leg runs it or this leg already ran (a
   * duplicate delivery, an overlapping continuation), said in the log: the caller then does nothing.
   */
  static async claim(
    ports: LedgerPorts,
    transferId: string,
    leg: number,
    request: LedgerRequest,
    target: { bucket: string; key: string },
  ): Promise<LedgerLeg | undefined> {
    const held = { transferId, leg, claimId: randomUUID() };
    const at = Date.now();
    const answer = await ports.ledger.claim({ ...held, request, at, leaseUntil: at + LEASE_MS });
    if (answer.claimed) return new LedgerLeg(ports, held, answer.record, target);
    const { current } = answer;
    ports.log.info(
      `leg ${leg} skipped: the transfer is ${current?.state} at leg ${current?.leg} in the ledger; nothing was read or written`,
      { leg, ledgerState: current?.state, ledgerLeg: current?.leg },
    );
    return undefined;
  }

  /** Writes bytes so far at most once per interval, one write at a time; a refused write is only a warning. */
  progress(snapshot: ProgressSnapshot): void {
    const now = Date.now();
    if (snapshot.done || this.progressWrite !== undefined) return;
    if (now - this.lastProgressAt < this.ports.settings.progressIntervalMs) return;
    this.lastProgressAt = now;
    const { bytes, totalBytes, bytesPerSecond, etaSeconds } = snapshot;
    this.progressWrite = this.ports.ledger
      .progress(this.held, { bytes, totalBytes, bytesPerSecond, etaSeconds }, now)
      .catch((error: unknown) =>
        this.ports.log.warn("the ledger did not take the bytes so far", { error: String(error) }),
      )
      .finally(() => {
        this.progressWrite = undefined;
      });
  }

  /** Leg 0 hands the transfer to its ranges (range-fanout.ts); false when its claim no longer holds. */
  async fannedOut(plan: FanOutPlan): Promise<boolean> {
    await this.progressWrite;
    return this.ports.ledger.fanOut(this.held, plan, Date.now());
  }

  /**
   * Leg 0 handed the transfer to its ranges but could not send their messages: the transfer, no
   * longer this leg's claim but ranging, ends as failed here, with its Transfer Failed event. The
   * leg's own failure that follows has nothing more to write.
   */
  async fanOutFailed(error: unknown): Promise<void> {
    this.endedAsRanged = true;
    const ledgerError = ledgerErrorOf(error);
    const { log, ledger, events } = this.ports;
    try {
      if (
        !(await ledger.rangedFinished(
          this.held.transferId,
          { state: "failed", error: ledgerError },
          Date.now(),
        ))
      ) {
        log.warn("the range messages were not sent, and the ledger had ended the transfer already");
        return;
      }
      await events({ detailType: "Transfer Failed", detail: { ...this.eventFields(), ...ledgerError } });
    } catch (recordError) {
      log.error("the transfer's end was not recorded or not announced", { error: String(recordError) });
    }
  }

  /** The leg stops to go on later: written before its continuation is queued, so the next leg may claim. */
  async suspending(outcome: SuspendedResult): Promise<void> {
    await this.progressWrite;
    await this.ports.ledger.continuing(this.held, outcome.resumeAt?.offset ?? 0, Date.now());
  }

  /** The leg's end: a committed or unchanged file ends the transfer; a suspended leg was written already. */
  async finished(outcome: CopyOutcome): Promise<void> {
    if (outcome.status === "suspended") return;
    const { bucket, key, bytes, etag, source } = outcome;
    const result: LedgerResult = {
      bucket,
      key,
      bytes,
      etag,
      source: { size: source.size, modifiedAt: source.modifiedAt },
      ...(outcome.status === "copied" ? { sha256: outcome.sha256 } : {}),
      ...(outcome.status === "copied" && outcome.versionId !== undefined
        ? { versionId: outcome.versionId }
        : {}),
    };
    const state = outcome.status === "copied" ? "committed" : "unchanged";
    // Nothing new was stored for an unchanged file: downstream has had its event already.
    const event =
      outcome.status === "copied"
        ? { detailType: "Object Ingested" as const, detail: { ...this.eventFields(), ...result } }
        : undefined;
    await this.end({ state, result }, event);
  }

  async failed(error: unknown): Promise<void> {
    if (this.endedAsRanged) return;
    const ledgerError = ledgerErrorOf(error);
    await this.end(
      { state: "failed", error: ledgerError },
      { detailType: "Transfer Failed", detail: { ...this.eventFields(), ...ledgerError } },
    );
  }

  /** A queued copy refused as busy comes back later (a new message): queued again, no event yet. */
  async deferred(error: unknown): Promise<void> {
    const { code, message, ftpCode } = failureFields(error);
    await this.end(
      { state: "queued", error: { code, message, ...(ftpCode === undefined ? {} : { ftpCode }) } },
      undefined,
    );
  }

  private async end(
    end: Parameters<TransferLedger["finished"]>[1],
    event: TransferEvent | undefined,
  ): Promise<void> {
    await this.progressWrite;
    const { log, ledger, events } = this.ports;
    try {
      if (!(await ledger.finished(this.held, end, Date.now()))) {
        log.warn(
          `the ledger no longer gives this leg the transfer (its claim was taken over): its end is not recorded`,
        );
        return;
      }
      if (event !== undefined) await events(event);
    } catch (error) {
      // The file's fate is settled whatever the ledger or the bus say: failing the leg now would
      // only make SQS deliver it again, to a leg that finds the transfer ended.
      log.error("the transfer's end was not recorded or not announced", { error: String(error) });
    }
  }

  /** What both events say about the transfer. */
  private eventFields() {
    const { request, createdAt } = this.record;
    return {
      transferId: this.held.transferId,
      connection: request.connection,
      path: request.path,
      trigger: request.trigger,
      ...this.target,
      legs: this.held.leg + 1,
      durationMs: Date.now() - Date.parse(createdAt),
    };
  }
}

function ledgerErrorOf(error: unknown): LedgerError {
  const { code, message, ftpCode } = failureFields(error);
  return { code, message, ...(ftpCode === undefined ? {} : { ftpCode }) };
}
