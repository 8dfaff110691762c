import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { SESSION_LEASE_TABLE } from "../../functions/contracts/index.js";
import { acknowledge } from "./nag.js";

/**
 * The session budget's lease table: one item per FTP session slot taken (`<connection>#<n>`), so a
 * connection's `maxSessions` holds across every invocation of the function. On demand (a few writes
 * per session), leases that lapse are removed by TTL, and nothing in it outlives a session: the
 * table is destroyed with the stack.
 */
export class SessionLeases extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, "Table", {
      partitionKey: { name: SESSION_LEASE_TABLE.slotKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: SESSION_LEASE_TABLE.expiryAttribute,
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.table,
      "AwsSolutions-DDB3",
      "The table holds only leases of FTP sessions in progress, each lapsing within 16 minutes: there is nothing to recover to a point in time, and a lost table is rebuilt by the next sessions that take a slot.",
    );
  }
}
