import { Duration } from "aws-cdk-lib";
import { Queue, QueueEncryption, type QueueProps } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

/**
 * Every queue of the stack: encrypted at rest with SQS-managed keys (EventBridge, Scheduler and
 * Lambda can send to it without a key policy) and refusing requests without TLS.
 */
export function secureQueue(scope: Construct, id: string, props: QueueProps = {}): Queue {
  return new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    ...props,
  });
}

/** A dead-letter queue keeps messages as long as SQS allows, for someone to look at them. */
export function deadLetterQueue(scope: Construct, id: string): Queue {
  return secureQueue(scope, id, { retentionPeriod: Duration.days(14) });
}
