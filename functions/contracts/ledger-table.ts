import { z } from "zod";
import { InvalidInputError } from "../core/index.js";

/**
 * The transfer ledger's table as both sides see it: the stack creates it, the function reads its
 * name from the environment and writes items of this shape.
 */

/** The environment variable naming the ledger's table (set by the stack). */
export const LEDGER_TABLE_ENV = "FTP2S3_LEDGER_TABLE";

export const LEDGER_TABLE = {
  /** "T#<transferId>" for a transfer, "I#<key>" for an idempotency key. */
  partitionKey: "pk",
  /** Transfers by connection, newest first: `GET /transfers?connection=…&since=…`. */
  byConnectionIndex: "byConnection",
  /** Only transfer items carry these two, so idempotency keys stay out of the index. */
  indexPartitionKey: "connection",
  indexSortKey: "createdAt",
  /** Epoch seconds after which DynamoDB deletes the item (history days, or the idempotency window). */
  ttlAttribute: "expiresAt",
} as const;

/** The ledger table's name from the environment; the Lambda does not start without it. */
export function ledgerTableName(env: NodeJS.ProcessEnv = process.env): string {
  const name = env[LEDGER_TABLE_ENV];
  if (name === undefined || name === "") {
    throw new InvalidInputError(
      `${LEDGER_TABLE_ENV} is not set: the function keeps its transfers in that table`,
    );
  }
  return name;
}

/**
 * A transfer id as it enters (a queued message's `transferId`, the API's `/transfers/{id}`): the
 * ids ftp2s3 makes are UUIDs and a mirror's `<uuid>:<relative path>`; anything else that fits a
 * DynamoDB key without control characters is a caller's own.
 */
export const transferIdSchema = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[^\p{Cc}]+$/u, "a transfer id has no control characters");
