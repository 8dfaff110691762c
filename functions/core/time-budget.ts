import { abortReason, type Ftp2s3Error, throwIfAborted } from "./errors.js";
import type { SuspendReason } from "./transfer.js";

/** How callers hand the core its time: the options of copyFile and runMirror carry these. */
export interface TimeLimits {
  /** Stops the work; its reason (a TransferTimeoutError for a deadline) becomes the error. */
  signal?: AbortSignal;
  /** Asks a resumable copy to stop at a part boundary, for another leg to go on. */
  suspendSignal?: AbortSignal;
  /** True once there is no time left to start another file here. */
  outOfTime?: () => boolean;
}

const suspendReasons: readonly unknown[] = [
  "deadline",
  "interrupted",
  "stop-after",
] satisfies SuspendReason[];

/**
 * The time one piece of work has, in one shape inside the core: what stops it, what suspends it,
 * and whether there is time to start more. The Lambda derives all three from one deadline; the
 * command from Ctrl-C and --stop-after.
 */
export class TimeBudget {
  readonly stop: AbortSignal | undefined;
  readonly suspend: AbortSignal | undefined;
  private readonly outOfTimeCheck: (() => boolean) | undefined;

  constructor(limits: TimeLimits) {
    this.stop = limits.signal;
    this.suspend = limits.suspendSignal;
    this.outOfTimeCheck = limits.outOfTime;
  }

  /** The stop signal fired. */
  get stopped(): boolean {
    return this.stop?.aborted === true;
  }

  /** Why the work was stopped, as one of our errors (call once `stopped`). */
  stopReason(): Ftp2s3Error {
    return abortReason(this.stop as AbortSignal);
  }

  throwIfStopped(): void {
    throwIfAborted(this.stop);
  }

  outOfTime(): boolean {
    return this.outOfTimeCheck?.() === true;
  }

  /** The suspend signal's reason when it is a SuspendReason, else "deadline". */
  suspendReason(): SuspendReason {
    const reason: unknown = this.suspend?.reason;
    return suspendReasons.includes(reason) ? (reason as SuspendReason) : "deadline";
  }
}
