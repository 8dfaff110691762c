import { Duration, Stack, TimeZone } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Schedule, ScheduleExpression, ScheduleTargetInput } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { type ScheduledMirror, scheduleInputOf } from "../../functions/contracts/index.js";
import { acknowledge, nagResource } from "./nag.js";

export interface MirrorSchedulesProps {
  /** The function the schedules invoke. */
  readonly function: IFunction;
  /** The mirror jobs, one schedule each. */
  readonly mirrors: readonly ScheduledMirror[];
  /** Time zone of cron and at expressions without their own. Default "UTC". */
  readonly timeZone?: string;
  /** Where Scheduler puts invocations it could not deliver. */
  readonly deadLetterQueue: IQueue;
  /** Scheduler's delivery retries (0 to 185). Default 3. */
  readonly retryAttempts?: number;
  /** How long Scheduler keeps retrying one delivery. Default 1 hour. */
  readonly maxEventAge?: Duration;
}

/**
 * One EventBridge Scheduler schedule per mirror job. Delivery failures (throttling, a missing
 * function) are retried, then land in the dead-letter queue; failures inside the run are the
 * function's to report (its async failure destination).
 */
export class MirrorSchedules extends Construct {
  readonly schedules: Schedule[] = [];

  constructor(scope: Construct, id: string, props: MirrorSchedulesProps) {
    super(scope, id);
    for (const mirror of props.mirrors) {
      const target = new LambdaInvoke(props.function, {
        input: ScheduleTargetInput.fromObject(scheduleInputOf(mirror)),
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: props.retryAttempts ?? 3,
        maxEventAge: props.maxEventAge ?? Duration.hours(1),
      });
      this.schedules.push(
        new Schedule(this, mirror.name, {
          description: `ftp2s3 mirror ${mirror.name}: ${mirror.connection}:${mirror.remoteDir} under "${mirror.prefix}"`,
          schedule: ScheduleExpression.expression(
            mirror.schedule,
            TimeZone.of(mirror.timeZone ?? props.timeZone ?? "UTC"),
          ),
          target,
          enabled: mirror.enabled,
        }),
      );
    }
    // LambdaInvoke creates one role per target function, at the root of the stack.
    const role = Stack.of(this).node.children.find((c) => c.node.id.startsWith("SchedulerRoleForTarget-"));
    if (role !== undefined) {
      acknowledge(
        role,
        `AwsSolutions-IAM5[${nagResource(this, `${props.function.functionArn}:*`)}]`,
        "Scheduler's role may invoke this one function; the :* suffix (added by grantInvoke) only extends it to the function's own versions and aliases.",
      );
    }
  }
}
