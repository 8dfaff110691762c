import type { RecheckBatch } from "./mirror-recheck.js";
import type { FileSource } from "./ports.js";

/** Small files whose upload may still be finishing while their FTP session reads the next one. */
const PENDING_COMMITS_PER_SESSION = 4;

/**
 * One FTP session of the pool, reused from file to file: opened when first needed, closed when a
 * failure may have broken it, with the small files' commits it has left pending and those of them
 * still waiting for their after-copy check (`batch`).
 */
export class Session {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly connect: () => Promise<FileSource>,
    private source: FileSource | undefined,
    readonly batch: RecheckBatch,
  ) {}

  /** The open session, if any. */
  get current(): FileSource | undefined {
    return this.source;
  }

  /** Logs in (again, after a failure closed it). */
  async open(): Promise<FileSource> {
    this.source = await this.connect();
    return this.source;
  }

  /**
   * Whether PENDING_COMMITS_PER_SESSION commits are pending: the next file waits for one. Files
   * waiting for their check are not counted: the batch bounds them, and only its flush moves them on.
   */
  get full(): boolean {
    return this.pending.size - this.batch.size >= PENDING_COMMITS_PER_SESSION;
  }

  /** Settles when one of the pending commits does. */
  oneSettled(): Promise<void> {
    return Promise.race(this.pending);
  }

  track(task: Promise<void>): void {
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  /** A copy that failed while reading may have left the session unusable: the next file logs in anew. */
  discard(): void {
    this.source?.close();
    this.source = undefined;
  }

  async drain(): Promise<void> {
    await Promise.all(this.pending);
  }

  close(): void {
    this.source?.close();
  }
}
