import type { ContinuationKeySource } from "../adapters/continuation-key.js";
import type { TransferQueueBatch } from "../adapters/transfer-queue.js";
import type { ConnectionFence, FencedCopy } from "../app/connection-fence.js";
import type { RangeMessage, TransferSettings } from "../contracts/index.js";
import {
  abandonUpload,
  type CopyIfExists,
  type CopyOptions,
  type FanOutPlan,
  type FileSource,
  type ObjectSink,
  type ObjectTarget,
  openRangedUpload,
  planRanges,
  restHonoured,
  type TransferLedger,
  type UnchangedResult,
} from "../core/index.js";
import { logFields } from "./failure-fields.js";
import type { KeyedLog } from "./keyed-log.js";
import type { LedgerLeg } from "./ledger-leg.js";
import { signRange } from "./range-signature.js";

export interface RangeFanOutPorts {
  fence: ConnectionFence;
  sink: ObjectSink;
  ledger: TransferLedger;
  /** Sends the range messages (SendMessageBatch). */
  queueBatch: TransferQueueBatch;
  continuationKey: ContinuationKeySource | undefined;
  transfer: TransferSettings;
}

/** Leg 0's decision: the ranges took the file, the key holds this version already, or a copy of its own. */
export type FanOutDecision =
  | { status: "fanned-out"; ranges: number }
  | UnchangedResult
  /** Copy the file as one, on this session (already open and logged in), or on a new one. */
  | { status: "copy-as-one"; source?: FileSource };

/** One queued leg 0 of a connection with rangeFanout: what it needs to decide and to plan. */
export interface FanOutLeg {
  transferId: string;
  connection: string;
  fenced: FencedCopy;
  target: ObjectTarget;
  ifExists: CopyIfExists;
  leg: LedgerLeg;
  copy: Partial<CopyOptions>;
  log: KeyedLog;
  signal: AbortSignal;
}

/**
 * A big file over many invocations (issue 19): leg 0 of a queued copy on a connection with
 * `rangeFanout` looks at the file (SIZE, MDTM) and, when it is big enough and can be read by ranges,
 * opens the multipart upload as a whole-file copy would, writes the plan into the ledger and sends
 * one signed message per range. Range legs (range-leg.ts) do the rest.
 */
export class RangeFanOut {
  constructor(private readonly ports: RangeFanOutPorts) {}

  /** Whether leg 0 of this connection's copies looks at the file before copying it. */
  applies(connection: string): boolean {
    return this.ports.fence.connection(connection).rangeFanout !== undefined;
  }

  async legZero(leg: FanOutLeg): Promise<FanOutDecision> {
    const { fenced, log, signal } = leg;
    const fanout = fenced.connection.rangeFanout;
    const source = await this.ports.fence.openSource(leg.connection, signal);
    let handedOn = false;
    try {
      const info = await source.stat(fenced.path);
      const asOne = (why: string | undefined): FanOutDecision => {
        handedOn = true;
        if (why !== undefined)
          log.info(`the file is copied as one, not by ranges: ${why}`, { size: info.size });
        return { status: "copy-as-one", source };
      };
      if (fanout === undefined || info.size === null || info.size < fanout.minBytes) return asOne(undefined);
      if (info.modifiedAt === null)
        return asOne("the server gives no MDTM, so a change between ranges would go unseen");
      if (source.downloadRange === undefined) return asOne("this session cannot read a range of a file");
      if (!((await source.announcesRestStream?.()) ?? false))
        return asOne("the server does not announce REST STREAM in FEAT, so a range could not start mid-file");
      if (fenced.afterCopy !== "keep") return asOne('"afterCopy" runs only after a copy as one');
      const key = await this.ports.continuationKey?.();
      if (key === undefined) return asOne("no continuation key signs the range messages");
      const rest = await restHonoured(source, fenced.path, info.size, signal);
      if (rest !== true) {
        // The probe may have left the session broken: the copy as one gets a session of its own.
        log.info(`the file is copied as one, not by ranges: ${rest}`, { size: info.size });
        return { status: "copy-as-one" };
      }
      // Planned before the upload is opened: a file the plan refuses leaves nothing to abort.
      const { partSize, ranges } = planRanges(info.size, {
        ranges: fanout.ranges,
        partSize: this.ports.transfer.partSize,
      });
      const opened = await openRangedUpload(
        source,
        this.ports.sink,
        { path: fenced.path, target: leg.target, ifExists: leg.ifExists, known: info },
        leg.copy,
      );
      if ("status" in opened) return opened;
      const plan: FanOutPlan = {
        uploadId: opened.uploadId,
        bucket: leg.target.bucket,
        key: leg.target.key,
        size: info.size,
        modifiedAt: info.modifiedAt.toISOString(),
        partSize,
        ifNoneMatch: opened.ifNoneMatch,
        maxSessions: Math.min(fanout.maxSessions, ranges.length),
        ranges: ranges.map(({ start, end, firstPart }) => ({ start, end, firstPart })),
      };
      await this.start(leg, plan, key);
      return { status: "fanned-out", ranges: ranges.length };
    } finally {
      // Closed once leg 0 is done with it, unless the copy goes on on it.
      if (!handedOn) source.close();
    }
  }

  /**
   * A delivery of leg 0 that finds its transfer ranging sends the range messages again: leg 0 may
   * have stopped between writing the plan and sending them. Duplicates are harmless (every range is
   * claimed conditionally, a done range is skipped); ranges done already are not sent.
   */
  async resendIfRanging(transferId: string, log: KeyedLog): Promise<void> {
    const record = await this.ports.ledger.get(transferId);
    const key = await this.ports.continuationKey?.();
    if (record?.state !== "ranging" || record.plan === undefined || key === undefined) return;
    const open = (record.ranges ?? []).flatMap((range, index) => (range.state === "done" ? [] : [index]));
    await this.ports.queueBatch(
      open.map((index) => rangeMessage(transferId, index, record.plan as FanOutPlan, key)),
    );
    log.info(`the transfer is ranging: ${open.length} range messages sent again`, { ranges: open });
  }

  /** The plan in the ledger, then the messages: a range leg finds its plan before its message. */
  private async start(leg: FanOutLeg, plan: FanOutPlan, key: Uint8Array): Promise<void> {
    const { transferId, target, log } = leg;
    const abandon = () => abandonUpload(this.ports.sink, target, plan.uploadId, log.warn);
    if (!(await leg.leg.fannedOut(plan))) {
      await abandon();
      log.warn(
        "the ledger no longer gives leg 0 the transfer (its claim was taken over): the upload was aborted",
      );
      return;
    }
    try {
      await this.ports.queueBatch(plan.ranges.map((_, index) => rangeMessage(transferId, index, plan, key)));
    } catch (error) {
      log.error(
        "the range messages could not be sent: the transfer fails and its upload is aborted",
        logFields(error),
      );
      await leg.leg.fanOutFailed(error);
      await abandon();
      throw error;
    }
    log.info(
      `transfer fanned out: ${plan.ranges.length} ranges of ${plan.partSize}-byte parts, ${plan.maxSessions} at once`,
      {
        uploadId: plan.uploadId,
        size: plan.size,
        ranges: plan.ranges.length,
        partSize: plan.partSize,
        maxSessions: plan.maxSessions,
      },
    );
  }
}

/** A range's message: the transfer, the range, and the signature that binds them to the plan's upload. */
export function rangeMessage(
  transferId: string,
  range: number,
  plan: FanOutPlan,
  key: Uint8Array,
): RangeMessage {
  return { transferId, range, signature: signRange({ transferId, range, uploadId: plan.uploadId }, key) };
}
