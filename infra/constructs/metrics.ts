import type { Duration } from "aws-cdk-lib";
import { Metric } from "aws-cdk-lib/aws-cloudwatch";
import {
  METRICS_NAMESPACE,
  type MirrorMetricName,
  SERVICE_NAME,
  type TransferMetricName,
  type Trigger,
} from "../../functions/contracts/index.js";

export { TRIGGERS } from "../../functions/contracts/index.js";

/** One of the function's EMF metrics for one trigger. */
export function transferMetric(
  name: TransferMetricName | MirrorMetricName,
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
