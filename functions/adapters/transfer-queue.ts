import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

/**
 * Puts work on the ingestion queue, where the Lambda's SQS trigger takes it; `delaySeconds` (at most
 * 900) keeps it out of sight that long.
 */
export type TransferQueue = (
  message: Record<string, unknown>,
  options?: { delaySeconds?: number },
) => Promise<string>;

export function sqsTransferQueue(client: SQSClient, queueUrl: string): TransferQueue {
  return async (message, options) => {
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        ...(options?.delaySeconds === undefined ? {} : { DelaySeconds: options.delaySeconds }),
      }),
    );
    return sent.MessageId ?? "";
  };
}

/** Puts many messages on the ingestion queue at once; rejects unless every one was taken. */
export type TransferQueueBatch = (messages: Record<string, unknown>[]) => Promise<void>;

/** SQS takes at most ten messages a SendMessageBatch. */
const SQS_BATCH = 10;

export function sqsTransferQueueBatch(client: SQSClient, queueUrl: string): TransferQueueBatch {
  return async (messages) => {
    for (let from = 0; from < messages.length; from += SQS_BATCH) {
      const batch = messages.slice(from, from + SQS_BATCH);
      const sent = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((message, i) => ({
            Id: String(from + i),
            MessageBody: JSON.stringify(message),
          })),
        }),
      );
      const failed = sent.Failed ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new Error(
          `SQS did not take ${failed.length} of ${batch.length} messages (${first?.Code}: ${first?.Message})`,
        );
      }
    }
  };
}
