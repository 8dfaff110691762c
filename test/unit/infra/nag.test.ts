import { Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import { type ConfigJson, synth } from "./synth.js";

/** Every acknowledged cdk-nag finding in the app: construct path, rule id, reason. */
function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ""),
          reason,
        })),
      ),
  );
}

/** Synthesizes with the AWS Solutions pack, as infra/app.ts does, and returns what it found. */
function nag(edit?: (json: ConfigJson) => void) {
  const { app } = synth(edit);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  // Synthesis throws when the pack reports an unacknowledged error.
  app.synth({ force: true });
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
  const findings = report.violations.map((v) => ({
    rule: v.ruleName,
    severity: v.severity,
    resources: v.violatingResources.map((r) => r.constructPath),
  }));
  return { findings, acknowledged: acknowledgments(app) };
}

describe("cdk-nag AwsSolutionsChecks", () => {
  it("finds nothing unacknowledged in the sample stack, and every acknowledgment gives its reason", () => {
    const { findings, acknowledged } = nag();

    expect(findings).toEqual([]);
    for (const a of acknowledged) expect(a.reason.length, `${a.id} on ${a.path}`).toBeGreaterThan(60);
    expect(acknowledged.map((a) => `${a.path} ${a.id}`).sort()).toEqual([
      "Test/Connections/Password-partner-ftp AwsSolutions-SMG4",
      "Test/ContinuationKey/Secret AwsSolutions-SMG4",
      "Test/FailedEventsQueue AwsSolutions-SQS3",
      "Test/Landing/Bucket AwsSolutions-S1",
      "Test/SchedulerRoleForTarget-e367d5 AwsSolutions-IAM5[Resource::<TransferFunction476439FD.Arn>:*]",
      "Test/Transfer/Function AwsSolutions-L1",
      "Test/TransferAccess/Policy AwsSolutions-IAM5[Resource::<LandingBucket6D60388F.Arn>/ftp/*]",
      "Test/TransferAccess/Policy AwsSolutions-IAM5[Resource::<LandingBucket6D60388F.Arn>/ftp2s3-state/*]",
    ]);
  });

  it("finds nothing with every option on: KMS, versions, access logs, an alarm topic, an imported secret", () => {
    const { findings, acknowledged } = nag((json) => {
      json.bucket = { encryption: "KMS", versioned: true, accessLogs: { bucketName: "acme-access-logs" } };
      json.connections["partner-ftp"].passwordSecretArn =
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:partner-ftp-AbCdEf";
      json.alarms = { emails: ["ops@example.com"], topicArn: "arn:aws:sns:eu-west-1:123456789012:pager" };
      json.function.reservedConcurrency = 10;
    });

    expect(findings).toEqual([]);
    // With access logs on and no connection secret created, those acknowledgments are gone (the
    // generated continuation key keeps its own).
    expect(acknowledged.map((a) => a.id)).not.toContain("AwsSolutions-S1");
    expect(acknowledged.filter((a) => a.id === "AwsSolutions-SMG4").map((a) => a.path)).toEqual([
      "Test/ContinuationKey/Secret",
    ]);
  });

  it("finds nothing with connections' object settings: their KMS keys and Object Lock retention", () => {
    const { findings } = nag((json) => {
      json.connections["partner-ftp"].object = {
        kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
        retention: { mode: "COMPLIANCE", days: 365 },
        tags: { source: "{connection}" },
      };
    });
    expect(findings).toEqual([]);
  });

  it("finds nothing with an existing bucket and its KMS key", () => {
    const { findings } = nag((json) => {
      json.bucket = {
        name: "acme-existing",
        existing: true,
        encryption: "KMS",
        kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
        prefix: "incoming/",
      };
    });
    expect(findings).toEqual([]);
  });

  it("finds nothing with a new VPC behind NAT gateways: flow logs on, the interfaces' '*' acknowledged", () => {
    const { findings, acknowledged } = nag((json) => {
      json.network = { newVpc: { availabilityZones: 2, natGateways: 2 } };
    });

    expect(findings).toEqual([]);
    expect(acknowledged.filter((a) => a.path === "Test/Transfer/Role").map((a) => a.id)).toEqual([
      "AwsSolutions-IAM5[Resource::*]",
    ]);
  });

  it("finds nothing with an existing VPC and an S3 gateway endpoint", () => {
    const { findings } = nag((json) => {
      json.network = {
        existingVpc: {
          vpcId: "vpc-0a1b2c3d4e5f60000",
          subnets: [
            {
              id: "subnet-0a1b2c3d4e5f60001",
              availabilityZone: "eu-west-1a",
              routeTableId: "rtb-0a1b2c3d4e5f60001",
            },
            {
              id: "subnet-0a1b2c3d4e5f60002",
              availabilityZone: "eu-west-1b",
              routeTableId: "rtb-0a1b2c3d4e5f60002",
            },
          ],
          addS3GatewayEndpoint: true,
        },
      };
    });
    expect(findings).toEqual([]);
  });
});
