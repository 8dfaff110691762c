import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

/** Puts work on the ingestion queue, where the Lambda's SQS trigger takes it. */
export type TransferQueue = (message: Record<string, unknown>) => Promise<string>;

export function sqsTransferQueue(client: SQSClient, queueUrl: string): TransferQueue {
  return async (message) => {
    const sent = await client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }),
    );
    return sent.MessageId ?? "";
  };
}
