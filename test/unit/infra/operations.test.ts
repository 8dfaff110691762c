import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { logicalId, type Synthesized, synth } from "./synth.js";

describe("alarms and dashboard of the sample stack", () => {
  let s: Synthesized;

  beforeAll(() => {
    s = synth();
  });

  it("alarm on function errors and throttles", () => {
    const fnId = logicalId(s.stack, s.stack.transfer.function);
    for (const metric of ["Errors", "Throttles"]) {
      s.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/Lambda",
        MetricName: metric,
        Dimensions: [{ Name: "FunctionName", Value: { Ref: fnId } }],
        Statistic: "Sum",
        Period: 300,
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
      });
    }
  });

  it("alarm as soon as one message is visible in either dead-letter queue", () => {
    for (const queue of [s.stack.ingestion.deadLetterQueue, s.stack.failedEventsQueue]) {
      s.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [
          { Name: "QueueName", Value: { "Fn::GetAtt": [logicalId(s.stack, queue), "QueueName"] } },
        ],
        Statistic: "Maximum",
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
      });
    }
  });

  it("alarm on failed transfers of any trigger, from the EMF metric", () => {
    s.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: "FILL(api, 0) + FILL(schedule, 0) + FILL(queue, 0)" }),
        Match.objectLike({
          Id: "queue",
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: "ftp2s3",
              MetricName: "TransferFailed",
              Dimensions: [
                { Name: "service", Value: "ftp2s3" },
                { Name: "trigger", Value: "queue" },
              ],
            },
            Stat: "Sum",
          }),
        }),
      ]),
    });
  });

  it("alarm when every scheduled mirror run of six hours found a file that changed while copied", () => {
    s.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Metrics: [
        Match.objectLike({
          MetricStat: {
            Metric: {
              Namespace: "ftp2s3",
              MetricName: "MirrorFilesChanged",
              Dimensions: [
                { Name: "service", Value: "ftp2s3" },
                { Name: "trigger", Value: "schedule" },
              ],
            },
            Period: 3600,
            Stat: "Minimum",
          },
        }),
      ],
      EvaluationPeriods: 6,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
  });

  it("notify nobody when no topic is configured", () => {
    s.template.resourceCountIs("AWS::SNS::Topic", 0);
    for (const alarm of Object.values(s.template.findResources("AWS::CloudWatch::Alarm"))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  it("draw bytes, throughput, duration and failures per trigger from the ftp2s3 namespace", () => {
    const [dashboard] = Object.values(s.template.findResources("AWS::CloudWatch::Dashboard"));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const title of [
      "Bytes transferred",
      "Throughput (bytes/s)",
      "Transfer duration p90 (ms)",
      "Failed transfers",
      "Dead-letter queues (messages)",
    ]) {
      expect(body).toContain(title);
    }
    for (const trigger of ["api", "schedule", "queue"]) {
      expect(body).toContain(
        `[\\"ftp2s3\\",\\"BytesTransferred\\",\\"service\\",\\"ftp2s3\\",\\"trigger\\",\\"${trigger}\\"`,
      );
      expect(body).toContain(`bytes_${trigger} / PERIOD(bytes_${trigger})`);
    }
  });
});

describe("alarm notifications", () => {
  it("go to a new topic with the e-mail subscriptions, TLS only, and to an existing topic", () => {
    const { template } = synth((json) => {
      json.alarms = { emails: ["ops@example.com"], topicArn: "arn:aws:sns:eu-west-1:123456789012:pager" };
    });
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
    const [topicId] = Object.keys(template.findResources("AWS::SNS::Topic"));
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm"));
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([
        { Ref: topicId },
        "arn:aws:sns:eu-west-1:123456789012:pager",
      ]);
    }
  });
});
