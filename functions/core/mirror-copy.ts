import { abortReason } from "./errors.js";
import type { MirrorOptions, MirrorSummary } from "./mirror.js";
import type { Manifest } from "./mirror-manifest.js";
import { describeFailure, type PlannedFile } from "./mirror-plan.js";
import { DEFAULT_PART_SIZE } from "./part-size.js";
import type { FileSource, ListedObject, ObjectSink } from "./ports.js";
import { copyFile, defaultCopyOptions } from "./transfer.js";

/** Small files whose upload may still be finishing while their FTP session reads the next one. */
const PENDING_COMMITS_PER_SESSION = 4;

/** The copies this invocation makes itself, and those beyond the budget, for the queue. Checks cost no budget. */
export function splitByBudget(
  files: PlannedFile[],
  checks: Set<PlannedFile>,
  options: MirrorOptions,
): { inline: PlannedFile[]; later: PlannedFile[] } {
  if (options.enqueue === undefined || options.inlineBudget === undefined)
    return { inline: files, later: [] };
  const { files: maxFiles, bytes: maxBytes } = options.inlineBudget;
  const inline: PlannedFile[] = [];
  const later: PlannedFile[] = [];
  let copies = 0;
  let bytes = 0;
  for (const file of files) {
    const size = file.size ?? 0;
    if (checks.has(file)) {
      inline.push(file);
    } else if (copies < maxFiles && (bytes + size <= maxBytes || copies === 0)) {
      // A file bigger than the whole budget still goes first when nothing else is taken: it must go somewhere.
      inline.push(file);
      copies += 1;
      bytes += size;
    } else {
      later.push(file);
    }
  }
  return { inline, later };
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
        // Not in the bucket listing: nothing to compare against (and no HEAD to send).
        ifExists: listed.has(file.key) ? "skip-unchanged" : "replace",
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
