import { setTimeout as sleep } from "node:timers/promises";
import { httpStatus } from "./s3-errors.js";

/**
 * S3 answers `409 ConditionalRequestConflict` to a conditional write (If-None-Match: *) that raced
 * another request on the same key, and AWS's advice is to send it again; the SDK's retry strategy
 * does not (409 is no transient status to it). Sent again, the write either lands or meets the
 * other writer's object as a 412, which the sink reports as OBJECT_EXISTS: the first one stays.
 */
export const CONDITIONAL_CONFLICT_ATTEMPTS = 3;

/** `send()` again after a ConditionalRequestConflict, a few times, ~0.1 s then ~0.2 s apart (jittered). */
export async function sendThroughConflicts<T>(
  send: () => Promise<T>,
  pause: (ms: number) => Promise<unknown> = sleep,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= CONDITIONAL_CONFLICT_ATTEMPTS || !isConditionalConflict(error)) throw error;
      await pause(100 * 2 ** (attempt - 1) * (0.5 + Math.random()));
    }
  }
}

function isConditionalConflict(error: unknown): boolean {
  return httpStatus(error) === 409 && error instanceof Error && error.name === "ConditionalRequestConflict";
}
