import { posix } from "node:path";
import { abortReason, untilAborted } from "./errors.js";
import { describeFailure, type PlannedFile } from "./mirror-plan.js";
import { MIN_FIRST_BUFFER } from "./part-size.js";
import { parentOf } from "./paths.js";
import type { FileSource, RemoteEntry, RemoteFileInfo } from "./ports.js";
import type { RemotePath } from "./values.js";

/** Files a session keeps waiting for their check at most: their bytes are held until it answers. */
export const RECHECK_BATCH_FILES = 64;

/**
 * Files to copy a directory needs for its checks to be batched at all. Below it they are stat'ed as
 * they are read: few round trips are saved, and waiting files cost memory, commit latency and, should
 * their session break before the re-listing, their commit.
 */
export const MIN_FILES_TO_BATCH = 16;

/** Fewer waiting files are stat'ed one by one: EPSV and MLSD are two round trips, a stat is one. */
const MIN_FILES_TO_RELIST = 3;

/**
 * A directory whose planning listing had more entries than this per waiting file is not listed again
 * for them: reading and parsing so many lines costs more than a stat per file.
 */
const ENTRIES_PER_WAITING_FILE = 64;

/** A name listed twice as a file: which one was read cannot be told, so the file is stat'ed. */
const LISTED_TWICE = Symbol("listed twice");

interface WaitingFile {
  file: PlannedFile;
  resolve: (facts: RemoteFileInfo | null) => void;
  reject: (error: unknown) => void;
}

export interface RecheckRules {
  /** Bytes the waiting files may hold (heldBytes). */
  maxBytes: number;
  /** The entries each directory had when the plan listed it (MirrorPlan.listingSizes). */
  listingSizes: ReadonlyMap<string, number>;
  /** Once it fires, no request is sent: waiting files fail with its reason, never committed. */
  signal?: AbortSignal;
  warn: (message: string, details: Record<string, unknown>) => void;
}

/**
 * One session's small files waiting for the commit rule's last look ("unchanged while it was
 * copied"), answered by one re-listing of their directory instead of one stat each: the round trip a
 * file that MLST cost is what kept a mirror of many small files behind rclone. Only for files the
 * listing gave exact facts for (MLSD): LIST's times are weaker than MDTM's. The worker flushes the
 * batch between two files, on its own session; every waiting file is answered on every path: the
 * listing's facts, a stat when the listing cannot tell (refused, failed, a name twice, a fact
 * missing), or an error, after which the file is not committed.
 */
export class RecheckBatch {
  private readonly waiting = new Map<RemotePath, WaitingFile[]>();
  private count = 0;
  private bytes = 0;

  constructor(private readonly rules: RecheckRules) {}

  /** Files waiting for their check. */
  get size(): number {
    return this.count;
  }

  /** Bytes the waiting files may hold. */
  get maxBytes(): number {
    return this.rules.maxBytes;
  }

  /** The file's facts once the batch is flushed, or null when its directory no longer lists it. */
  add(file: PlannedFile): Promise<RemoteFileInfo | null> {
    return new Promise((resolve, reject) => {
      const dir = parentOf(file.path);
      const files = this.waiting.get(dir) ?? [];
      files.push({ file, resolve, reject });
      this.waiting.set(dir, files);
      this.count += 1;
      this.bytes += heldBytes(file);
    });
  }

  /**
   * Whether the waiting files are checked before `next` is read: it will not join them (a big file,
   * no exact facts, another directory), or the batch is full by count or by bytes.
   */
  mustFlushBefore(next: PlannedFile, joins: boolean): boolean {
    if (this.count === 0) return false;
    if (!joins || !this.waiting.has(parentOf(next.path))) return true;
    return this.count >= RECHECK_BATCH_FILES || this.bytes + heldBytes(next) > this.rules.maxBytes;
  }

  /** Answers every waiting file on `source`; false when the session may be broken (a stat failed). */
  async flush(source: FileSource): Promise<boolean> {
    const groups = [...this.waiting];
    this.clear();
    let sound = true;
    for (const [dir, files] of groups) {
      if (!(await this.check(source, dir, files))) sound = false;
    }
    return sound;
  }

  /** Every waiting file fails with `error`: there is no session left to check them on. */
  abandon(error: unknown): void {
    for (const files of this.waiting.values()) for (const waiting of files) waiting.reject(error);
    this.clear();
  }

  private clear(): void {
    this.waiting.clear();
    this.count = 0;
    this.bytes = 0;
  }

  private async check(source: FileSource, dir: RemotePath, files: WaitingFile[]): Promise<boolean> {
    const { signal, listingSizes, warn } = this.rules;
    const entries = listingSizes.get(dir) ?? Number.POSITIVE_INFINITY;
    if (files.length < MIN_FILES_TO_RELIST || entries > files.length * ENTRIES_PER_WAITING_FILE) {
      return this.statEach(source, files);
    }
    let listing: RemoteEntry[];
    try {
      listing = await this.ask(() => source.list(dir));
    } catch (error) {
      if (signal?.aborted) {
        for (const waiting of files) waiting.reject(abortReason(signal));
        return false;
      }
      warn(
        `re-listing ${source.urlOf(dir)} to check the files just read failed: each is checked on its own`,
        {
          reason: describeFailure(error).message,
          files: files.length,
        },
      );
      return this.statEach(source, files);
    }
    const found = filesNamed(listing, new Set(files.map((waiting) => posix.basename(waiting.file.path))));
    const unsure: WaitingFile[] = [];
    for (const waiting of files) {
      const entry = found.get(posix.basename(waiting.file.path));
      if (entry === undefined) waiting.resolve(null);
      else if (entry === LISTED_TWICE || entry.size === null || entry.modifiedAt === null)
        unsure.push(waiting);
      else waiting.resolve({ size: entry.size, modifiedAt: entry.modifiedAt });
    }
    return unsure.length === 0 || this.statEach(source, unsure);
  }

  /** One stat per file, as a copy without a batch does; a failed one fails its file. */
  private async statEach(source: FileSource, files: WaitingFile[]): Promise<boolean> {
    let sound = true;
    for (const waiting of files) {
      try {
        waiting.resolve(await this.ask(() => source.stat(waiting.file.path)));
      } catch (error) {
        sound = false;
        waiting.reject(error);
      }
    }
    return sound;
  }

  /** A request on the session, given up on once the run stops (the worker then closes the session). */
  private ask<T>(request: () => Promise<T>): Promise<T> {
    const { signal } = this.rules;
    return signal === undefined ? request() : untilAborted(request, signal);
  }
}

/**
 * The directories whose files' checks are worth batching: MIN_FILES_TO_BATCH of `files` in them, and
 * a listing short enough to read again for them (see ENTRIES_PER_WAITING_FILE).
 */
export function directoriesToBatch(
  files: PlannedFile[],
  listingSizes: ReadonlyMap<string, number>,
): Set<RemotePath> {
  const counts = new Map<RemotePath, number>();
  for (const file of files) {
    const dir = parentOf(file.path);
    counts.set(dir, (counts.get(dir) ?? 0) + 1);
  }
  const worth = new Set<RemotePath>();
  for (const [dir, count] of counts) {
    const entries = listingSizes.get(dir) ?? Number.POSITIVE_INFINITY;
    if (count >= MIN_FILES_TO_BATCH && entries <= count * ENTRIES_PER_WAITING_FILE) worth.add(dir);
  }
  return worth;
}

/** What a waiting file holds in memory: its one part buffer (see PartUpload's first buffer). */
export function heldBytes(file: PlannedFile): number {
  return Math.max(file.size ?? 0, MIN_FIRST_BUFFER);
}

/**
 * The listing's files among `names`, by name, as the planning walk read them (same name rules:
 * unreadable names are never matched).
 */
function filesNamed(
  listing: RemoteEntry[],
  names: Set<string>,
): Map<string, RemoteEntry | typeof LISTED_TWICE> {
  const found = new Map<string, RemoteEntry | typeof LISTED_TWICE>();
  for (const entry of listing) {
    if (entry.kind !== "file" || entry.unreadableName !== undefined || !names.has(entry.name)) continue;
    found.set(entry.name, found.has(entry.name) ? LISTED_TWICE : entry);
  }
  return found;
}
