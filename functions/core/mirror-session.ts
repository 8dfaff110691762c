import { RECHECK_BATCH_FILES, type RecheckBatch } from "./mirror-recheck.js";
import type { FileSource } from "./ports.js";

/** Small files whose upload may still be finishing while their FTP session reads the next one. */
const PENDING_COMMITS_PER_SESSION = 4;

/**
 * One FTP session of the pool, reused from file to file: opened when first needed, closed when a
 * failure may have broken it, with the small files' commits it has left pending. Files whose check
 * waits in its `batch` are held apart: a flush frees many at once, and they commit a few at a time
 * (commitSlot) while the session reads on, within two batches' files and bytes.
 */
export class Session {
  private readonly pending = new Set<Promise<void>>();
  /** Batched files from their read until their commit ended: how many, and their buffers' bytes. */
  private held = { files: 0, bytes: 0 };
  private commitsRunning = 0;
  private readonly commitQueue: (() => void)[] = [];

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
   * Whether the next file waits: PENDING_COMMITS_PER_SESSION unbatched commits are pending, or the
   * batched files held reach two batches (by count or bytes: at most one batch is waiting, so some of
   * them are committing and will settle).
   */
  get full(): boolean {
    return (
      this.pending.size - this.held.files >= PENDING_COMMITS_PER_SESSION ||
      this.held.files >= 2 * RECHECK_BATCH_FILES ||
      this.held.bytes >= 2 * this.batch.maxBytes
    );
  }

  /** Settles when one of the pending commits does. */
  oneSettled(): Promise<void> {
    return Promise.race(this.pending);
  }

  /** A pending copy; `heldBytes` when its check waits in the batch (what its buffer holds till it ends). */
  track(task: Promise<void>, heldBytes?: number): void {
    this.pending.add(task);
    if (heldBytes !== undefined) {
      this.held = { files: this.held.files + 1, bytes: this.held.bytes + heldBytes };
    }
    void task.finally(() => {
      this.pending.delete(task);
      if (heldBytes !== undefined) {
        this.held = { files: this.held.files - 1, bytes: this.held.bytes - heldBytes };
      }
    });
  }

  /**
   * Resolves once a checked file may commit: PENDING_COMMITS_PER_SESSION at a time, as unbatched
   * files do (a burst of PutObjects would open as many connections to S3). Hand it back with
   * freeCommitSlot when the commit ended.
   */
  commitSlot(): Promise<void> {
    if (this.commitsRunning < PENDING_COMMITS_PER_SESSION) {
      this.commitsRunning += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.commitQueue.push(resolve));
  }

  freeCommitSlot(): void {
    const next = this.commitQueue.shift();
    if (next === undefined) this.commitsRunning -= 1;
    else next(); // the slot passes straight to the next commit
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
