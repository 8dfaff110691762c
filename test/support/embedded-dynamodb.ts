import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";

export interface EmbeddedDynamoDb {
  endpoint: string;
  /** Environment for the SDK (a handler under test) to reach this server. */
  env: Record<string, string>;
  client(): DynamoDBClient;
  close(): Promise<void>;
}

const credentials = { accessKeyId: "DYNALITE", secretAccessKey: "DYNALITE" };

/**
 * dynalite (DynamoDB's API over LevelDB, in memory) on 127.0.0.1: a real implementation of conditional
 * writes, TTL attributes and queries, with no Java or Docker. `createTableMs: 0` makes a new table
 * ACTIVE at once, so tests need not poll DescribeTable.
 */
export async function startDynalite(): Promise<EmbeddedDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: "us-east-1",
    },
    client: () => new DynamoDBClient({ endpoint, region: "us-east-1", credentials }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
