import { Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { arnOf, logicalId, type Synthesized, synth } from "./synth.js";

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown };

/** The tables keyed by slot (the transfer ledger's table is always there beside them). */
function leaseTables(s: Synthesized): unknown[] {
  return Object.values(s.template.findResources("AWS::DynamoDB::Table")).filter((table) =>
    JSON.stringify(table.Properties.KeySchema).includes('"slot"'),
  );
}

/** Every IAM statement of the template on the session slots, with the policy it is in. */
function leaseStatements(s: Synthesized): { policy: string; statement: Statement }[] {
  const resources = s.template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: { PolicyDocument?: { Statement: Statement[] } } }
  >;
  return Object.entries(resources).flatMap(([id, r]) =>
    (r.Properties.PolicyDocument?.Statement ?? [])
      .filter((st) => st.Sid === "TakeAndReleaseSessionSlots")
      .map((statement) => ({ policy: id, statement })),
  );
}

describe("the session lease table (a connection with maxSessions)", () => {
  let s: Synthesized;

  beforeAll(() => {
    s = synth((json) => {
      json.connections["partner-ftp"].maxSessions = 2;
      json.connections["partner-ftp"].minIntervalMs = 500;
    });
  });

  it("is an on-demand table keyed by slot, its leases removed by TTL", () => {
    expect(leaseTables(s)).toHaveLength(1);
    s.template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: "slot", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "slot", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
  });

  it("is granted to the function alone: a conditional PutItem and DeleteItem on that table, nothing else", () => {
    const tableId = logicalId(s.stack, s.stack.sessionLeases?.table);

    expect(leaseStatements(s)).toEqual([
      {
        policy: logicalId(s.stack, s.stack.accessPolicy.policy),
        statement: {
          Sid: "TakeAndReleaseSessionSlots",
          Effect: "Allow",
          Action: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
          Resource: arnOf(tableId),
        },
      },
    ]);
    // And no other statement (the ledger's among them) reaches the lease table.
    const policies = Object.values(s.template.findResources("AWS::IAM::Policy"));
    const naming = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .filter((st) => JSON.stringify(st.Resource).includes(`"${tableId}"`));
    expect(naming.map((st) => st.Sid)).toEqual(["TakeAndReleaseSessionSlots"]);
  });

  it("is named in the function's config, with the connection's budget and pace", () => {
    const tableId = logicalId(s.stack, s.stack.sessionLeases?.table);
    const fn = s.template.toJSON().Resources[logicalId(s.stack, s.stack.transfer.function)];
    const config = JSON.stringify(fn.Properties.Environment.Variables.FTP2S3_CONFIG);

    expect(config).toContain(`\\"sessionTable\\":\\"`);
    expect(config).toContain(`"Ref":"${tableId}"`);
    expect(config).toContain(`\\"maxSessions\\":2`);
    expect(config).toContain(`\\"minIntervalMs\\":500`);
  });

  it("passes cdk-nag with point-in-time recovery acknowledged for leases that last minutes", () => {
    Validations.of(s.app).addPlugins(new AwsSolutionsChecks(s.app, { verbose: true }));
    s.app.synth({ force: true });
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(s.app);

    expect(report.violations).toEqual([]);
  });

  it("is made for a connection with rangeFanout, whose config passes through to the function", () => {
    const fanned = synth((json) => {
      json.connections["partner-ftp"].rangeFanout = { minMiB: 1024, ranges: 8, maxSessions: 4 };
    });
    const fn = fanned.template.toJSON().Resources[logicalId(fanned.stack, fanned.stack.transfer.function)];
    const config = JSON.stringify(fn.Properties.Environment.Variables.FTP2S3_CONFIG);

    expect(leaseTables(fanned)).toHaveLength(1);
    expect(config).toContain(`\\"rangeFanout\\":{\\"minMiB\\":1024,\\"ranges\\":8,\\"maxSessions\\":4}`);
  });

  it("is not made where no connection sets maxSessions", () => {
    const without = synth();

    expect(leaseTables(without)).toEqual([]);
    expect(leaseStatements(without)).toEqual([]);
  });
});
