import { sleep } from "./sockets.js";
import type { CommandHandler } from "./types.js";

/**
 * A reply that never completes: `line` (e.g. "220-still starting" or "213-counting") again every
 * `everyMs`, until the client hangs up. Every byte resets an inactivity timer; none is a final reply.
 */
export function trickleLines(line: string, everyMs: number): CommandHandler {
  return async (ctx) => {
    while (!ctx.control.destroyed) {
      ctx.reply(line);
      await sleep(everyMs);
    }
  };
}
