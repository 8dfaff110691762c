/**
 * The session lease table's shape, which the stack creates and the function writes (one definition
 * for both): a string partition key `<connection>#<slot>`, and the lease's expiry in epoch seconds,
 * which is the table's TTL attribute too.
 */
export const SESSION_LEASE_TABLE = { slotKey: "slot", expiryAttribute: "expiresAt" } as const;
