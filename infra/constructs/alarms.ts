import { Duration } from "aws-cdk-lib";
import {
  type Alarm,
  ComparisonOperator,
  type IAlarmAction,
  MathExpression,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { TRIGGERS, transferMetric } from "./metrics.js";

export interface OperationsAlarmsProps {
  /** The transfer function. */
  readonly function: IFunction;
  /** Dead-letter queues by display name: any message in one raises its alarm. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /** E-mail addresses subscribed to a new SNS topic. Default: none (no topic created). */
  readonly emails?: readonly string[];
  /** An existing SNS topic to notify. Default: none. */
  readonly topicArn?: string;
  /** Function errors per period that raise the errors alarm. Default 1. */
  readonly errorThreshold?: number;
  /** The alarms' period. Default 5 minutes. */
  readonly period?: Duration;
}

/**
 * What wakes someone up: the function failing (errors, and failed transfers, which a partial SQS
 * batch failure does not count as an error), being throttled, and messages in a dead-letter queue.
 */
export class OperationsAlarms extends Construct {
  readonly alarms: Alarm[] = [];
  /** The topic created for `emails`, if any. */
  readonly topic?: Topic;

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(5);
    const topics: ITopic[] = [];
    if ((props.emails ?? []).length > 0) {
      this.topic = new Topic(this, "Topic", { displayName: "ftp2s3 alarms", enforceSSL: true });
      for (const email of props.emails ?? []) this.topic.addSubscription(new EmailSubscription(email));
      topics.push(this.topic);
    }
    if (props.topicArn !== undefined) topics.push(Topic.fromTopicArn(this, "ExistingTopic", props.topicArn));
    const actions: IAlarmAction[] = topics.map((topic) => new SnsAction(topic));

    const add = (alarm: Alarm) => {
      for (const action of actions) alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    };
    add(
      props.function.metricErrors({ period, statistic: "Sum" }).createAlarm(this, "FunctionErrors", {
        alarmDescription: "The ftp2s3 function failed (an exception, a timeout, or a bad event).",
        threshold: props.errorThreshold ?? 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    add(
      props.function.metricThrottles({ period, statistic: "Sum" }).createAlarm(this, "FunctionThrottles", {
        alarmDescription: "Invocations of the ftp2s3 function were throttled (concurrency limit reached).",
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    add(
      new MathExpression({
        label: "failed transfers",
        expression: TRIGGERS.map((trigger) => `FILL(${trigger}, 0)`).join(" + "),
        usingMetrics: Object.fromEntries(
          TRIGGERS.map((trigger) => [trigger, transferMetric("TransferFailed", trigger, "Sum", period)]),
        ),
        period,
      }).createAlarm(this, "TransfersFailed", {
        alarmDescription: "Transfers failed (the TransferFailed metric, all triggers).",
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    // SOURCE_CHANGED is no failure (the file is left for the next run), so a server that reports a new
    // size or time at every look, or a file rewritten around the clock, would never raise anything:
    // every scheduled run of six hours finding a changed file does.
    add(
      transferMetric("MirrorFilesChanged", "schedule", "Minimum", Duration.hours(1)).createAlarm(
        this,
        "MirrorFilesKeepChanging",
        {
          alarmDescription:
            "Every scheduled mirror run for 6 hours found a file that changed while it was copied (a file rewritten without pause, or a server whose SIZE/MDTM moves at every look): see the runs' `changed` lists.",
          threshold: 1,
          evaluationPeriods: 6,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        },
      ),
    );
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      add(
        queue
          .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: "Maximum" })
          .createAlarm(this, `${name}Messages`, {
            alarmDescription: `Messages wait in the ${name} dead-letter queue: look at them, fix, redrive.`,
            threshold: 0,
            evaluationPeriods: 1,
            comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
            treatMissingData: TreatMissingData.NOT_BREACHING,
          }),
      );
    }
  }
}
