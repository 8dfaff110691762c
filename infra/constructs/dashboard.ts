import { Duration } from "aws-cdk-lib";
import {
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  SingleValueWidget,
  TextWidget,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { TRIGGERS, transferMetric } from "./metrics.js";

export interface OperationsDashboardProps {
  /** The transfer function. */
  readonly function: IFunction;
  /** The ingestion queue. */
  readonly queue: IQueue;
  /** Dead-letter queues by display name. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /** The graphs' period. Default 5 minutes. */
  readonly period?: Duration;
}

/**
 * One page for the operator: what moved (bytes, throughput, per trigger), how long it took, what
 * failed, and the function and queues behind it. Transfer figures come from the function's EMF
 * metrics (namespace ftp2s3, dimensions service and trigger).
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(5);
    const perTrigger = (name: Parameters<typeof transferMetric>[0], statistic: string): IMetric[] =>
      TRIGGERS.map((trigger) => transferMetric(name, trigger, statistic, period));
    // Throughput: the bytes of a period over its length, for each trigger.
    const throughput = TRIGGERS.map(
      (trigger) =>
        new MathExpression({
          expression: `bytes_${trigger} / PERIOD(bytes_${trigger})`,
          usingMetrics: { [`bytes_${trigger}`]: transferMetric("BytesTransferred", trigger, "Sum", period) },
          label: trigger,
          period,
        }),
    );
    const dlqs = Object.entries(props.deadLetterQueues).map(([name, queue]) =>
      queue.metricApproximateNumberOfMessagesVisible({ label: name, statistic: "Maximum", period }),
    );

    this.dashboard = new Dashboard(this, "Dashboard", {
      defaultInterval: Duration.days(1),
      widgets: [
        [
          new TextWidget({
            markdown:
              "## ftp2s3\nTransfers by trigger (api, schedule, queue) from the function's EMF metrics; then the function and its queues.",
            width: 24,
            height: 2,
          }),
        ],
        [
          new SingleValueWidget({
            title: "Over the selected range",
            metrics: TRIGGERS.flatMap((trigger) => [
              transferMetric("BytesTransferred", trigger, "Sum", period).with({ label: `${trigger}: bytes` }),
              transferMetric("TransferFailed", trigger, "SampleCount", period).with({
                label: `${trigger}: transfers`,
              }),
              transferMetric("TransferFailed", trigger, "Sum", period).with({ label: `${trigger}: failed` }),
            ]),
            setPeriodToTimeRange: true,
            width: 24,
            height: 4,
          }),
        ],
        [
          graph("Bytes transferred", perTrigger("BytesTransferred", "Sum"), { stacked: true, unit: "Bytes" }),
          graph("Throughput (bytes/s)", throughput, { stacked: true }),
        ],
        [
          graph("Transfer duration p50 (ms)", perTrigger("TransferDuration", "p50")),
          graph("Transfer duration p90 (ms)", perTrigger("TransferDuration", "p90")),
        ],
        [
          graph("Transfers", perTrigger("TransferFailed", "SampleCount"), { stacked: true }),
          graph("Failed transfers", perTrigger("TransferFailed", "Sum"), { stacked: true }),
        ],
        [
          graph("Function invocations, errors, throttles", [
            props.function.metricInvocations({ period, statistic: "Sum" }),
            props.function.metricErrors({ period, statistic: "Sum" }),
            props.function.metricThrottles({ period, statistic: "Sum" }),
          ]),
          graph("Function duration and concurrency", [
            props.function.metricDuration({ period, statistic: "p90", label: "duration p90 (ms)" }),
            props.function.metric("ConcurrentExecutions", { period, statistic: "Maximum" }),
          ]),
        ],
        [
          graph("Ingestion queue", [
            props.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: "Maximum" }),
            props.queue.metricApproximateNumberOfMessagesNotVisible({ period, statistic: "Maximum" }),
            props.queue.metricApproximateAgeOfOldestMessage({ period, statistic: "Maximum" }),
          ]),
          graph("Dead-letter queues (messages)", dlqs),
        ],
      ],
    });
  }
}

function graph(
  title: string,
  left: IMetric[],
  options: { stacked?: boolean; unit?: string } = {},
): GraphWidget {
  return new GraphWidget({
    title,
    left,
    stacked: options.stacked ?? false,
    width: 12,
    height: 6,
    ...(options.unit === undefined ? {} : { leftYAxis: { label: options.unit, showUnits: false } }),
  });
}
