import { Duration } from "aws-cdk-lib";
import { Rule } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { EventSourceMapping, type IFunction } from "aws-cdk-lib/aws-lambda";
import type { IQueue, Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { deadLetterQueue, secureQueue } from "./queues.js";

/** The detail-type of the events a producer sends when a file is ready on an FTP server. */
export const FILE_AVAILABLE = "FTP File Available";

export interface IngestionProps {
  /** The consuming function's timeout: the visibility timeout is six times as long, as AWS advises. */
  readonly functionTimeout: Duration;
  /** Messages per invocation (1 to 10). Default 1: one file, one FTP connection per invocation. */
  readonly batchSize?: number;
  /** Concurrent invocations the queue may start; caps simultaneous FTP connections. Default 5. */
  readonly maxConcurrency?: number;
  /** Receives before a message moves to the dead-letter queue. Default 3. */
  readonly maxReceiveCount?: number;
  /** How long a message waits in the queue. Default 4 days. */
  readonly retentionPeriod?: Duration;
  /** Sources whose "FTP File Available" events go to the queue. Default ["ftp2s3.producer"]. */
  readonly eventSources?: readonly string[];
  /** Where EventBridge puts events it could not deliver to the queue. */
  readonly failedEventsQueue: IQueue;
  /** EventBridge's delivery retries. Default 3. */
  readonly deliveryRetryAttempts?: number;
}

/**
 * Work that arrives as messages: async API calls, mirror fan-out and producers' events, all through
 * one queue. The event source mapping reports partial batch failures (only the failed messages come
 * back) and caps its concurrency, because FTP servers limit simultaneous connections.
 */
export class Ingestion extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly rule: Rule;
  private readonly props: IngestionProps;

  constructor(scope: Construct, id: string, props: IngestionProps) {
    super(scope, id);
    this.props = props;
    this.deadLetterQueue = deadLetterQueue(this, "DeadLetterQueue");
    this.queue = secureQueue(this, "Queue", {
      // A message comes back only when its invocation cannot still be running, even after retries
      // of a throttled invocation: six times the timeout (AWS's advice for SQS event sources).
      visibilityTimeout: Duration.seconds(props.functionTimeout.toSeconds() * 6),
      retentionPeriod: props.retentionPeriod ?? Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 3 },
    });
    this.rule = new Rule(this, "FileAvailableRule", {
      description: `Routes "${FILE_AVAILABLE}" events to the ftp2s3 ingestion queue`,
      eventPattern: {
        source: [...(props.eventSources ?? ["ftp2s3.producer"])],
        detailType: [FILE_AVAILABLE],
      },
      targets: [
        new SqsQueue(this.queue, {
          deadLetterQueue: props.failedEventsQueue,
          retryAttempts: props.deliveryRetryAttempts ?? 3,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
  }

  /**
   * Lets `fn` consume the queue. Not SqsEventSource: it would grant the role consume rights by
   * itself, and TransferAccessPolicy writes them out; make the mapping depend on that policy.
   */
  consumeWith(fn: IFunction): EventSourceMapping {
    return new EventSourceMapping(this, "EventSourceMapping", {
      target: fn,
      eventSourceArn: this.queue.queueArn,
      batchSize: this.props.batchSize ?? 1,
      reportBatchItemFailures: true,
      maxConcurrency: this.props.maxConcurrency ?? 5,
    });
  }
}
