import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type {
  FanOutPlan,
  HeldRange,
  LedgerError,
  RangeLedger,
  RangeProgress,
  RangeState,
  TransferRecord,
} from "../core/index.js";

type Item = Record<string, AttributeValue>;

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });
const iso = (at: number) => new Date(at).toISOString();

/**
 * The SET assignments (and their values) of how a transfer ended: its error, or its result and its
 * bytes. The ledger's legs and the ranged transfer's completion write the same fields.
 */
export function outcomeSet(
  values: Item,
  outcome: { error: unknown } | { result: { bytes: number } },
): string {
  if ("error" in outcome) {
    values[":error"] = S(JSON.stringify(outcome.error));
    return "#error = :error";
  }
  values[":result"] = S(JSON.stringify(outcome.result));
  values[":bytes"] = N(outcome.result.bytes);
  return "#result = :result, #bytes = :bytes";
}

/** What the range writes need from the ledger's adapter: its conditional update and its read. */
export interface TransferItemAccess {
  /** A conditional UpdateItem of the transfer's item: the item after, or undefined when refused. */
  updateTransfer(
    transferId: string,
    update: string,
    condition: string,
    values: Item,
  ): Promise<Item | undefined>;
  get(transferId: string): Promise<TransferRecord | undefined>;
  record(item: Item): TransferRecord;
}

/**
 * The ranges' writes on the transfer's item (see core/range-ledger.ts): the plan as JSON (written
 * once), each range's progress as an element of the list `ranges`, addressed by its index, and the
 * count of done ranges, `rangesDone`. Every write is conditional on the transfer still ranging and,
 * for a range's own writes, on the writer's claim.
 */
export function dynamoDbRangeLedger(access: TransferItemAccess): RangeLedger {
  const { updateTransfer, get, record } = access;
  const range = (index: number) => `#ranges[${Math.trunc(index)}]`;
  /** A range a leg may claim: queued, failed, or running with a lapsed lease (a crashed leg). */
  const waitable = (r: string) =>
    `(${r}.#state IN (:queued, :failed) OR (${r}.#state = :running AND ${r}.#leaseUntil < :nowMs))`;

  /** An update of a range this leg holds: running, its claim, the transfer ranging. */
  async function whileHeldRange(
    held: HeldRange,
    update: string,
    values: Item,
  ): Promise<TransferRecord | undefined> {
    const r = range(held.index);
    const condition = `#state = :ranging AND ${r}.#state = :running AND ${r}.#claimId = :claim`;
    const after = await updateTransfer(held.transferId, update, condition, {
      ":ranging": S("ranging"),
      ":running": S("running"),
      ":claim": S(held.claimId),
      ...values,
    });
    return after === undefined ? undefined : record(after);
  }

  return {
    async fanOut({ transferId, claimId }, plan: FanOutPlan, at) {
      const queued: AttributeValue = {
        M: { state: S("queued"), bytes: N(0), attempts: N(0) },
      };
      const after = await updateTransfer(
        transferId,
        "SET #state = :ranging, #plan = :plan, #ranges = :ranges, #rangesDone = :zero, #bytes = :zero, " +
          "#totalBytes = :size, #updatedAt = :now REMOVE #leaseUntil, #etaSeconds",
        "#claimId = :claim AND #state = :running",
        {
          ":ranging": S("ranging"),
          ":running": S("running"),
          ":claim": S(claimId),
          ":plan": S(JSON.stringify(plan)),
          ":ranges": { L: plan.ranges.map(() => queued) },
          ":zero": N(0),
          ":size": N(plan.size),
          ":now": S(iso(at)),
        },
      );
      return after !== undefined;
    },

    async claimRange({ transferId, index, claimId, at, leaseUntil }) {
      const r = range(index);
      const claimed = await updateTransfer(
        transferId,
        `SET ${r}.#state = :running, ${r}.#claimId = :claim, ${r}.#leaseUntil = :lease, #updatedAt = :now REMOVE ${r}.#waitingSince`,
        `#state = :ranging AND ${waitable(r)}`,
        {
          ":ranging": S("ranging"),
          ":running": S("running"),
          ":queued": S("queued"),
          ":failed": S("failed"),
          ":claim": S(claimId),
          ":lease": N(leaseUntil),
          ":now": S(iso(at)),
          ":nowMs": N(at),
        },
      );
      if (claimed === undefined) return { claimed: false, current: await get(transferId) };
      return { claimed: true, record: record(claimed) };
    },

    async rangeWaits(transferId, index, at) {
      const r = range(index);
      const after = await updateTransfer(
        transferId,
        `SET ${r}.#waitingSince = if_not_exists(${r}.#waitingSince, :nowMs)`,
        `#state = :ranging AND ${waitable(r)}`,
        {
          ":ranging": S("ranging"),
          ":queued": S("queued"),
          ":failed": S("failed"),
          ":running": S("running"),
          ":nowMs": N(at),
        },
      );
      return after === undefined ? undefined : record(after);
    },

    async rangeWaitedTooLong(transferId, index, wait, at) {
      const r = range(index);
      const after = await updateTransfer(
        transferId,
        `SET ${r}.#state = :failed, ${r}.#error = :error, ${r}.#attempts = ${r}.#attempts + :one, ` +
          `#updatedAt = :now REMOVE ${r}.#waitingSince, ${r}.#claimId, ${r}.#leaseUntil`,
        `#state = :ranging AND ${waitable(r)} AND ${r}.#waitingSince = :since`,
        {
          ":ranging": S("ranging"),
          ":queued": S("queued"),
          ":failed": S("failed"),
          ":running": S("running"),
          ":nowMs": N(at),
          ":since": N(wait.since),
          ":error": S(JSON.stringify(wait.error)),
          ":one": N(1),
          ":now": S(iso(at)),
        },
      );
      return after === undefined ? undefined : record(after);
    },

    async rangeProgress(held, bytes, at) {
      await whileHeldRange(held, `SET ${range(held.index)}.#bytes = :bytes, #updatedAt = :now`, {
        ":bytes": N(bytes),
        ":now": S(iso(at)),
      });
    },

    rangeDone(held, done, at) {
      const r = range(held.index);
      return whileHeldRange(
        held,
        `SET ${r}.#state = :done, ${r}.#bytes = :bytes, ${r}.#crc64nvme = :crc, #rangesDone = #rangesDone + :one, ` +
          `#updatedAt = :now REMOVE ${r}.#claimId, ${r}.#leaseUntil, ${r}.#error`,
        {
          ":done": S("done"),
          ":bytes": N(done.bytes),
          ":crc": done.crc64nvme === null ? { NULL: true } : S(done.crc64nvme),
          ":one": N(1),
          ":now": S(iso(at)),
        },
      );
    },

    rangeStopped(held, end, at) {
      const r = range(held.index);
      const attempts = end.state === "failed" ? `, ${r}.#attempts = ${r}.#attempts + :one` : "";
      return whileHeldRange(
        held,
        `SET ${r}.#state = :end, ${r}.#error = :error, #updatedAt = :now${attempts} REMOVE ${r}.#claimId, ${r}.#leaseUntil`,
        {
          ":end": S(end.state),
          ":error": S(JSON.stringify(end.error)),
          ":now": S(iso(at)),
          ...(end.state === "failed" ? { ":one": N(1) } : {}),
        },
      );
    },

    async claimCompletion(transferId, ranges, at, leaseUntil) {
      const after = await updateTransfer(
        transferId,
        "SET #completeUntil = :lease, #updatedAt = :now",
        "#state = :ranging AND #rangesDone = :all AND " +
          "(attribute_not_exists(#completeUntil) OR #completeUntil < :nowMs)",
        {
          ":ranging": S("ranging"),
          ":all": N(ranges),
          ":lease": N(leaseUntil),
          ":now": S(iso(at)),
          ":nowMs": N(at),
        },
      );
      return after !== undefined;
    },

    async completionFailed(transferId, leaseUntil, at) {
      const after = await updateTransfer(
        transferId,
        "SET #completionFailures = if_not_exists(#completionFailures, :zero) + :one, #updatedAt = :now " +
          "REMOVE #completeUntil",
        "#state = :ranging AND #completeUntil = :lease",
        {
          ":ranging": S("ranging"),
          ":lease": N(leaseUntil),
          ":zero": N(0),
          ":one": N(1),
          ":now": S(iso(at)),
        },
      );
      return after === undefined ? undefined : Number(after.completionFailures?.N ?? 0);
    },

    async rangedFinished(transferId, end, at) {
      const values: Item = { ":ranging": S("ranging"), ":end": S(end.state), ":now": S(iso(at)) };
      const set = `#state = :end, #updatedAt = :now, ${outcomeSet(
        values,
        end.state === "failed" ? { error: end.error } : { result: end.result },
      )}`;
      const after = await updateTransfer(
        transferId,
        `SET ${set} REMOVE #completeUntil`,
        "#state = :ranging",
        values,
      );
      return after !== undefined;
    },
  };
}

/** A ranged transfer's plan and ranges from its item; nothing for any other transfer. */
export function rangesOf(item: Item): Pick<TransferRecord, "plan" | "ranges" | "rangesDone"> {
  if (item.plan?.S === undefined) return {};
  const ranges = (item.ranges?.L ?? []).map((entry) => rangeProgressOf(entry.M ?? {}));
  return {
    plan: JSON.parse(item.plan.S) as FanOutPlan,
    ranges,
    rangesDone: Number(item.rangesDone?.N ?? 0),
  };
}

function rangeProgressOf(m: Item): RangeProgress {
  const progress: RangeProgress = {
    state: m.state?.S as RangeState,
    bytes: Number(m.bytes?.N ?? 0),
    attempts: Number(m.attempts?.N ?? 0),
  };
  if (m.crc64nvme !== undefined) progress.crc64nvme = m.crc64nvme.S ?? null;
  if (m.error?.S !== undefined) progress.error = JSON.parse(m.error.S) as LedgerError;
  if (m.claimId?.S !== undefined) progress.claimId = m.claimId.S;
  if (m.leaseUntil?.N !== undefined) progress.leaseUntil = Number(m.leaseUntil.N);
  if (m.waitingSince?.N !== undefined) progress.waitingSince = Number(m.waitingSince.N);
  return progress;
}
