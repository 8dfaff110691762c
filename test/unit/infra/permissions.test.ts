import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { arnOf, logicalId, type Synthesized, synth } from "./synth.js";

type PolicyDocument = { Statement: Statement[] };
type IamResource = {
  Type: string;
  Properties: { PolicyDocument?: PolicyDocument; Policies?: { PolicyDocument: PolicyDocument }[] };
};
type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
};

function statementsOf(template: Template, policyId: string): Statement[] {
  return template.toJSON().Resources[policyId].Properties.PolicyDocument.Statement;
}

/** Every statement of every IAM policy in the template, inline or managed. */
function allStatements(template: Template): Statement[] {
  const resources = Object.values(template.toJSON().Resources) as IamResource[];
  return resources.flatMap((r) => [
    ...(r.Type.startsWith("AWS::IAM::") ? (r.Properties.PolicyDocument?.Statement ?? []) : []),
    ...(r.Type === "AWS::IAM::Role"
      ? (r.Properties.Policies ?? []).flatMap((p) => p.PolicyDocument.Statement)
      : []),
  ]);
}

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:partner-ftp-AbCdEf";

describe("the function's permissions, with the sample config", () => {
  let s: Synthesized;
  let ids: Record<
    "bucket" | "queue" | "failed" | "secret" | "continuationKey" | "policy" | "logs" | "role",
    string
  >;

  beforeAll(() => {
    s = synth();
    const [secret] = Object.entries(s.template.findResources("AWS::SecretsManager::Secret"))
      .filter(([, r]) => String(r.Properties.Description).includes("FTP password"))
      .map(([id]) => id);
    ids = {
      bucket: logicalId(s.stack, s.stack.landing.bucket),
      queue: logicalId(s.stack, s.stack.ingestion.queue),
      failed: logicalId(s.stack, s.stack.failedEventsQueue),
      secret: secret as string,
      continuationKey: logicalId(s.stack, s.stack.continuationKey.secret),
      policy: logicalId(s.stack, s.stack.accessPolicy.policy),
      logs: logicalId(s.stack, s.stack.transfer.logGroup),
      role: logicalId(s.stack, s.stack.transfer.role),
    };
  });

  it("are exactly these statements: objects and listing under the prefix, the state, the queues, the two secrets, the ledger, the events", () => {
    const ledger = logicalId(s.stack, s.stack.ledger.table);
    expect(statementsOf(s.template, ids.policy)).toEqual([
      {
        Sid: "ObjectsUnderPrefix",
        Effect: "Allow",
        Action: [
          "s3:AbortMultipartUpload",
          "s3:GetObject",
          "s3:ListMultipartUploadParts",
          "s3:PutObject",
          "s3:PutObjectTagging",
        ],
        Resource: { "Fn::Join": ["", [arnOf(ids.bucket), "/ftp/*"]] },
      },
      {
        Sid: "StateUnderStatePrefix",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject"],
        Resource: { "Fn::Join": ["", [arnOf(ids.bucket), "/ftp2s3-state/*"]] },
      },
      {
        Sid: "ListUnderPrefix",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: arnOf(ids.bucket),
        Condition: { StringLike: { "s3:prefix": ["ftp/*", "ftp2s3-state/*"] } },
      },
      { Sid: "SendToIngestionQueue", Effect: "Allow", Action: "sqs:SendMessage", Resource: arnOf(ids.queue) },
      {
        Sid: "ConsumeIngestionQueue",
        Effect: "Allow",
        Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        Resource: arnOf(ids.queue),
      },
      {
        Sid: "ReportFailedScheduledRuns",
        Effect: "Allow",
        Action: "sqs:SendMessage",
        Resource: arnOf(ids.failed),
      },
      {
        Sid: "ReadConnectionPasswords",
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: { Ref: ids.secret },
      },
      {
        Sid: "ReadContinuationKey",
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: { Ref: ids.continuationKey },
      },
      {
        Sid: "TransferLedger",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
        Resource: [arnOf(ledger), { "Fn::Join": ["", [arnOf(ledger), "/index/byConnection"]] }],
      },
      {
        Sid: "PutTransferEvents",
        Effect: "Allow",
        Action: "events:PutEvents",
        Resource: {
          "Fn::Join": [
            "",
            [
              "arn:",
              { Ref: "AWS::Partition" },
              ":events:",
              { Ref: "AWS::Region" },
              ":",
              { Ref: "AWS::AccountId" },
              ":event-bus/default",
            ],
          ],
        },
      },
    ]);
  });

  it("is attached to the function's role, whose only other right is writing its own log group", () => {
    const template = s.template.toJSON();
    expect(template.Resources[ids.policy].Properties.Roles).toEqual([{ Ref: ids.role }]);
    expect(template.Resources[ids.role].Properties.ManagedPolicyArns).toBeUndefined();
    const rolePolicies = Object.entries(s.template.findResources("AWS::IAM::Policy")).filter(
      ([id, p]) =>
        id !== ids.policy && JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: ids.role }]),
    );
    expect(rolePolicies.map(([, p]) => p.Properties.PolicyDocument.Statement)).toEqual([
      [
        {
          Sid: "WriteOwnLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: arnOf(ids.logs),
        },
      ],
    ]);
  });

  it("has no wildcard action and no '*' resource anywhere in the stack", () => {
    for (const statement of allStatements(s.template)) {
      expect([statement.Action].flat().filter((a) => a.includes("*"))).toEqual([]);
      expect([statement.Resource].flat()).not.toContain("*");
    }
  });

  it("is in place before the queue mapping and the failure destination that Lambda checks against it", () => {
    const esm = Object.values(s.template.findResources("AWS::Lambda::EventSourceMapping"))[0];
    const invokeConfig = Object.values(s.template.findResources("AWS::Lambda::EventInvokeConfig"))[0];
    expect(esm?.DependsOn).toContain(ids.policy);
    expect(invokeConfig?.DependsOn).toContain(ids.policy);
  });
});

describe("the function's permission to delete", () => {
  it("is granted under the prefix only when a mirror job deletes what its source lost", () => {
    const without = synth();
    const withDelete = synth((json) => {
      json.mirrors[0].deleteExtraneous = true;
    });
    const policyOf = (x: Synthesized) =>
      statementsOf(x.template, logicalId(x.stack, x.stack.accessPolicy.policy));
    const bucketId = logicalId(withDelete.stack, withDelete.stack.landing.bucket);

    expect(policyOf(without).find((st) => st.Sid === "DeleteUnderPrefix")).toBeUndefined();
    expect(policyOf(withDelete).find((st) => st.Sid === "DeleteUnderPrefix")).toEqual({
      Sid: "DeleteUnderPrefix",
      Effect: "Allow",
      Action: "s3:DeleteObject",
      Resource: { "Fn::Join": ["", [arnOf(bucketId), "/ftp/*"]] },
    });
  });
});

describe("the function's permissions, with a KMS key, an imported secret and no prefix", () => {
  let s: Synthesized;

  beforeAll(() => {
    s = synth((json) => {
      json.bucket = { encryption: "KMS", prefix: "" };
      json.connections["partner-ftp"].passwordSecretArn = SECRET_ARN;
    });
  });

  it("lets the function use the bucket's key through S3 only, reads the imported secret, lists without condition", () => {
    const policyId = logicalId(s.stack, s.stack.accessPolicy.policy);
    const keyId = logicalId(s.stack, s.stack.landing.encryptionKey);
    const bucketId = logicalId(s.stack, s.stack.landing.bucket);
    const statements = statementsOf(s.template, policyId);
    expect(statements.find((st) => st.Sid === "ObjectsUnderPrefix")?.Resource).toEqual({
      "Fn::Join": ["", [arnOf(bucketId), "/*"]],
    });
    expect(statements.find((st) => st.Sid === "ListUnderPrefix")).toEqual({
      Sid: "ListUnderPrefix",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: arnOf(bucketId),
    });
    expect(statements.find((st) => st.Sid === "ReadConnectionPasswords")?.Resource).toEqual(SECRET_ARN);
    expect(statements.find((st) => st.Sid === "UseBucketKeyThroughS3")).toEqual({
      Sid: "UseBucketKeyThroughS3",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: arnOf(keyId),
      Condition: {
        StringEquals: {
          "kms:ViaService": { "Fn::Join": ["", ["s3.", { Ref: "AWS::Region" }, ".amazonaws.com"]] },
        },
      },
    });
    // Only the generated continuation key: the connection's secret is imported.
    s.template.resourceCountIs("AWS::SecretsManager::Secret", 1);
  });
});

describe("the function's key fence without a configured prefix", () => {
  it("defaults the prefix to ftp2s3/, so in a shared bucket the grants stop there", () => {
    const s = synth((json) => {
      delete json.bucket.prefix;
    });
    const statements = statementsOf(s.template, logicalId(s.stack, s.stack.accessPolicy.policy));
    const bucketId = logicalId(s.stack, s.stack.landing.bucket);

    expect(statements.find((st) => st.Sid === "ObjectsUnderPrefix")?.Resource).toEqual({
      "Fn::Join": ["", [arnOf(bucketId), "/ftp2s3/*"]],
    });
    expect(statements.find((st) => st.Sid === "ListUnderPrefix")?.Condition).toEqual({
      StringLike: { "s3:prefix": ["ftp2s3/*", "ftp2s3-state/*"] },
    });
  });

  it("refuses connections whose key spaces overlap, naming them", () => {
    expect(() =>
      synth((json) => {
        json.connections["public-mirror"].keyPrefix = "partner-ftp/public/";
      }),
    ).toThrow(
      /key space "ftp\/partner-ftp\/" overlaps connection "public-mirror"'s "ftp\/partner-ftp\/public\/"/,
    );
  });
});
