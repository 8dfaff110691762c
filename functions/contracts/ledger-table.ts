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
