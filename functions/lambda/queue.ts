import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { InvalidInputError } from "../core/errors.js";
import { queuedRequest } from "./event-kind.js";
import { parseInput, transferRequestSchema } from "./schemas.js";
import { type HandlerDeps, logFields, type Transfers } from "./transfers.js";

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
  deps: Pick<HandlerDeps, "logger">,
  signal: AbortSignal,
  suspendSignal?: AbortSignal,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchItemFailure[] = [];
  for (const record of event.Records) {
    if (signal.aborted || suspendSignal?.aborted) {
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      const request = parseInput(
        transferRequestSchema,
        queuedRequest(record.body),
        "queued transfer request",
      );
      if (request.async) throw new InvalidInputError('"async" has no meaning in a queued request');
      // A message may arrive twice: an object already holding this version of the file is left alone.
      // A copy that runs out of time goes on in a new invocation (a continuation message); this
      // message is then done.
      await transfers.copy(
        { ...request, transferId: request.transferId ?? record.messageId },
        "queue",
        request.continuation?.ifExists ?? (request.overwrite ? "replace" : "skip-unchanged"),
        signal,
        suspendSignal,
      );
    } catch (error) {
      deps.logger.error("message failed; it returns to the queue", {
        messageId: record.messageId,
        receiveCount: record.attributes.ApproximateReceiveCount,
        ...logFields(error),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
