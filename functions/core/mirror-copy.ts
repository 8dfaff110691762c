import { abortReason, ObjectExistsError } from "./errors.js";
import type { MirrorOptions, MirrorSummary } from "./mirror.js";
import type { Manifest } from "./mirror-manifest.js";
import { describeFailure, type PlannedFile } from "./mirror-plan.js";
import { DEFAULT_PART_SIZE } from "./part-size.js";
import type { FileSource, ListedObject, ObjectSink } from "./ports.js";
import { copyFile, defaultCopyOptions } from "./transfer.js";

/** Small files whose upload may still be finishing while their FTP session reads the next one. */
const PENDING_COMMITS_PER_SESSION = 4;

/**
 * What one invocation may still copy itself (files and bytes), when it has a queue to hand the rest
 * to. A file bigger than the whole budget is still taken when nothing else is: it must go somewhere.
 */
export class InlineBudget {
  private copies = 0;
  private bytes = 0;

  constructor(private readonly limit: { files: number; bytes: number } | undefined) {}

  /** Charges one copy of `size` bytes and says true, or says false when it does not fit. */
  take(size: number): boolean {
    if (this.limit === undefined) return true;
    if (this.copies >= this.limit.files) return false;
    if (this.bytes + size > this.limit.bytes && this.copies > 0) return false;
    this.copies += 1;
    this.bytes += size;
    return true;
  }
}

/**
 * The copies this invocation makes itself, and those beyond the budget, for the queue. A check (a
 * file listed at its object's size) is made here at no charge; it is charged when it turns out
 * changed (see copyAll), and queued then if the budget is spent.
 */
export function splitByBudget(
  files: PlannedFile[],
  checks: Set<PlannedFile>,
  budget: InlineBudget,
): { inline: PlannedFile[]; later: PlannedFile[] } {
  const inline: PlannedFile[] = [];
  const later: PlannedFile[] = [];
  for (const file of files) {
    if (checks.has(file) || budget.take(file.size ?? 0)) inline.push(file);
    else later.push(file);
  }
  return { inline, later };
}

/** Thrown by a check found changed past the budget: the file goes to the queue, nothing read. */
class OverBudget extends Error {}

/** A mirror's budget, or none when it has no queue to hand work to. */
export function inlineBudgetOf(options: MirrorOptions): InlineBudget {
  return new InlineBudget(options.enqueue === undefined ? undefined : options.inlineBudget);
}

/** Copies over a pool of FTP sessions; returns the files left for the queue when time ran short. */
export async function copyAll(
  connect: () => Promise<FileSource>,
  firstSource: FileSource,
  sink: ObjectSink,
  bucket: string,
  files: PlannedFile[],
  listed: Map<string, ListedObject>,
  options: MirrorOptions,
  summary: MirrorSummary,
  manifest: Manifest,
  checks: { files: Set<PlannedFile>; budget: InlineBudget } = {
    files: new Set(),
    budget: new InlineBudget(undefined),
  },
): Promise<PlannedFile[]> {
  const now = options.now ?? Date.now;
  const overflow: PlannedFile[] = [];
  let nextIndex = 0;
  let stopped: { code: string; message: string } | undefined;

  /** Copies one file; resolves `released` once the FTP session is free again (true) or broken (false). */
  function copyOne(source: FileSource, file: PlannedFile, released: (fine: boolean) => void): Promise<void> {
    const startedAt = now();
    let downloaded = false;
    return copyFile(
      source,
      sink,
      {
        path: file.path,
        target: { bucket, key: file.key },
        // Not in the bucket listing: no HEAD to send, but a conditional write, for another writer
        // (the queue, an overlapping run) may store the key meanwhile; the first one stays.
        ifExists: listed.has(file.key) ? "skip-unchanged" : "create",
        // MLSD gave size and time: no SIZE and MDTM per file. LIST gives no time to record.
        ...(file.size !== null && file.modifiedAt !== null
          ? { known: { size: file.size, modifiedAt: file.modifiedAt } }
          : {}),
      },
      {
        ...options.copy,
        // The sessions copy at once: each copy gets its share of the memory budget.
        memoryBudget: Math.floor(
          (options.copy.memoryBudget ?? defaultCopyOptions.memoryBudget) / options.concurrency,
        ),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(checks.files.has(file)
          ? {
              onCopyDecided: (info) => {
                if (!checks.budget.take(info.size ?? 0)) throw new OverBudget();
              },
            }
          : {}),
        onDownloaded: () => {
          downloaded = true;
          released(true);
        },
      },
    ).then(
      (outcome) => {
        released(true);
        // The mirror passes no suspendSignal: its copies finish or fail (queued files may suspend).
        if (outcome.status === "suspended") throw new Error("a mirror copy cannot be suspended");
        summary[outcome.status] += 1;
        if (outcome.status === "copied") summary.bytes += outcome.bytes;
        if (file.size !== null && file.version !== null) {
          manifest.entries[file.relativePath] = {
            size: file.size,
            version: file.version,
            etag: outcome.etag,
          };
        }
        const durationMs = Math.round(now() - startedAt);
        options.onFile?.({
          path: file.path,
          key: file.key,
          outcome: outcome.status,
          bytes: outcome.bytes,
          durationMs,
        });
      },
      (error: unknown) => {
        // A failure while the file was still being read may have closed the session.
        released(downloaded);
        // A changed check past the budget, or a key another writer stored with another version
        // since the listing: the queue's copy looks again (SIZE, MDTM, HEAD) and the newer source wins.
        if (options.enqueue && (error instanceof OverBudget || error instanceof ObjectExistsError)) {
          overflow.push(file);
          return;
        }
        const failure = describeFailure(error);
        summary.failed.push({ path: file.path, ...failure });
        const durationMs = Math.round(now() - startedAt);
        options.onFile?.({
          path: file.path,
          key: file.key,
          outcome: "failed",
          bytes: 0,
          durationMs,
          error: failure,
        });
      },
    );
  }

  /**
   * One FTP session working through the shared list. A small file (one part, held in memory anyway)
   * frees the session as soon as its bytes are in and confirmed: the next RETR starts while S3 stores
   * the last one. A few such commits may be pending per session; bigger files are finished in turn.
   */
  async function worker(initial: FileSource | undefined): Promise<void> {
    let source = initial;
    const pending = new Set<Promise<void>>();
    try {
      for (let i = nextIndex++; i < files.length; i = nextIndex++) {
        const file = files[i] as PlannedFile;
        if (options.signal?.aborted && stopped === undefined)
          stopped = describeFailure(abortReason(options.signal));
        if (stopped === undefined && options.enqueue && options.outOfTime?.()) {
          overflow.push(file);
          continue;
        }
        if (stopped !== undefined) {
          summary.failed.push({
            path: file.path,
            code: stopped.code,
            message: `not attempted: ${stopped.message}`,
          });
          continue;
        }
        while (pending.size >= PENDING_COMMITS_PER_SESSION) await Promise.race(pending);
        try {
          source ??= await connect();
        } catch (error) {
          summary.failed.push({ path: file.path, ...describeFailure(error) });
          continue;
        }
        let released: (fine: boolean) => void = () => {};
        const free = new Promise<boolean>((resolve) => {
          released = resolve;
        });
        const task = copyOne(source, file, released);
        pending.add(task);
        void task.finally(() => pending.delete(task));
        const small = file.size !== null && file.size < (options.copy.partSize ?? DEFAULT_PART_SIZE);
        if (!small) await task; // a big file holds several parts in memory: finish it first
        const fine = await free;
        if (!fine) {
          source.close();
          source = undefined;
        }
      }
      await Promise.all(pending);
    } finally {
      source?.close();
    }
  }

  const sessions = Math.max(1, Math.min(options.concurrency, files.length));
  const workers = [worker(firstSource)];
  for (let n = 1; n < sessions; n += 1) workers.push(worker(undefined));
  await Promise.all(workers);
  return overflow;
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
