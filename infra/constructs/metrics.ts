import type { Duration } from "aws-cdk-lib";
import { Metric } from "aws-cdk-lib/aws-cloudwatch";

/** The namespace and service name the function's Powertools Metrics write with (EMF). */
export const METRICS_NAMESPACE = "ftp2s3";
export const SERVICE_NAME = "ftp2s3";

/** The triggers the function records as the `trigger` dimension. */
export const TRIGGERS = ["api", "schedule", "queue"] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** The metrics each transfer records: bytes, duration, and 1 (failed) or 0 (committed). */
export type TransferMetricName = "BytesTransferred" | "TransferDuration" | "TransferFailed";

/** One of the function's EMF metrics for one trigger. */
export function transferMetric(
  name: TransferMetricName,
  trigger: Trigger,
  statistic: string,
  period: Duration,
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SERVICE_NAME, trigger },
    statistic,
    period,
    label: trigger,
  });
}
