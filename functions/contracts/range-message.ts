import { z } from "zod";
import { MAX_FANOUT_RANGES } from "./connection.js";
import { transferIdSchema } from "./ledger-table.js";

/**
 * One range of a fanned-out file, as its queue message names it. Everything else (the file, the
 * upload, the range's bytes and parts) is read from the ledger's plan, and the signature binds the
 * message to that plan's upload: a forged message can at most ask for a range of a plan that exists,
 * and a message of an earlier, abandoned plan of the same transfer is refused.
 */
export const rangeMessageSchema = z
  .object({
    /** The ranged transfer. */
    transferId: transferIdSchema,
    /** The range's place in the plan, 0 first. */
    range: z
      .number()
      .int()
      .min(0)
      .max(MAX_FANOUT_RANGES - 1),
    /**
     * How often this range found every session for its file taken and came back later (set by
     * ftp2s3 when it re-sends the message with a delay; not signed: it only sets the delay).
     */
    waits: z.number().int().min(1).max(100_000).optional(),
    /** HMAC-SHA256 by the function over the transfer id, the range and the plan's upload id. */
    signature: z.string().min(1).max(128),
  })
  .strict();

export type RangeMessage = z.infer<typeof rangeMessageSchema>;

/** A queue body that names a range (and nothing a transfer request has) is a range message. */
export function isRangeMessage(message: unknown): boolean {
  return typeof message === "object" && message !== null && "range" in message && !("connection" in message);
}
