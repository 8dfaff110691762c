import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

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
