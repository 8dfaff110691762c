import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, Table } from "aws-cdk-lib/aws-dynamodb";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { LEDGER_TABLE, LEDGER_TABLE_ENV } from "../../functions/contracts/index.js";

export interface TransferLedgerTableProps {
  /** Keep the table (and its history) when the stack is deleted. Default true. */
  readonly retain?: boolean;
}

/**
 * The transfer ledger: one DynamoDB table, on demand (a transfer is a handful of writes, and
 * traffic comes in bursts), with point-in-time recovery, TTL on `expiresAt`, and the index by
 * connection and creation time that `GET /transfers` reads. Its rights are written out in
 * TransferAccessPolicy, like every other right of the function.
 */
export class TransferLedgerTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: TransferLedgerTableProps = {}) {
    super(scope, id);
    const { partitionKey, byConnectionIndex, indexPartitionKey, indexSortKey, ttlAttribute } = LEDGER_TABLE;
    this.table = new Table(this, "Table", {
      partitionKey: { name: partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: ttlAttribute,
      removalPolicy: props.retain === false ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: byConnectionIndex,
      partitionKey: { name: indexPartitionKey, type: AttributeType.STRING },
      sortKey: { name: indexSortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
  }

  /** Tells the function which table is its ledger. */
  nameIn(fn: IFunction & { addEnvironment(key: string, value: string): unknown }): void {
    fn.addEnvironment(LEDGER_TABLE_ENV, this.table.tableName);
  }
}
