/** The walk through the listings that makes a mirror's plan (its rules and shapes: mirror-plan.ts). */
import { posix } from "node:path";
import { abortReason, InvalidInputError, untilAborted } from "./errors.js";
import { MAX_REMOTE_PATH_LENGTH } from "./locations.js";
import { versionOf } from "./mirror-manifest.js";
import {
  DEFAULT_PLAN_LIMITS,
  describeFailure,
  keyFor,
  type MirrorPlan,
  type MirrorRequest,
  type PlanLimits,
  pathFilter,
  unsafeNameReason,
} from "./mirror-plan.js";
import { parseDoneMarker } from "./mirror-readiness.js";
import { parentOf } from "./paths.js";
import type { FileSource, RemoteEntry } from "./ports.js";
import type { RemoteFilePath, RemotePath } from "./values.js";

/**
 * The path of a listed entry: `name` is one unsafeNameReason let through (a name, no "/", no control
 * characters), so the path below a RemotePath is absolute, normalised and free of CR, LF and NUL; only
 * its length is left to check.
 */
function childPath(dir: RemotePath, name: string): RemoteFilePath {
  const path = dir === "/" ? `/${name}` : `${dir}/${name}`;
  if (path.length > MAX_REMOTE_PATH_LENGTH) {
    throw new InvalidInputError(
      `remote path is ${path.length} characters long, more than ${MAX_REMOTE_PATH_LENGTH}`,
    );
  }
  return path as RemoteFilePath;
}

interface PendingDirectory {
  dir: RemotePath;
  relative: string;
  depth: number;
}

/**
 * Lists the directory (and, when recursive, its subdirectories) and decides what to copy where.
 * A subdirectory that fails to list, or that a bound stops (loop, depth, entry count), is recorded
 * in `unlisted`; the mirrored directory itself failing rejects (there is nothing to mirror).
 */
export async function planMirror(
  source: FileSource,
  request: MirrorRequest,
  limits: Partial<PlanLimits> = {},
): Promise<MirrorPlan> {
  return new MirrorPlanner(source, request, { ...DEFAULT_PLAN_LIMITS, ...limits }).run();
}

/** One planning walk: the directories still to list, those already seen, and the plan so far. */
class MirrorPlanner {
  private readonly plan: MirrorPlan = {
    files: [],
    listed: 0,
    excluded: 0,
    skipped: [],
    unlisted: [],
    unreadable: [],
    empty: [],
    markers: new Set(),
    listingSizes: new Map(),
  };
  private readonly wanted: (relativePath: string) => boolean;
  private readonly isMarker: (name: string) => boolean;
  private readonly seenPaths: Set<string>;
  private readonly seenUnique = new Set<string>();
  private readonly pending: PendingDirectory[];

  constructor(
    private readonly source: FileSource,
    private readonly request: MirrorRequest,
    private readonly limits: PlanLimits,
  ) {
    this.wanted = pathFilter(request);
    const marker = request.readiness?.doneMarker;
    this.isMarker = marker === undefined ? () => false : parseDoneMarker(marker).isMarker;
    this.seenPaths = new Set([request.remoteDir]);
    this.pending = [{ dir: request.remoteDir, relative: "", depth: 0 }];
  }

  async run(): Promise<MirrorPlan> {
    const { maxEntries } = this.limits;
    for (let at = this.pending.shift(); at !== undefined; at = this.pending.shift()) {
      if (this.plan.listed >= maxEntries) {
        this.unlisted(at, "ENTRY_LIMIT", `not listed: the run reached its limit of ${maxEntries} entries`);
        continue;
      }
      const entries = await this.list(at);
      if (entries === undefined) continue;
      for (const entry of this.withinBound(at, entries)) this.place(at, entry);
    }
    return this.plan;
  }

  private unlisted(at: PendingDirectory, code: string, message: string): void {
    this.plan.unlisted.push({ path: at.dir, relative: at.relative, code, message });
  }

  /** The directory's entries, or undefined when its listing failed (recorded as unlisted). */
  private async list(at: PendingDirectory): Promise<RemoteEntry[] | undefined> {
    const { source, request } = this;
    const { signal } = this.limits;
    let entries: RemoteEntry[];
    try {
      // Never started once the signal fired, and given up on when it fires meanwhile: the caller then
      // closes the session, which ends the request.
      entries =
        signal === undefined
          ? await source.list(at.dir)
          : await untilAborted(() => source.list(at.dir), signal);
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      if (at.relative === "") throw await explainRootFailure(source, request.remoteDir, error);
      const failure = describeFailure(error);
      this.unlisted(at, failure.code, `listing failed: ${failure.message}`);
      return undefined;
    }
    if (at.relative === "") await refuseSingleFile(source, request.remoteDir, entries, signal);
    if (entries.length === 0) this.plan.empty.push(at.relative);
    this.plan.listingSizes.set(at.dir, entries.length);
    return entries;
  }

  /** The entries the run may still take in; past maxEntries the rest, and every pending directory, is unlisted. */
  private withinBound(at: PendingDirectory, entries: RemoteEntry[]): RemoteEntry[] {
    const { maxEntries } = this.limits;
    const room = maxEntries - this.plan.listed;
    if (entries.length <= room) return entries;
    this.unlisted(
      at,
      "ENTRY_LIMIT",
      `listing cut short: the run reached its limit of ${maxEntries} entries (maxEntries) in this directory`,
    );
    for (const rest of this.pending.splice(0)) {
      this.unlisted(rest, "ENTRY_LIMIT", `not listed: the run reached its limit of ${maxEntries} entries`);
    }
    return entries.slice(0, room);
  }

  /** Files to copy, directories to list, the rest skipped or excluded with why. */
  private place(at: PendingDirectory, entry: RemoteEntry): void {
    const { plan } = this;
    plan.listed += 1;
    if (entry.unreadableName !== undefined) {
      this.unreadable(at, entry, entry.unreadableName);
      return;
    }
    const unsafe = unsafeNameReason(entry.name);
    if (unsafe !== undefined) {
      plan.skipped.push({ path: `${at.dir} (listing)`, reason: unsafe });
      return;
    }
    let path: RemoteFilePath;
    try {
      path = childPath(at.dir, entry.name);
    } catch (error) {
      // Too long to send: the directory is not seen in full, so nothing below it is deleted.
      const failure = describeFailure(error);
      this.unlisted(at, failure.code, `${entry.name}: ${failure.message}`);
      return;
    }
    const relativePath = at.relative === "" ? entry.name : `${at.relative}/${entry.name}`;
    if (entry.kind === "directory") this.descend(at, entry, path, relativePath);
    else if (entry.kind === "other") {
      plan.skipped.push({ path, reason: "not a regular file (a link or a special file)" });
    } else if (this.isMarker(entry.name)) {
      // Whatever include/exclude say: a marker is a signal beside the data, not data.
      plan.markers.add(relativePath);
    } else if (!this.wanted(relativePath)) {
      plan.excluded += 1;
    } else {
      try {
        const key = keyFor(this.request.keyPrefix, relativePath);
        plan.files.push({
          path,
          relativePath,
          key,
          size: entry.size,
          version: versionOf(entry),
          modifiedAt: entry.modifiedAt,
        });
      } catch (error) {
        plan.skipped.push({ path, reason: describeFailure(error).message });
      }
    }
  }

  /**
   * A name the adapter could not decode (`entry.name` shows its bytes escaped): never fetched, listed
   * or keyed. Skipped as its kind would be (a link, a directory without recursion) or left out by the
   * filters, which see the escaped name (so a known one can be excluded); otherwise a failure.
   */
  private unreadable(at: PendingDirectory, entry: RemoteEntry, why: string): void {
    const { plan } = this;
    const path = at.dir === "/" ? `/${entry.name}` : `${at.dir}/${entry.name}`;
    const relativePath = at.relative === "" ? entry.name : `${at.relative}/${entry.name}`;
    if (entry.kind === "other" || (entry.kind === "directory" && !this.request.recursive)) {
      plan.skipped.push({ path, reason: why });
    } else if (entry.kind === "file" && !this.wanted(relativePath)) {
      plan.excluded += 1;
    } else {
      plan.skipped.push({ path, reason: why });
      plan.unreadable.push({ path, message: why });
    }
  }

  /** Queues a subdirectory for listing, unless recursion is off or a bound (loop, depth, entries) stops it. */
  private descend(at: PendingDirectory, entry: RemoteEntry, path: RemotePath, relativePath: string): void {
    const { maxDepth, maxEntries } = this.limits;
    if (!this.request.recursive) {
      this.plan.skipped.push({ path, reason: "a directory (recursive is off)" });
      return;
    }
    const child = { dir: path, relative: relativePath, depth: at.depth + 1 };
    if (this.seenPaths.has(path) || (entry.unique !== undefined && this.seenUnique.has(entry.unique))) {
      this.unlisted(child, "LISTING_LOOP", "not listed: the server showed this directory twice (a loop)");
    } else if (child.depth > maxDepth) {
      this.unlisted(child, "DEPTH_LIMIT", `not listed: deeper than ${maxDepth} levels (maxDepth)`);
    } else if (this.plan.listed >= maxEntries) {
      this.unlisted(child, "ENTRY_LIMIT", `not listed: the run reached its limit of ${maxEntries} entries`);
    } else {
      this.seenPaths.add(path);
      if (entry.unique !== undefined) this.seenUnique.add(entry.unique);
      this.pending.push(child);
    }
  }
}

/** True when the parent's listing shows `path` as a file (one more LIST, only in doubtful cases). */
async function listedAsFile(source: FileSource, path: RemotePath): Promise<boolean> {
  const parent = parentOf(path);
  const name = posix.basename(path);
  if (path === "/" || name === "") return false;
  const entries = await source.list(parent);
  return entries.some((e) => e.name === name && e.kind === "file");
}

function notADirectory(source: FileSource, path: string): InvalidInputError {
  return new InvalidInputError(
    `${source.urlOf(path)} is a file, not a directory: mirror copies directories (copy one file with ftp2s3 <ftp-url> <s3-url>)`,
  );
}

/** Many servers answer LIST of a file with that file alone: a mirror of it would be a mirror of nothing. */
async function refuseSingleFile(
  source: FileSource,
  path: RemotePath,
  entries: RemoteEntry[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only?.kind !== "file" || (only.name !== posix.basename(path) && only.name !== path)) return;
  if (signal?.aborted) throw abortReason(signal);
  if (await listedAsFile(source, path).catch(() => false)) throw notADirectory(source, path);
}

/** The mirrored directory could not be listed: say so plainly when it is a file. */
async function explainRootFailure(source: FileSource, path: RemotePath, error: unknown): Promise<unknown> {
  const isFile = await listedAsFile(source, path).catch(() => false);
  return isFile ? notADirectory(source, path) : error;
}
