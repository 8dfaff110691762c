import { posix } from "node:path";
import picomatch from "picomatch";
import { abortReason, Ftp2s3Error, InvalidInputError, untilAborted } from "./errors.js";
import { MAX_REMOTE_PATH_LENGTH, objectKey } from "./locations.js";
import { MANIFEST_NAME, versionOf } from "./mirror-manifest.js";
import { parentOf } from "./paths.js";
import type { FileSource, RemoteEntry } from "./ports.js";
import type { ObjectKey, RemoteFilePath, RemotePath } from "./values.js";

export interface MirrorRequest {
  /** The directory on the server (resolveAllowedDirectory, normaliseRemotePath). */
  remoteDir: RemotePath;
  /** Prefix of every key written ("" or ending in "/"). */
  keyPrefix: string;
  /** Globs on the path relative to remoteDir (e.g. "**\/*.csv"); default: everything. */
  include: string[];
  exclude: string[];
  /** Descend into subdirectories. */
  recursive: boolean;
}

/** Decides whether a relative path is mirrored: included and not excluded. */
export function pathFilter(
  request: Pick<MirrorRequest, "include" | "exclude">,
): (relativePath: string) => boolean {
  const included = picomatch(request.include.length > 0 ? request.include : ["**"], { dot: true });
  const excluded = request.exclude.length > 0 ? picomatch(request.exclude, { dot: true }) : () => false;
  return (relativePath) => included(relativePath) && !excluded(relativePath);
}

export interface PlannedFile {
  /** Absolute path on the server. */
  path: RemoteFilePath;
  /** Path below remoteDir, "/"-separated: what globs match and what the key ends with. */
  relativePath: string;
  key: ObjectKey;
  /** From the listing. */
  size: number | null;
  /** The listing's version token (modification time), see versionOf. */
  version: string | null;
  /** The modification time when the listing gives one (MLSD); LIST gives only text. */
  modifiedAt: Date | null;
}

export interface MirrorPlan {
  files: PlannedFile[];
  /** Entries seen in the listings. */
  listed: number;
  /** Files left out by include/exclude. */
  excluded: number;
  /** Entries not copied, with why: directories without `recursive`, links, devices, unsafe names. */
  skipped: { path: string; reason: string }[];
  /** Directories not seen in full: the listing failed, was cut short, or a bound stopped it. */
  unlisted: UnlistedDirectory[];
  /** Directories (relative to remoteDir, "" for itself) whose listing came back empty. */
  empty: string[];
}

/**
 * Why a name from a listing cannot become part of a path or key, or undefined when it can. A server
 * controls these names: "../x", "/etc/x" or a name with CR/LF must never be followed or sent back.
 */
export function unsafeNameReason(name: string): string | undefined {
  if (name === "" || name === "." || name === "..")
    return `the name ${JSON.stringify(name)} is not a file name`;
  if (name.includes("/")) return `the name ${JSON.stringify(name)} contains "/"`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name))
    return `the name ${JSON.stringify(name)} contains control characters`;
  if (name === MANIFEST_NAME) return `${MANIFEST_NAME} is the name of ftp2s3's mirror manifest`;
  return undefined;
}

/** The key of a mirrored file: the prefix, then the path below the mirrored directory, unchanged. */
export function keyFor(keyPrefix: string, relativePath: string): ObjectKey {
  return objectKey(keyPrefix + relativePath);
}

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

/** Bounds on what one run lists: a server controls its listings, and may make them endless. */
export interface PlanLimits {
  /** Directory levels below the mirrored directory that are listed; deeper ones count as unlisted. */
  maxDepth: number;
  /** Listing entries one run takes in; past it the run stops listing and the rest counts as unlisted. */
  maxEntries: number;
  /** Once it fires, no further listing is requested and planning rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Defaults of the listing bounds. Measured: a planned entry costs about 520 bytes of heap, so
 * 250,000 entries hold about 200 MiB of RSS while planning (1,000,000: 600 MiB, too close to the
 * function's 1 GiB once the bucket listing is added).
 */
export const DEFAULT_PLAN_LIMITS: PlanLimits = { maxDepth: 32, maxEntries: 250_000 };

/** A directory the run could not see in full: nothing below it is deleted. */
export interface UnlistedDirectory {
  path: string;
  /** Path below remoteDir ("" for remoteDir itself). */
  relative: string;
  code: string;
  message: string;
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
    empty: [],
  };
  private readonly wanted: (relativePath: string) => boolean;
  private readonly seenPaths: Set<string>;
  private readonly seenUnique = new Set<string>();
  private readonly pending: PendingDirectory[];

  constructor(
    private readonly source: FileSource,
    private readonly request: MirrorRequest,
    private readonly limits: PlanLimits,
  ) {
    this.wanted = pathFilter(request);
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

export function describeFailure(error: unknown): { code: string; message: string } {
  if (error instanceof Ftp2s3Error) return { code: error.code, message: error.message };
  return { code: "UNEXPECTED", message: error instanceof Error ? error.message : String(error) };
}
