import { Duration, Stack, TimeZone } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Schedule, ScheduleExpression, ScheduleTargetInput } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { acknowledge, nagResource } from "./nag.js";

/** One scheduled mirror: what the function receives as `{ "mirror": { ... } }`. */
export interface MirrorSchedule {
  /** Names the schedule (letters, digits, - and _). */
  readonly name: string;
  /** "rate(...)", "cron(...)" or "at(...)". */
  readonly schedule: string;
  /** IANA time zone of a cron or at expression. Default: the construct's `timeZone`. */
  readonly timeZone?: string;
  /** Whether the schedule runs. Default true. */
  readonly enabled?: boolean;
  /** The configured connection to read from. */
  readonly connection: string;
  /** Remote directory to mirror. */
  readonly remoteDir: string;
  /** Key prefix below the bucket prefix. */
  readonly prefix: string;
  /** Glob patterns a file name must match. Default: the handler's (every file). */
  readonly include?: readonly string[];
  /** Glob patterns that leave a file out. Default: the handler's (none). */
  readonly exclude?: readonly string[];
  /** Descend into subdirectories. Default: the handler's. */
  readonly recursive?: boolean;
  /** Delete objects whose source file is gone. Default: the handler's (false). */
  readonly deleteExtraneous?: boolean;
  /** Most deletions one run makes, else none. Default: the handler's (100 or a tenth of the prefix). */
  readonly maxDelete?: number;
  /** Let an empty listing delete what lies below it. Default: the handler's (false). */
  readonly allowEmptySource?: boolean;
}

export interface MirrorSchedulesProps {
  /** The function the schedules invoke. */
  readonly function: IFunction;
  /** The mirror jobs, one schedule each. */
  readonly mirrors: readonly MirrorSchedule[];
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
        input: ScheduleTargetInput.fromObject({ mirror: mirrorInput(mirror) }),
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
          enabled: mirror.enabled ?? true,
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

/** The job as the handler's mirror schema reads it: only the fields it knows, none undefined. */
export function mirrorInput(mirror: MirrorSchedule): Record<string, unknown> {
  const input: Record<string, unknown> = {
    connection: mirror.connection,
    remoteDir: mirror.remoteDir,
    prefix: mirror.prefix,
  };
  if (mirror.include !== undefined) input.include = [...mirror.include];
  if (mirror.exclude !== undefined) input.exclude = [...mirror.exclude];
  if (mirror.recursive !== undefined) input.recursive = mirror.recursive;
  if (mirror.deleteExtraneous !== undefined) input.deleteExtraneous = mirror.deleteExtraneous;
  if (mirror.maxDelete !== undefined) input.maxDelete = mirror.maxDelete;
  if (mirror.allowEmptySource !== undefined) input.allowEmptySource = mirror.allowEmptySource;
  return input;
}
