import type { TransferQueue } from "../adapters/transfer-queue.js";
import type { TransferRequest } from "../contracts/index.js";

/**
 * Times a queued copy may find the FTP server busy (FTP_BUSY) and come back later before that counts
 * as a failure: with the delays below, about an hour and a half of a server at its limit.
 */
export const MAX_BUSY_RETURNS = 8;

/** The first return's delay, doubled each time up to SQS's longest, 15 minutes. */
const FIRST_BUSY_DELAY_SECONDS = 30;
const MAX_DELAY_SECONDS = 900;

/** The delay before the `busy`th return (1 for the first). */
export function busyDelaySeconds(busy: number): number {
  return Math.min(MAX_DELAY_SECONDS, FIRST_BUSY_DELAY_SECONDS * 2 ** (busy - 1));
}

/**
 * Puts a copy the server refused as busy back on the queue as a new message, delayed, with its busy
 * count one higher; undefined once it came back MAX_BUSY_RETURNS times (it then fails as any copy).
 *
 * A new delayed message, not the batch item failure with a longer visibility timeout: every receipt
 * of a message counts towards the queue's maxReceiveCount, so a copy that met a full server three
 * times would reach the dead-letter queue without ever failing. The new message starts counting
 * afresh and carries its own bound. A continuation goes back as it came: its signature covers the
 * request's fields and the continuation, not `busy`.
 */
export async function returnWhenBusy(
  request: TransferRequest,
  transferId: string,
  queue: TransferQueue,
): Promise<{ busy: number; delaySeconds: number } | undefined> {
  const busy = (request.busy ?? 0) + 1;
  if (busy > MAX_BUSY_RETURNS) return undefined;
  const delaySeconds = busyDelaySeconds(busy);
  const { async: _async, ...queued } = request;
  await queue({ ...queued, transferId, busy }, { delaySeconds });
  return { busy, delaySeconds };
}
