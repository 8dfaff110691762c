import { createHash } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { TransferRequest } from "../contracts/index.js";
import type { TransferLedger, TransferRecord } from "../core/index.js";
import { IdempotencyKeyReusedError, InvalidInputError } from "../core/index.js";
import { json, type Response } from "./http-response.js";
import { statusView } from "./transfer-status.js";

/** An Idempotency-Key: visible ASCII (a UUID, a hash), short enough to be a key, as the IETF draft has it. */
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

/**
 * A repeated `POST /transfers` with the same Idempotency-Key (within the window) answers with the
 * transfer the key started instead of starting another: 200 once it ended in an object, 202 while
 * it is on its way, the failure's status when it failed. The same key with another body is refused
 * (422). Undefined: no key, or a new one, which this request has now taken.
 */
export async function idempotentReplay(
  event: APIGatewayProxyEventV2,
  request: TransferRequest & { transferId: string },
  ledger: TransferLedger,
  windowMs: number,
  statusOfFailure: (code: string, ftpCode: number | undefined) => number,
): Promise<Response | undefined> {
  const key = event.headers?.["idempotency-key"];
  if (key === undefined) return undefined;
  if (!KEY_SHAPE.test(key)) {
    throw new InvalidInputError("the Idempotency-Key header must be 1 to 255 visible ASCII characters");
  }
  const { transferId, ...asked } = request;
  const fingerprint = createHash("sha256").update(JSON.stringify(asked)).digest("hex");
  const answer = await ledger.remember(key, { transferId, fingerprint }, Date.now(), windowMs);
  if (answer.taken) return undefined;
  if (answer.holder.fingerprint !== fingerprint) {
    throw new IdempotencyKeyReusedError(
      `this Idempotency-Key started transfer ${answer.holder.transferId} with another request; use a new key for a new request`,
    );
  }
  const replayed = { "idempotent-replayed": "true" };
  const record = await ledger.get(answer.holder.transferId);
  // The first request took the key a moment ago and has not claimed its transfer yet.
  if (record === undefined) return json(202, { id: answer.holder.transferId, state: "queued" }, replayed);
  return json(replayStatus(record, statusOfFailure), statusView(record, Date.now()), replayed);
}

function replayStatus(
  record: TransferRecord,
  statusOfFailure: (code: string, ftpCode: number | undefined) => number,
): number {
  if (record.state === "committed" || record.state === "unchanged") return 200;
  if (record.state === "failed" && record.error !== undefined) {
    return statusOfFailure(record.error.code, record.error.ftpCode);
  }
  return 202;
}
