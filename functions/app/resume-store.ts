import type { ResumePoint, SuspendedResult } from "../core/index.js";

/**
 * Where a copy that stopped on purpose keeps the point its next leg goes on from: the CLI's state
 * file (cli/resume-state.ts), the Lambda's signed continuation on the queue (lambda/queue-continuation.ts).
 * Reading a point back is each front door's own affair, done where it enters (a file named by
 * --resume, a queue message whose signature is checked), before any use case sees it.
 *
 * `Receipt` is what saving gives the front door to show (the state file's path, say).
 */
export interface ResumeStore<Receipt> {
  /** Whether a leg may stop now to go on later: false where nothing could carry it on. */
  canSave(): Promise<boolean>;
  /**
   * Keeps where the suspended leg's successor goes on. Rejects when it will not (a limit reached, a
   * leg without progress, a queue that refused): the copy then abandons the upload.
   */
  save(outcome: SuspendedResult): Promise<Receipt>;
  /** The leg that went on from `point` ended (committed, failed, or left it behind): nothing to go on from. */
  forget(point: ResumePoint): Promise<void>;
  /**
   * True: a leg that cannot even open its session keeps its point, for another try by hand (the
   * CLI's --resume). False: it fails like any other leg and leaves no upload open.
   */
  readonly keepsPointWhenUnreachable: boolean;
}
