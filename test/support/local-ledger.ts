import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoDbLedger } from "../../functions/adapters/dynamodb-ledger.js";
import { LEDGER_TABLE } from "../../functions/contracts/index.js";
import type { TransferEvent, TransferEvents, TransferLedger } from "../../functions/core/index.js";
import { type EmbeddedDynamoDb, startDynalite } from "./embedded-dynamodb.js";
import { createLedgerTable } from "./ledger-table.js";

export interface LocalLedger {
  ledger: TransferLedger;
  dynamo: EmbeddedDynamoDb;
  client: DynamoDBClient;
  close(): Promise<void>;
}

/** The function's DynamoDB ledger over its own table on dynalite (loopback, in memory). */
export async function startLocalLedger(historyDays = 90): Promise<LocalLedger> {
  const dynamo = await startDynalite();
  const client = dynamo.client();
  await createLedgerTable(client, "ledger");
  const ledger = dynamoDbLedger(
    client,
    { name: "ledger", ...LEDGER_TABLE },
    { historyMs: historyDays * 86_400_000 },
  );
  // The first requests are slow (the SDK sets up its middleware, dynalite compiles its expression
  // parsers): a claim and its end, once, so that time is not on a timed test leg's clock.
  const warmUp = { transferId: "warm-up", leg: 0, claimId: "warm-up" };
  const at = Date.now();
  await ledger.claim({
    ...warmUp,
    request: { connection: "-", path: "/", trigger: "queue" },
    at,
    leaseUntil: at,
  });
  await ledger.finished(warmUp, { state: "failed", error: { code: "INTERNAL", message: "warm-up" } }, at);
  return {
    ledger,
    dynamo,
    client,
    async close() {
      client.destroy();
      await dynamo.close();
    },
  };
}

/** EventBridge stands in for by a recorder (it cannot run here): the events put, in order. */
export function recordingEvents(): { events: TransferEvents; put: TransferEvent[] } {
  const put: TransferEvent[] = [];
  return {
    put,
    events: async (event) => {
      put.push(structuredClone(event));
    },
  };
}
