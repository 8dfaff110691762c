import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from "aws-lambda";
import {
  isRangeMessage,
  parseInput,
  type RangeMessage,
  rangeMessageSchema,
  type TransferRequest,
  transferRequestSchema,
} from "../contracts/index.js";
import type { ErrorCode, IfExists } from "../core/index.js";
import { FtpBusyError, InvalidInputError } from "../core/index.js";
import { returnWhenBusy } from "./busy-return.js";
import { assertSignedContinuation } from "./continuation-signature.js";
import { queuedRequest } from "./event-kind.js";
import { failureFields, logFields } from "./failure-fields.js";
import type { HandlerDeps, Transfers } from "./transfers.js";

/**
 * Failures no retry can mend: the message itself is wrong (INVALID_INPUT: malformed, or a field
 * only ftp2s3 may set), not allowed (NOT_ALLOWED: unknown connection, a path outside the roots, a key
 * outside the connection's key space, an unsigned or forged continuation), or the key holds another
 * object the sender did not allow replacing (OBJECT_EXISTS). Such a message is logged at ERROR and
 * dropped: returning it would only fail it twice more into the dead-letter queue.
 */
const PERMANENT_CODES: ReadonlySet<ErrorCode | "INTERNAL"> = new Set([
  "INVALID_INPUT",
  "NOT_ALLOWED",
  "OBJECT_EXISTS",
]);

/**
 * An SQS batch, one message after another (FTP servers limit connections; the event source mapping's
 * maxConcurrency spreads the load instead). Only failed messages are reported, so only they return to
 * the queue, and after the retries reach the dead-letter queue. Messages not attempted before the
 * deadline are reported too: they go back to the queue untouched. So are those not started once the
 * copies began suspending: each of them deserves a whole invocation.
 */
export async function handleQueue(
  event: SQSEvent,
  transfers: Transfers,
  deps: Pick<HandlerDeps, "logger" | "continuationKey" | "queue">,
  signal: AbortSignal,
  suspendSignal?: AbortSignal,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchItemFailure[] = [];
  for (const record of event.Records) {
    if (signal.aborted || suspendSignal?.aborted) {
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    let request: TransferRequest | undefined;
    try {
      const range = rangeMessageIn(record.body);
      if (range !== undefined) {
        await transfers.range(range, signal);
        continue;
      }
      request = await trustedRequest(record.body, deps);
      // A copy that runs out of time goes on in a new invocation (a continuation message); this
      // message is then done.
      await transfers.copy(
        { ...request, transferId: request.transferId ?? record.messageId },
        "queue",
        request.continuation?.ifExists ?? ifExistsOf(request),
        signal,
        suspendSignal,
      );
    } catch (error) {
      const fields = {
        messageId: record.messageId,
        transferId: transferIdIn(record.body),
        receiveCount: record.attributes.ApproximateReceiveCount,
        ...logFields(error),
      };
      if (
        error instanceof FtpBusyError &&
        request !== undefined &&
        (await busyReturn(request, record, deps))
      ) {
        continue;
      }
      if (PERMANENT_CODES.has(failureFields(error).code)) {
        deps.logger.error("message failed permanently; it is dropped, not retried", fields);
        continue;
      }
      deps.logger.error("message failed; it returns to the queue", fields);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

/**
 * A copy the server (or the connection's session budget) refused as busy goes back to the queue,
 * delayed, as a new message (busy-return.ts); false when it came back too often or could not be sent,
 * and it then returns as a failed message does.
 */
async function busyReturn(
  request: TransferRequest,
  record: SQSEvent["Records"][number],
  deps: Pick<HandlerDeps, "logger" | "queue">,
): Promise<boolean> {
  if (deps.queue === undefined) return false;
  const transferId = request.transferId ?? record.messageId;
  const returned = await returnWhenBusy(request, transferId, deps.queue).catch((error: unknown) => {
    deps.logger.warn("could not return a busy copy to the queue", { transferId, ...logFields(error) });
    return undefined;
  });
  if (returned === undefined) return false;
  deps.logger.warn(`the FTP server is busy: the copy returns to the queue in ${returned.delaySeconds} s`, {
    messageId: record.messageId,
    transferId,
    ...returned,
  });
  return true;
}

/** A fanned-out file's range message (range-leg.ts checks its signature against the plan); undefined for any other body. */
function rangeMessageIn(body: string): RangeMessage | undefined {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    return undefined;
  }
  return isRangeMessage(message) ? parseInput(rangeMessageSchema, message, "range message") : undefined;
}

/** The message as a request this function may act on: parsed, and a continuation only if it signed it. */
async function trustedRequest(
  body: string,
  deps: Pick<HandlerDeps, "continuationKey">,
): Promise<TransferRequest> {
  const { input, fromEvent } = queuedRequest(body);
  const request = parseInput(transferRequestSchema, input, "queued transfer request");
  if (request.async) throw new InvalidInputError('"async" has no meaning in a queued request');
  if (request.continuation !== undefined) {
    if (fromEvent) {
      throw new InvalidInputError('an "FTP File Available" event may not carry a "continuation"');
    }
    assertSignedContinuation(
      { ...request, continuation: request.continuation },
      await deps.continuationKey?.(),
    );
  }
  return request;
}

/**
 * The sender's choice, kept exactly: replace only with `overwrite: true`. Otherwise an object that
 * holds this very version is a duplicate delivery (unchanged), any other is refused. A mirror's
 * fan-out keeps the mirror's rule: an object of an older version of the file is replaced.
 */
function ifExistsOf(request: TransferRequest): IfExists {
  if (request.overwrite === true) return "replace";
  return request.mirrored === true ? "skip-unchanged" : "fail-unless-unchanged";
}

/** The body's transfer id for the failure line, when there is one to read. */
function transferIdIn(body: string): string | undefined {
  try {
    const message = JSON.parse(body) as { transferId?: unknown; detail?: { transferId?: unknown } };
    const id = message?.transferId ?? message?.detail?.transferId;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
