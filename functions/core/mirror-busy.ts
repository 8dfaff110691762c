import { FtpBusyError } from "./errors.js";
import type { PlannedFile } from "./mirror-plan.js";
import type { FileSource } from "./ports.js";

/** How a mirror retries a file whose session the server refused as busy (FTP_BUSY). */
export interface BusyRetryRules {
  /** Busy refusals one file may meet; one more and it fails (or goes to the queue). Default 5. */
  tries: number;
  /** The last session's first pause before it tries again; doubled each time. Default 1 s. */
  firstDelayMs: number;
}

export const DEFAULT_BUSY_RETRY: BusyRetryRules = { tries: 5, firstDelayMs: 1000 };

/** The most a last session pauses at once: the server frees a slot when any session ends. */
const MAX_BUSY_DELAY_MS = 30_000;

/**
 * A mirror's answer to a server at its session limit. The session that met the refusal gives up
 * its place (the pool shrinks by one) and hands the file back, for a session still open to copy
 * later in the run; the last session instead pauses, doubling the pause each time, and tries again.
 * A file refused `tries` times is given up: a server that stays full is a failure, not a wait.
 */
export class BusyRetry {
  private readonly tries = new Map<PlannedFile, number>();
  private readonly handedBack: PlannedFile[] = [];
  /** The sessions the pool gave up, and the last refusal's message. */
  shrunk: { sessions: number; message: string } | undefined;

  constructor(private readonly rules: BusyRetryRules) {}

  /** A file handed back by a session that gave up its place: taken before the rest of the list. */
  next(): PlannedFile | undefined {
    return this.handedBack.shift();
  }

  /**
   * Decides what a refused session does with its file: "retire" (another session copies it later),
   * "pause" (the last session: wait `delayMs`, then take it again) or "give-up" (refused too often).
   */
  decide(
    file: PlannedFile,
    message: string,
    sessionsLeft: number,
  ): { action: "retire" } | { action: "pause"; delayMs: number } | { action: "give-up" } {
    const tries = (this.tries.get(file) ?? 0) + 1;
    this.tries.set(file, tries);
    if (tries > this.rules.tries) return { action: "give-up" };
    if (sessionsLeft > 1) {
      this.handedBack.push(file);
      this.shrunk = { sessions: (this.shrunk?.sessions ?? 0) + 1, message };
      return { action: "retire" };
    }
    this.handedBack.unshift(file);
    return {
      action: "pause",
      delayMs: Math.min(MAX_BUSY_DELAY_MS, this.rules.firstDelayMs * 2 ** (tries - 1)),
    };
  }
}

/** Waits `ms`, or less when the signal fires (the caller then sees the signal). */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * The mirror's first session (it lists, then copies): a server at its session limit gets the pauses
 * a last copying session gets (1 s, 2 s, 4 s... up to `tries` refusals), each said in a warning,
 * instead of failing the run at its first refusal. Another error, or the last refusal, is thrown.
 */
export async function connectThroughBusy(
  connect: () => Promise<FileSource>,
  rules: BusyRetryRules,
  signal: AbortSignal | undefined,
  warn: (message: string, details: Record<string, unknown>) => void,
): Promise<FileSource> {
  for (let refusals = 1; ; refusals += 1) {
    try {
      return await connect();
    } catch (error) {
      if (!(error instanceof FtpBusyError) || refusals > rules.tries || signal?.aborted) throw error;
      const delayMs = Math.min(MAX_BUSY_DELAY_MS, rules.firstDelayMs * 2 ** (refusals - 1));
      warn(`the FTP server refused the mirror's first session as busy; trying again in ${delayMs / 1000} s`, {
        refusals,
        reason: error.message,
      });
      await pause(delayMs, signal);
      if (signal?.aborted) throw error;
    }
  }
}
