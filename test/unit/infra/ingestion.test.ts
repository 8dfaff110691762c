import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { FILE_AVAILABLE } from "../../../functions/lambda/event-kind.js";
import { arnOf, logicalId, type Synthesized, synth } from "./synth.js";

describe("the ingestion queue, its dead-letter queue and the EventBridge rule", () => {
  let s: Synthesized;
  let ids: Record<"queue" | "dlq" | "failed" | "fn", string>;

  beforeAll(() => {
    s = synth();
    ids = {
      queue: logicalId(s.stack, s.stack.ingestion.queue),
      dlq: logicalId(s.stack, s.stack.ingestion.deadLetterQueue),
      failed: logicalId(s.stack, s.stack.failedEventsQueue),
      fn: logicalId(s.stack, s.stack.transfer.function),
    };
  });

  it("hides a message for at least six times the function's timeout, and moves it to the DLQ after 3 receives", () => {
    const queue = s.template.toJSON().Resources[ids.queue].Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * 900);
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(ids.dlq), maxReceiveCount: 3 });
    expect(queue.SqsManagedSseEnabled).toBe(true);
  });

  it("keeps dead letters 14 days, encrypted", () => {
    for (const id of [ids.dlq, ids.failed]) {
      expect(s.template.toJSON().Resources[id].Properties).toEqual({
        MessageRetentionPeriod: 14 * 24 * 3600,
        SqsManagedSseEnabled: true,
      });
    }
  });

  it("refuses requests without TLS on every queue", () => {
    const policies = Object.values(s.template.findResources("AWS::SQS::QueuePolicy"));
    const queuesWithTlsDeny = policies
      .filter((p) =>
        p.Properties.PolicyDocument.Statement.some(
          (st: { Effect: string; Condition?: unknown }) =>
            st.Effect === "Deny" &&
            JSON.stringify(st.Condition) === JSON.stringify({ Bool: { "aws:SecureTransport": "false" } }),
        ),
      )
      .flatMap((p) => p.Properties.Queues.map((q: { Ref: string }) => q.Ref));
    expect(queuesWithTlsDeny.sort()).toEqual([ids.queue, ids.dlq, ids.failed].sort());
  });

  it("feeds the function one message at a time, at most 5 at once, reporting failed items only", () => {
    s.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: arnOf(ids.queue),
      FunctionName: { Ref: ids.fn },
      BatchSize: 1,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it(`routes "${FILE_AVAILABLE}" events from the producer source to the queue, with retries and a DLQ`, () => {
    s.template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { source: ["ftp2s3.producer"], "detail-type": [FILE_AVAILABLE] },
      State: "ENABLED",
      Targets: [
        Match.objectLike({
          Arn: arnOf(ids.queue),
          DeadLetterConfig: { Arn: arnOf(ids.failed) },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        }),
      ],
    });
    // The whole event is the message (no InputPath/InputTransformer): the handler reads its detail.
    const [rule] = Object.values(s.template.findResources("AWS::Events::Rule"));
    expect(rule?.Properties.Targets[0].Input).toBeUndefined();
    expect(rule?.Properties.Targets[0].InputTransformer).toBeUndefined();
  });

  it("lets EventBridge, and only this rule, send to the queue", () => {
    const ruleId = logicalId(s.stack, s.stack.ingestion.rule);
    s.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: ids.queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            Condition: { ArnEquals: { "aws:SourceArn": arnOf(ruleId) } },
          }),
        ]),
      },
    });
  });
});

describe("the ingestion settings from the config", () => {
  it("follow batch size, concurrency, receive count and event sources", () => {
    const { template } = synth((json) => {
      json.ingestion = {
        batchSize: 10,
        maxConcurrency: 20,
        maxReceiveCount: 5,
        eventSources: ["a.producer", "b.producer"],
      };
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 20 },
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { source: ["a.producer", "b.producer"], "detail-type": [FILE_AVAILABLE] },
    });
  });
});
