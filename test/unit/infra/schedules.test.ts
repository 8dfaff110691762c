import { beforeAll, describe, expect, it } from "vitest";
import { mirrorJobSchema } from "../../../functions/contracts/index.js";
import { arnOf, logicalId, type Synthesized, synth } from "./synth.js";

interface ScheduleResource {
  Properties: {
    ScheduleExpression: string;
    ScheduleExpressionTimezone: string;
    State: string;
    Target: { Input: string; RoleArn: { "Fn::GetAtt": [string, string] } };
  };
}

describe("the mirror schedules from the sample config", () => {
  let s: Synthesized;
  let schedules: ScheduleResource[];
  let ids: Record<"fn" | "failed", string>;

  beforeAll(() => {
    s = synth();
    schedules = Object.values(s.template.findResources("AWS::Scheduler::Schedule")) as ScheduleResource[];
    ids = {
      fn: logicalId(s.stack, s.stack.transfer.function),
      failed: logicalId(s.stack, s.stack.failedEventsQueue),
    };
  });

  it("are one schedule per mirror job, with its expression and time zone", () => {
    expect(
      schedules.map((x) => ({
        expression: x.Properties.ScheduleExpression,
        timeZone: x.Properties.ScheduleExpressionTimezone,
        state: x.Properties.State,
      })),
    ).toEqual([
      { expression: "cron(30 2 * * ? *)", timeZone: "Europe/Paris", state: "ENABLED" },
      { expression: "rate(1 hour)", timeZone: "UTC", state: "ENABLED" },
    ]);
  });

  it("send the function a { mirror } input that the handler's schema accepts", () => {
    const inputs = schedules.map((x) => JSON.parse(x.Properties.Target.Input));
    expect(inputs).toEqual([
      {
        mirror: {
          connection: "partner-ftp",
          remoteDir: "/reports/daily",
          prefix: "partner/reports/",
          include: ["*.csv", "*.csv.gz"],
          exclude: ["*.tmp"],
          recursive: false,
        },
      },
      {
        mirror: {
          connection: "public-mirror",
          remoteDir: "/pub/datasets",
          prefix: "public/datasets/",
          recursive: true,
        },
      },
    ]);
    for (const input of inputs) expect(mirrorJobSchema.safeParse(input.mirror).success).toBe(true);
  });

  it("invoke the function, retry a failed delivery 3 times within an hour, then dead-letter it", () => {
    for (const x of schedules) {
      expect(x.Properties.Target).toMatchObject({
        Arn: arnOf(ids.fn),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: arnOf(ids.failed) },
      });
    }
  });

  it("use a role that may invoke only this function and dead-letter only to that queue", () => {
    const [roleId] = (schedules[0] as ScheduleResource).Properties.Target.RoleArn["Fn::GetAtt"];
    const [policy] = Object.values(s.template.findResources("AWS::IAM::Policy")).filter(
      (p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    );
    expect(policy?.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: "Allow",
        Action: "lambda:InvokeFunction",
        Resource: [arnOf(ids.fn), { "Fn::Join": ["", [arnOf(ids.fn), ":*"]] }],
      },
      { Effect: "Allow", Action: "sqs:SendMessage", Resource: arnOf(ids.failed) },
    ]);
  });

  it("runs that fail inside the function are not retried by Lambda and land in the failed-events queue", () => {
    s.template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: ids.fn },
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: arnOf(ids.failed) } },
    });
  });
});

describe("a config without mirror jobs", () => {
  it("has no schedule and no scheduler role", () => {
    const { template } = synth((json) => {
      json.mirrors = [];
    });
    template.resourceCountIs("AWS::Scheduler::Schedule", 0);
    expect(JSON.stringify(template.findResources("AWS::IAM::Role"))).not.toContain("scheduler.amazonaws.com");
  });
});
