import type { ContinuationKeySource } from "../adapters/continuation-key.js";
import type { TransferQueue } from "../adapters/transfer-queue.js";
import type { ResumeStore } from "../app/resume-store.js";
import type { TransferRequest } from "../contracts/index.js";
import {
  type IfExists,
  ResumeLimitError,
  type SuspendedResult,
  TransferAbortedError,
} from "../core/index.js";
import { signContinuation } from "./continuation-signature.js";
import type { KeyedLog } from "./keyed-log.js";

/** One leg of a queued or API copy, and what its continuation needs. */
export interface ContinuationSettings {
  request: TransferRequest;
  transferId: string;
  ifExists: IfExists;
  /** Continuations one copy may take before it is given up. */
  maxContinuations: number;
  /** The ingestion queue; without one no leg stops to go on later. */
  queue: TransferQueue | undefined;
  /** Signs continuations; without a key no leg stops (nothing unsigned is trusted). */
  continuationKey: ContinuationKeySource | undefined;
  log: KeyedLog;
  /** Called before the continuation is queued (the ledger's "continuing"), so its leg finds this one ended. */
  beforeQueueing?: (outcome: SuspendedResult) => Promise<void>;
}

/**
 * The Lambda's ResumeStore: a suspended leg's point goes on the queue as a signed continuation, the
 * request as it came plus where to go on, for a new invocation to pick up. The message is the state:
 * a leg that ends has nothing to forget, and one that cannot connect leaves no upload open.
 */
export function queueContinuation(settings: ContinuationSettings): ResumeStore<void> {
  const { request, log } = settings;
  let signingKey: Uint8Array | undefined;
  return {
    keepsPointWhenUnreachable: false,
    // Only a signed continuation can be trusted by the next leg: no key, no suspension.
    async canSave() {
      if (settings.queue === undefined || request.continuation?.noRestart === true) return false;
      signingKey = await settings.continuationKey?.();
      return signingKey !== undefined;
    },
    async save(outcome) {
      const number = (request.continuation?.number ?? 0) + 1;
      assertWithinLimits(outcome, number, settings);
      const body = signedContinuation(outcome, number, settings, signingKey as Uint8Array);
      try {
        await settings.beforeQueueing?.(outcome);
        await (settings.queue as TransferQueue)(body);
      } catch (error) {
        throw new TransferAbortedError(
          `could not queue the continuation of ${outcome.source.url}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      logSuspended(log, outcome, number);
    },
    forget: async () => {},
  };
}

/** A copy gives up past the continuation limit, and after a continuation that made no progress. */
function assertWithinLimits(outcome: SuspendedResult, number: number, settings: ContinuationSettings): void {
  const { resumeAt } = outcome;
  const { maxContinuations, request } = settings;
  if (number > maxContinuations) {
    throw new ResumeLimitError(
      `${outcome.source.url} was not copied after ${maxContinuations} continuation${maxContinuations === 1 ? "" : "s"} (${resumeAt?.offset ?? 0} of ${outcome.source.size ?? "?"} bytes uploaded); the upload was aborted`,
    );
  }
  // A continuation that kept no new part would only run out of time again, a whole invocation at a
  // time (a server trickling just above the minimum rate): a copy gets one leg without progress.
  const kept = resumeAt?.offset ?? 0;
  if (request.continuation !== undefined && outcome.reason === "deadline" && kept <= outcome.fromOffset) {
    throw new ResumeLimitError(
      `${outcome.source.url}: continuation ${number - 1} made no progress (${outcome.bytes} bytes read, no part kept beyond byte ${outcome.fromOffset} of ${outcome.source.size ?? "?"}); the copy was given up and its upload aborted`,
    );
  }
}

/** The queued request as it came, with where to go on and its signature: "async" means nothing on the queue. */
function signedContinuation(
  outcome: SuspendedResult,
  number: number,
  settings: ContinuationSettings,
  signingKey: Uint8Array,
): Record<string, unknown> {
  const { async: _async, ...queued } = settings.request;
  const unsigned = {
    ...queued,
    transferId: settings.transferId,
    continuation: {
      number,
      resumeAt: outcome.resumeAt,
      ifExists: settings.ifExists,
      noRestart: outcome.reason === "no-restart" || settings.request.continuation?.noRestart === true,
    },
  };
  const signature = signContinuation(unsigned, signingKey);
  return { ...unsigned, continuation: { ...unsigned.continuation, signature } };
}

function logSuspended(log: KeyedLog, outcome: SuspendedResult, number: number): void {
  const { resumeAt } = outcome;
  log.info(
    resumeAt === null
      ? `transfer suspended: continuation ${number} starts over from byte 0`
      : `transfer suspended at byte ${resumeAt.offset} of ${resumeAt.size}: continuation ${number} goes on from there`,
    {
      reason: outcome.reason,
      bytes: outcome.bytes,
      fromOffset: outcome.fromOffset,
      ...(resumeAt === null ? {} : { uploadId: resumeAt.uploadId, offset: resumeAt.offset }),
    },
  );
}
