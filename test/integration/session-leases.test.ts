import { CreateTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoSessionBudgets } from "../../functions/adapters/dynamodb-session-budget.js";
import { SESSION_LEASE_TABLE } from "../../functions/contracts/index.js";
import { type EmbeddedDynamoDb, startDynalite } from "../support/embedded-dynamodb.js";

// The lease table's semaphore against dynalite: DynamoDB's conditional writes, on loopback.
describe("session leases in a DynamoDB table", () => {
  let dynamo: EmbeddedDynamoDb;
  let client: DynamoDBClient;
  let tables = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
    client = dynamo.client();
  });
  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  /** A fresh table shaped as the stack's SessionLeases. */
  async function newTable(): Promise<string> {
    tables += 1;
    const name = `SessionLeases${tables}`;
    await client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: SESSION_LEASE_TABLE.slotKey, AttributeType: "S" }],
        KeySchema: [{ AttributeName: SESSION_LEASE_TABLE.slotKey, KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    return name;
  }

  it("hands out maxSessions slots across holders, and a released slot again", async () => {
    // Arrange: two budgets on one table, as two Lambda containers have.
    const table = await newTable();
    const first = dynamoSessionBudgets(
      client,
      { name: table, ...SESSION_LEASE_TABLE },
      { leaseMs: 60_000 },
    )("partner", 2);
    const second = dynamoSessionBudgets(
      client,
      { name: table, ...SESSION_LEASE_TABLE },
      { leaseMs: 60_000 },
    )("partner", 2);
    const other = dynamoSessionBudgets(
      client,
      { name: table, ...SESSION_LEASE_TABLE },
      { leaseMs: 60_000 },
    )("other", 1);

    // Act
    const taken = await Promise.all([first.tryTake(), second.tryTake(), first.tryTake(), second.tryTake()]);
    const otherConnection = await other.tryTake();
    await taken.find((lease) => lease !== undefined)?.release();
    const afterRelease = await second.tryTake();

    // Assert
    expect(taken.filter((lease) => lease !== undefined)).toHaveLength(2);
    expect(otherConnection).toBeDefined();
    expect(afterRelease).toBeDefined();
    expect(await first.tryTake()).toBeUndefined();
  });

  it("reclaims the slot of a holder that never released it once its lease lapsed, and leaves the new holder's alone", async () => {
    // Arrange: a clock the test moves; a holder that "crashed" holding the only slot.
    const table = await newTable();
    let now = Date.parse("2026-12-07T10:00:00Z");
    const budget = dynamoSessionBudgets(
      client,
      { name: table, ...SESSION_LEASE_TABLE },
      { leaseMs: 16 * 60_000, now: () => now },
    )("partner", 1);
    const crashed = await budget.tryTake();

    // Act
    now += 15 * 60_000;
    const beforeExpiry = await budget.tryTake();
    now += 2 * 60_000;
    const afterExpiry = await budget.tryTake();
    await crashed?.release(); // late: the slot is the new holder's by now
    const whileNewHolderHolds = await budget.tryTake();

    // Assert
    expect(crashed).toBeDefined();
    expect(beforeExpiry).toBeUndefined();
    expect(afterExpiry).toBeDefined();
    expect(whileNewHolderHolds).toBeUndefined();
  });
});
