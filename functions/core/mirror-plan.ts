import picomatch from "picomatch";
import { Ftp2s3Error } from "./errors.js";
import { assertValidKey } from "./locations.js";
import { MANIFEST_NAME, versionOf } from "./mirror-manifest.js";
import type { FileSource } from "./ports.js";

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
  path: string;
  /** Path below remoteDir, "/"-separated: what globs match and what the key ends with. */
  relativePath: string;
  key: string;
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
  /** Subdirectories whose listing failed. */
  unlisted: { path: string; code: string; message: string }[];
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
  const wanted = pathFilter(request);
  const plan: MirrorPlan = { files: [], listed: 0, excluded: 0, skipped: [], unlisted: [] };
  const pending: { dir: string; relative: string }[] = [{ dir: request.remoteDir, relative: "" }];
  while (pending.length > 0) {
    const { dir, relative } = pending.shift() as { dir: string; relative: string };
    let entries: Awaited<ReturnType<FileSource["list"]>>;
    try {
      entries = await source.list(dir);
    } catch (error) {
      if (dir === request.remoteDir) throw error; // nothing to mirror at all
      plan.unlisted.push({ path: dir, ...describeFailure(error) });
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
      } else if (!wanted(relativePath)) {
        plan.excluded += 1;
      } else {
        try {
          const key = keyFor(request.keyPrefix, relativePath);
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
  }
  return plan;
}

export function describeFailure(error: unknown): { code: string; message: string } {
  if (error instanceof Ftp2s3Error) return { code: error.code, message: error.message };
  return { code: "UNEXPECTED", message: error instanceof Error ? error.message : String(error) };
}
