import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { LEDGER_TABLE_ENV } from "../../../functions/contracts/index.js";
import { arnOf, logicalId, type Synthesized, synth } from "./synth.js";

describe("the transfer ledger's table in the stack", () => {
  let s: Synthesized;
  let tableId: string;

  beforeAll(() => {
    s = synth();
    tableId = logicalId(s.stack, s.stack.ledger.table);
  });

  it("is one on-demand table with point-in-time recovery, TTL on expiresAt and the index by connection", () => {
    s.template.resourceCountIs("AWS::DynamoDB::Table", 1);
    s.template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      Properties: {
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
        GlobalSecondaryIndexes: [
          {
            IndexName: "byConnection",
            KeySchema: [
              { AttributeName: "connection", KeyType: "HASH" },
              { AttributeName: "createdAt", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      },
    });
  });

  it("is named in the function's environment", () => {
    s.template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ [LEDGER_TABLE_ENV]: { Ref: tableId } }) },
    });
  });

  it("is granted to the function only, item by item and its index, and the events to the default bus", () => {
    const policyId = logicalId(s.stack, s.stack.accessPolicy.policy);
    const statements = s.template.toJSON().Resources[policyId].Properties.PolicyDocument.Statement as {
      Sid: string;
      Action: string[] | string;
      Resource: unknown;
    }[];
    expect(statements.find((st) => st.Sid === "TransferLedger")).toMatchObject({
      Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
      Resource: [arnOf(tableId), { "Fn::Join": ["", [arnOf(tableId), "/index/byConnection"]] }],
    });
    const events = statements.find((st) => st.Sid === "PutTransferEvents");
    expect(events?.Action).toBe("events:PutEvents");
    expect(JSON.stringify(events?.Resource)).toContain(":event-bus/default");
    // No other policy in the template names the table.
    const others = Object.entries(s.template.findResources("AWS::IAM::Policy")).filter(
      ([id, policy]) => id !== policyId && JSON.stringify(policy).includes(tableId),
    );
    expect(others).toEqual([]);
  });

  it("puts the events on a configured bus, given by ARN", () => {
    const bus = "arn:aws:events:eu-west-1:123456789012:event-bus/ingest";
    const { template, stack } = synth((json) => {
      json.events = { busName: bus };
    });
    const policyId = logicalId(stack, stack.accessPolicy.policy);
    const statements = template.toJSON().Resources[policyId].Properties.PolicyDocument.Statement;
    expect(statements).toContainEqual(expect.objectContaining({ Sid: "PutTransferEvents", Resource: bus }));
  });
});
