import type { Trigger } from "../contracts/index.js";
import { InvalidInputError } from "../core/index.js";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Which trigger sent this event, from its shape alone. */
export function triggerOf(event: unknown): Trigger {
  if (isObject(event)) {
    if (isObject(event.requestContext) && isObject(event.requestContext.http)) return "api";
    if (
      Array.isArray(event.Records) &&
      event.Records.length > 0 &&
      event.Records.every((record) => isObject(record) && record.eventSource === "aws:sqs")
    ) {
      return "queue";
    }
    if ("mirror" in event || (isObject(event.detail) && "mirror" in event.detail)) return "schedule";
  }
  throw new InvalidInputError(
    "unrecognised event: expected a Function URL request, an SQS batch, or a schedule input { mirror: { ... } }",
  );
}

/** The schedule's input: Scheduler passes it as the event, an EventBridge rule inside `detail`. */
export function scheduleInput(event: Record<string, unknown>): unknown {
  return "mirror" in event ? event : event.detail;
}

/**
 * A queue message: a transfer request, or an EventBridge "FTP File Available" event carrying one
 * (`fromEvent`: anyone allowed to put events sent it, so it may not carry what only ftp2s3 sets).
 */
export function queuedRequest(body: string): { input: unknown; fromEvent: boolean } {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    throw new InvalidInputError("the message body is not JSON");
  }
  if (isObject(message) && "detail-type" in message) {
    if (message["detail-type"] !== FILE_AVAILABLE) {
      throw new InvalidInputError(`unexpected event detail-type ${JSON.stringify(message["detail-type"])}`);
    }
    return { input: message.detail, fromEvent: true };
  }
  return { input: message, fromEvent: false };
}

export const FILE_AVAILABLE = "FTP File Available";
