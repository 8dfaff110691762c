import { CreateTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LEDGER_TABLE } from "../../functions/contracts/index.js";

/** The ledger's table as the stack defines it (infra/constructs/transfer-ledger-table.ts), on dynalite. */
export async function createLedgerTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, byConnectionIndex, indexPartitionKey, indexSortKey } = LEDGER_TABLE;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [partitionKey, indexPartitionKey, indexSortKey].map((name) => ({
        AttributeName: name,
        AttributeType: "S",
      })),
      KeySchema: [{ AttributeName: partitionKey, KeyType: "HASH" }],
      GlobalSecondaryIndexes: [
        {
          IndexName: byConnectionIndex,
          KeySchema: [
            { AttributeName: indexPartitionKey, KeyType: "HASH" },
            { AttributeName: indexSortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    }),
  );
}
