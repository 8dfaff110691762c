import picomatch from "picomatch";
import { abortReason, Ftp2s3Error } from "./errors.js";
import { assertValidKey } from "./locations.js";
import type { FileSource, ObjectSink } from "./ports.js";
import { type CopyOptions, copyFile } from "./transfer.js";

export interface MirrorRequest {
  /** Normalised absolute directory on the server. */
  remoteDir: string;
  /** Prefix of every key written ("" or ending in "/"). */
  keyPrefix: string;
  /** Globs on the path relative to remoteDir (e.g. "**\/*.csv"); default: everything. */
  include: string[];
  exclude: string[];
  /** Descend into subdirectories. */
  recursive: boolean;
}

export interface PlannedFile {
  /** Absolute path on the server. */
  path: string;
  /** Path below remoteDir, "/"-separated: what globs match and what the key ends with. */
  relativePath: string;
  key: string;
}

export interface MirrorPlan {
  files: PlannedFile[];
  /** Entries seen in the listings. */
  listed: number;
  /** Files left out by include/exclude. */
  excluded: number;
  /** Entries not copied, with why: directories without `recursive`, links, devices, unsafe names. */
  skipped: { path: string; reason: string }[];
  /** Subdirectories whose listing failed. */
  unlisted: { path: string; code: string; message: string }[];
}

export interface MirrorFailure {
  path: string;
  code: string;
  message: string;
}

export interface MirrorSummary {
  remoteDir: string;
  listed: number;
  excluded: number;
  skipped: number;
  copied: number;
  unchanged: number;
  failed: MirrorFailure[];
  bytes: number;
  durationMs: number;
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
  return undefined;
}

/** The key of a mirrored file: the prefix, then the path below the mirrored directory, unchanged. */
export function keyFor(keyPrefix: string, relativePath: string): string {
  const key = keyPrefix + relativePath;
  assertValidKey(key);
  return key;
}

function childPath(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/** Lists the directory (and, when recursive, its subdirectories) and decides what to copy where. */
export async function planMirror(source: FileSource, request: MirrorRequest): Promise<MirrorPlan> {
  const included = picomatch(request.include.length > 0 ? request.include : ["**"], { dot: true });
  const excluded = request.exclude.length > 0 ? picomatch(request.exclude, { dot: true }) : () => false;
  const plan: MirrorPlan = { files: [], listed: 0, excluded: 0, skipped: [], unlisted: [] };
  const pending: { dir: string; relative: string }[] = [{ dir: request.remoteDir, relative: "" }];
  while (pending.length > 0) {
    const { dir, relative } = pending.shift() as { dir: string; relative: string };
    let entries: Awaited<ReturnType<FileSource["list"]>>;
    try {
      entries = await source.list(dir);
    } catch (error) {
      if (dir === request.remoteDir) throw error; // nothing to mirror at all
      plan.unlisted.push({ path: dir, ...describe(error) });
      continue;
    }
    for (const entry of entries) {
      plan.listed += 1;
      const unsafe = unsafeNameReason(entry.name);
      if (unsafe !== undefined) {
        plan.skipped.push({ path: `${dir} (listing)`, reason: unsafe });
        continue;
      }
      const path = childPath(dir, entry.name);
      const relativePath = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.kind === "directory") {
        if (request.recursive) pending.push({ dir: path, relative: relativePath });
        else plan.skipped.push({ path, reason: "a directory (recursive is off)" });
      } else if (entry.kind === "other") {
        plan.skipped.push({ path, reason: "not a regular file (a link or a special file)" });
      } else if (!included(relativePath) || excluded(relativePath)) {
        plan.excluded += 1;
      } else {
        try {
          plan.files.push({ path, relativePath, key: keyFor(request.keyPrefix, relativePath) });
        } catch (error) {
          plan.skipped.push({ path, reason: describe(error).message });
        }
      }
    }
  }
  return plan;
}

export interface MirrorOptions {
  copy: Partial<CopyOptions>;
  signal?: AbortSignal;
  /** Called after each file, for logs and metrics. */
  onFile?: (event: {
    path: string;
    key: string;
    outcome: "copied" | "unchanged" | "failed";
    bytes: number;
    durationMs: number;
    error?: { code: string; message: string };
  }) => void;
  now?: () => number;
}

/**
 * Mirrors a directory one file at a time over one FTP session, reconnecting after a failure (a
 * broken data connection closes the session). One file failing does not stop the others; the
 * summary names every failure. Files already stored unchanged are not read again.
 */
export async function runMirror(
  connect: () => Promise<FileSource>,
  sink: ObjectSink,
  bucket: string,
  request: MirrorRequest,
  options: MirrorOptions,
): Promise<MirrorSummary & { plan: MirrorPlan }> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  let source = await connect();
  try {
    const plan = await planMirror(source, request);
    const summary: MirrorSummary = {
      remoteDir: request.remoteDir,
      listed: plan.listed,
      excluded: plan.excluded,
      skipped: plan.skipped.length,
      copied: 0,
      unchanged: 0,
      failed: plan.unlisted.map((u) => ({
        path: u.path,
        code: u.code,
        message: `listing failed: ${u.message}`,
      })),
      bytes: 0,
      durationMs: 0,
    };
    let cannotContinue: { code: string; message: string } | undefined;
    for (const file of plan.files) {
      if (options.signal?.aborted && cannotContinue === undefined)
        cannotContinue = describe(abortReason(options.signal));
      if (cannotContinue !== undefined) {
        summary.failed.push({
          path: file.path,
          code: cannotContinue.code,
          message: `not attempted: ${cannotContinue.message}`,
        });
        continue;
      }
      const fileStartedAt = now();
      try {
        const outcome = await copyFile(
          source,
          sink,
          { path: file.path, target: { bucket, key: file.key }, ifExists: "skip-unchanged" },
          { ...options.copy, ...(options.signal ? { signal: options.signal } : {}) },
        );
        if (outcome.status === "copied") {
          summary.copied += 1;
          summary.bytes += outcome.bytes;
        } else {
          summary.unchanged += 1;
        }
        const durationMs = Math.round(now() - fileStartedAt);
        options.onFile?.({
          path: file.path,
          key: file.key,
          outcome: outcome.status,
          bytes: outcome.bytes,
          durationMs,
        });
      } catch (error) {
        const failure = describe(error);
        summary.failed.push({ path: file.path, ...failure });
        const durationMs = Math.round(now() - fileStartedAt);
        options.onFile?.({
          path: file.path,
          key: file.key,
          outcome: "failed",
          bytes: 0,
          durationMs,
          error: failure,
        });
        source.close();
        if (options.signal?.aborted) continue;
        try {
          source = await connect();
        } catch (reconnectError) {
          cannotContinue = describe(reconnectError);
        }
      }
    }
    summary.durationMs = Math.round(now() - startedAt);
    return { ...summary, plan };
  } finally {
    source.close();
  }
}

function describe(error: unknown): { code: string; message: string } {
  if (error instanceof Ftp2s3Error) return { code: error.code, message: error.message };
  return { code: "UNEXPECTED", message: error instanceof Error ? error.message : String(error) };
}
