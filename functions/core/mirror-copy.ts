import { FtpBusyError, ObjectExistsError, SourceChangedError, TransferAbortedError } from "./errors.js";
import type { MirrorOptions, MirrorSummary } from "./mirror.js";
import { InlineBudget, OverBudget } from "./mirror-budget.js";
import { BusyRetry, DEFAULT_BUSY_RETRY, pause } from "./mirror-busy.js";
import type { Manifest } from "./mirror-manifest.js";
import { describeFailure, type PlannedFile } from "./mirror-plan.js";
import { directoriesToBatch, heldBytes, RecheckBatch } from "./mirror-recheck.js";
import { Session } from "./mirror-session.js";
import { DEFAULT_PART_SIZE } from "./part-size.js";
import { parentOf } from "./paths.js";
import type { FileSource, ListedObject, ObjectSink } from "./ports.js";
import { TimeBudget } from "./time-budget.js";
import {
  type CopyOptions,
  type CopyOutcome,
  type CopyRequest,
  copyFile,
  defaultCopyOptions,
} from "./transfer.js";
import type { RemotePath } from "./values.js";

/** What a mirror hands its copying step. */
export interface MirrorCopyJob {
  /** Opens one more FTP session. */
  connect: () => Promise<FileSource>;
  /** The session the listing used: the first worker goes on with it (and closes it). */
  firstSource: FileSource;
  sink: ObjectSink;
  bucket: string;
  /** The files to copy here, in order. */
  files: PlannedFile[];
  /** The bucket listing under the prefix, by key. */
  listed: Map<string, ListedObject>;
  /** The entries each directory had when listed (MirrorPlan.listingSizes), for the after-copy checks. */
  listingSizes: ReadonlyMap<string, number>;
  options: MirrorOptions;
  /** Counts what happened; the copies add to it. */
  summary: MirrorSummary;
  /** The next manifest; each copied or unchanged file is recorded in it. */
  manifest: Manifest;
  /** Files listed at their object's size (likely checks) and the budget they are charged to once changed. */
  checks?: { files: Set<PlannedFile>; budget: InlineBudget };
  /**
   * afterCopy is set: each committed file is recorded "pending" (copied, or found at its object as
   * this very version: a run that stopped before its journal), for the action step that follows.
   */
  journalsSourceAction?: boolean;
}

/** Copies over a pool of FTP sessions; returns the files left for the queue when time ran short. */
export function copyAll(job: MirrorCopyJob): Promise<PlannedFile[]> {
  return new MirrorCopies(job).run();
}

/** The mirror's copies: the shared list, the sessions working through it, and what each file became. */
class MirrorCopies {
  private readonly overflow: PlannedFile[] = [];
  private nextIndex = 0;
  /** Why the run stopped attempting files (the signal fired), once it did. */
  private stopped: { code: string; message: string } | undefined;
  private readonly now: () => number;
  private readonly time: TimeBudget;
  private readonly checks: { files: Set<PlannedFile>; budget: InlineBudget };
  private readonly busy: BusyRetry;
  /** Sessions still taking files: one refused as busy leaves the pool only while others remain. */
  private working = 0;
  /** Bytes each copy's part buffers may take: the sessions copy at once, each gets its share. */
  private readonly copyBudget: number;
  /** Directories whose small files are checked by a re-listing (see RecheckBatch). */
  private readonly batchedDirs: Set<RemotePath>;

  constructor(private readonly job: MirrorCopyJob) {
    this.busy = new BusyRetry(job.options.busyRetry ?? DEFAULT_BUSY_RETRY);
    this.now = job.options.now ?? Date.now;
    this.time = new TimeBudget(job.options);
    this.checks = job.checks ?? { files: new Set(), budget: new InlineBudget(undefined) };
    this.copyBudget = Math.floor(
      (job.options.copy.memoryBudget ?? defaultCopyOptions.memoryBudget) / job.options.concurrency,
    );
    const exact = job.files.filter((file) => this.smallWithExactFacts(file));
    this.batchedDirs = directoriesToBatch(exact, job.listingSizes);
  }

  async run(): Promise<PlannedFile[]> {
    const { files, options, connect, firstSource } = this.job;
    const sessions = Math.max(1, Math.min(options.concurrency, files.length));
    const workers = [this.worker(new Session(connect, firstSource, this.recheckBatch()))];
    for (let n = 1; n < sessions; n += 1) {
      workers.push(this.worker(new Session(connect, undefined, this.recheckBatch())));
    }
    await Promise.all(workers);
    const { shrunk } = this.busy;
    if (shrunk !== undefined) {
      const poolShrunk = { from: sessions, to: sessions - shrunk.sessions, reason: shrunk.message };
      this.job.summary.poolShrunk = poolShrunk;
      options.copy.onWarning?.(
        `the FTP server refused sessions as busy: the mirror went on with ${poolShrunk.to} of ${sessions}`,
        { ...poolShrunk },
      );
    }
    return this.overflow;
  }

  private recheckBatch(): RecheckBatch {
    const { options, listingSizes } = this.job;
    return new RecheckBatch({
      // Waiting and committing, a session's batched files hold at most one copy's share.
      maxBytes: Math.floor(this.copyBudget / 2),
      listingSizes,
      ...(options.signal ? { signal: options.signal } : {}),
      warn: options.copy.onWarning ?? (() => {}),
    });
  }

  /** The next file: one handed back by a session the server refused first, then the list's next. */
  private next(): PlannedFile | undefined {
    return this.busy.next() ?? this.job.files[this.nextIndex++];
  }

  /**
   * One FTP session working through the shared list. A small file (one part, held in memory anyway)
   * frees the session as soon as its bytes are in and confirmed: the next RETR starts while S3 stores
   * the last one. A few such commits may be pending per session; bigger files are finished in turn.
   * Small files the listing gave exact facts for wait for their after-copy check in the session's
   * batch, flushed between two files (see RecheckBatch) and always before the worker stops.
   */
  private async worker(session: Session): Promise<void> {
    const { options, summary } = this.job;
    this.working += 1;
    try {
      for (let file = this.next(); file !== undefined; file = this.next()) {
        if (!this.attempt(file)) continue;
        const batched = this.batched(file);
        if (session.batch.mustFlushBefore(file, batched)) await this.flush(session);
        while (session.full) await session.oneSettled();
        let source: FileSource;
        try {
          // No await while the session is open: a file starts (or not) before a commit's callback
          // could stop the run, as in a plain loop.
          source = session.current ?? (await session.open());
        } catch (error) {
          const busy =
            error instanceof FtpBusyError ? this.busy.decide(file, error.message, this.working) : undefined;
          if (busy?.action === "retire") break;
          if (busy?.action === "pause") {
            await pause(busy.delayMs, options.signal);
            continue;
          }
          // Refused as busy too often: the queue may find the server freer later.
          if (busy !== undefined && options.enqueue) this.overflow.push(file);
          else summary.failed.push({ path: file.path, ...describeFailure(error) });
          continue;
        }
        let released: (fine: boolean) => void = () => {};
        const free = new Promise<boolean>((resolve) => {
          released = resolve;
        });
        const task = this.copyOne(source, file, released, batched ? session : undefined);
        session.track(task, batched ? heldBytes(file) : undefined);
        if (!this.isSmall(file)) await task; // a big file holds several parts in memory: finish it first
        if (!(await free)) session.discard();
      }
      this.working -= 1;
      await this.flush(session); // the waiting files' commits settle only once they are checked
      await session.drain();
    } finally {
      session.batch.abandon(
        new TransferAbortedError("not committed: the mirror stopped before the file's after-copy check"),
      );
      session.close();
    }
  }

  private isSmall(file: PlannedFile): boolean {
    return file.size !== null && file.size < (this.job.options.copy.partSize ?? DEFAULT_PART_SIZE);
  }

  /** Big files keep their stat: a round trip is nothing next to them; LIST's times are too coarse. */
  private smallWithExactFacts(file: PlannedFile): boolean {
    return this.isSmall(file) && file.modifiedAt !== null;
  }

  /** Checked by its directory's re-listing: a small file listed with MLSD, among enough such files. */
  private batched(file: PlannedFile): boolean {
    return this.smallWithExactFacts(file) && this.batchedDirs.has(parentOf(file.path));
  }

  /** Checks the session's waiting files on it, logging in again when a failure closed it. */
  private async flush(session: Session): Promise<void> {
    if (session.batch.size === 0) return;
    let source: FileSource;
    try {
      source = session.current ?? (await session.open());
    } catch (error) {
      session.batch.abandon(error);
      return;
    }
    if (!(await session.batch.flush(source))) session.discard();
  }

  /** Whether to copy the file here now; otherwise it is queued or recorded as not attempted. */
  private attempt(file: PlannedFile): boolean {
    const { options, summary } = this.job;
    if (this.time.stopped && this.stopped === undefined) {
      this.stopped = describeFailure(this.time.stopReason());
    }
    if (this.stopped === undefined && options.enqueue && this.time.outOfTime()) {
      this.overflow.push(file);
      return false;
    }
    if (this.stopped !== undefined) {
      summary.failed.push({
        path: file.path,
        code: this.stopped.code,
        message: `not attempted: ${this.stopped.message}`,
      });
      return false;
    }
    return true;
  }

  /**
   * Copies one file; resolves `released` once the FTP session is free again (true) or broken (false).
   * With `batching` (the session), the file's after-copy check waits in its batch once the session is
   * released, and the commit then waits for one of its commit slots.
   */
  private copyOne(
    source: FileSource,
    file: PlannedFile,
    released: (fine: boolean) => void,
    batching: Session | undefined,
  ): Promise<void> {
    const startedAt = this.now();
    let downloaded = false;
    const onDownloaded = () => {
      downloaded = true;
      released(true);
    };
    let slotTaken = false;
    const recheck =
      batching &&
      (async () => {
        const facts = await batching.batch.add(file);
        await batching.commitSlot();
        slotTaken = true;
        return facts;
      });
    const options = { ...this.optionsFor(file, onDownloaded), ...(recheck ? { recheck } : {}) };
    const ended = () => {
      if (slotTaken) batching?.freeCommitSlot();
    };
    return copyFile(source, this.job.sink, this.requestFor(file), options).then(
      (outcome) => {
        ended();
        released(true);
        this.recordOutcome(file, outcome, startedAt);
      },
      (error: unknown) => {
        ended();
        // A failure while the file was still being read may have closed the session; a file found
        // changed after it was read whole was stat'ed again on it, so that session is sound.
        released(downloaded || (error instanceof SourceChangedError && !error.whileReading));
        this.recordFailure(file, error, startedAt);
      },
    );
  }

  private requestFor(file: PlannedFile): CopyRequest {
    return {
      path: file.path,
      target: { bucket: this.job.bucket, key: file.key },
      // Not in the bucket listing: no HEAD to send, but a conditional write, for another writer
      // (the queue, an overlapping run) may store the key meanwhile; the first one stays.
      ifExists: this.job.listed.has(file.key) ? "skip-unchanged" : "create",
      // MLSD gave size and time: no SIZE and MDTM per file. LIST gives no time to record.
      ...(file.size !== null && file.modifiedAt !== null
        ? { known: { size: file.size, modifiedAt: file.modifiedAt } }
        : {}),
    };
  }

  private optionsFor(file: PlannedFile, onDownloaded: () => void): Partial<CopyOptions> {
    const { options } = this.job;
    const { checks } = this;
    return {
      ...options.copy,
      memoryBudget: this.copyBudget,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(checks.files.has(file)
        ? {
            onCopyDecided: (info) => {
              if (!checks.budget.take(info.size ?? 0)) throw new OverBudget();
            },
          }
        : {}),
      onDownloaded,
    };
  }

  private recordOutcome(file: PlannedFile, outcome: CopyOutcome, startedAt: number): void {
    const { summary, manifest, options } = this.job;
    // The mirror passes no suspendSignal: its copies finish or fail (queued files may suspend).
    if (outcome.status === "suspended") throw new Error("a mirror copy cannot be suspended");
    summary[outcome.status] += 1;
    if (outcome.status === "copied") summary.bytes += outcome.bytes;
    const pending = this.job.journalsSourceAction === true ? { afterCopy: "pending" as const } : {};
    if (file.size !== null && file.version !== null) {
      manifest.entries[file.relativePath] = {
        size: file.size,
        version: file.version,
        etag: outcome.etag,
        ...pending,
      };
    } else if (this.job.journalsSourceAction === true) {
      // Without an entry the object would look extraneous once its source is gone.
      options.copy.onWarning?.(
        "the source file is kept: the listing gives no size or time to journal its action",
        {
          path: file.path,
        },
      );
    }
    const durationMs = Math.round(this.now() - startedAt);
    options.onFile?.({
      path: file.path,
      key: file.key,
      outcome: outcome.status,
      bytes: outcome.bytes,
      durationMs,
    });
  }

  private recordFailure(file: PlannedFile, error: unknown, startedAt: number): void {
    const { summary, options } = this.job;
    // A changed check past the budget, or a key another writer stored with another version
    // since the listing: the queue's copy looks again (SIZE, MDTM, HEAD) and the newer source wins.
    if (options.enqueue && (error instanceof OverBudget || error instanceof ObjectExistsError)) {
      this.overflow.push(file);
      return;
    }
    const failure = describeFailure(error);
    // Still being written: the next run finds it again (the manifest does not record it).
    const changed = error instanceof SourceChangedError;
    if (changed) summary.changed.push({ path: file.path, message: failure.message });
    else summary.failed.push({ path: file.path, ...failure });
    const durationMs = Math.round(this.now() - startedAt);
    options.onFile?.({
      path: file.path,
      key: file.key,
      outcome: changed ? "changed" : "failed",
      bytes: 0,
      durationMs,
      error: failure,
    });
  }
}

export async function enqueueAll(
  files: PlannedFile[],
  options: MirrorOptions,
  summary: MirrorSummary,
): Promise<void> {
  for (const file of files) {
    try {
      if (options.enqueue === undefined) throw new Error("no queue to hand it to");
      await options.enqueue(file);
      summary.enqueued += 1;
    } catch (error) {
      summary.failed.push({ path: file.path, ...describeFailure(error) });
    }
  }
}
