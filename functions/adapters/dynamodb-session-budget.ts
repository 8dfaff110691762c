import { randomUUID } from "node:crypto";
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";

/** A slot held until released (the shape of app/'s SessionLease; adapters do not import app/). */
interface Lease {
  release(): Promise<void>;
}

/** The table and its attributes (contracts/session-leases.ts, which the stack creates it from). */
export interface LeaseTable {
  name: string;
  /** The partition key, a string: `<connection>#<slot>`. */
  slotKey: string;
  /** When a lease lapses, in epoch seconds: the table's TTL attribute, and what a taker compares. */
  expiryAttribute: string;
}

export interface LeaseTableOptions {
  /**
   * How long a lease holds without being released: longer than any holder can run (the function's
   * 15-minute timeout), so only a holder that crashed loses its slot, and its slot comes back then.
   */
  leaseMs: number;
  /** The clock; replaced in tests to let a lease lapse. */
  now?: () => number;
}

/**
 * A semaphore on DynamoDB: `maxSessions` slots per connection, items `<connection>#0` to
 * `<connection>#<max-1>`. A slot is taken with a conditional write that succeeds only where no item
 * is, or where its lease lapsed (a crashed holder's), and released by deleting it on the condition
 * that this holder still has it. TTL removes lapsed items eventually; correctness never waits for it.
 */
export function dynamoSessionBudgets(
  client: DynamoDBClient,
  table: LeaseTable,
  options: LeaseTableOptions,
): (connection: string, maxSessions: number) => LeaseTableBudget {
  return (connection, maxSessions) => new LeaseTableBudget(client, table, connection, maxSessions, options);
}

/** One connection's slots in the table: app/'s SessionBudget. */
export class LeaseTableBudget {
  private readonly now: () => number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: LeaseTable,
    private readonly connection: string,
    private readonly maxSessions: number,
    private readonly options: LeaseTableOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async tryTake(): Promise<Lease | undefined> {
    for (let slot = 0; slot < this.maxSessions; slot += 1) {
      const lease = await this.take(`${this.connection}#${slot}`);
      if (lease !== undefined) return lease;
    }
    return undefined;
  }

  private async take(slot: string): Promise<Lease | undefined> {
    const holder = randomUUID();
    const now = this.now();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table.name,
          Item: {
            [this.table.slotKey]: { S: slot },
            holder: { S: holder },
            [this.table.expiryAttribute]: { N: String(Math.ceil((now + this.options.leaseMs) / 1000)) },
          },
          ConditionExpression: "attribute_not_exists(#slot) OR #expires < :now",
          ExpressionAttributeNames: { "#slot": this.table.slotKey, "#expires": this.table.expiryAttribute },
          ExpressionAttributeValues: { ":now": { N: String(Math.floor(now / 1000)) } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
    return { release: () => this.release(slot, holder) };
  }

  private async release(slot: string, holder: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table.name,
          Key: { [this.table.slotKey]: { S: slot } },
          // A lease that lapsed may be another holder's by now: leave theirs alone.
          ConditionExpression: "holder = :holder",
          ExpressionAttributeValues: { ":holder": { S: holder } },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
