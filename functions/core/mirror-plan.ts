import picomatch from "picomatch";
import { Ftp2s3Error } from "./errors.js";
import { objectKey } from "./locations.js";
import { MANIFEST_NAME } from "./mirror-manifest.js";
import type { ReadinessRules } from "./mirror-readiness.js";
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
  /** When a listed file may be taken (minAge, stableFor, doneMarker); default: at once. */
  readiness?: ReadinessRules;
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
  /**
   * Files and directories whose names are not valid in the server's encoding (shown escaped): not
   * copied, not guessed, and failures of the run (see unreadableNameCode).
   */
  unreadable: { path: string; message: string }[];
  /** Directories (relative to remoteDir, "" for itself) whose listing came back empty. */
  empty: string[];
  /** Done markers listed (relative paths): never copied, they let the files they mark be taken. */
  markers: Set<string>;
  /** The entries of each directory listed, by its path: what a re-listing of it reads again. */
  listingSizes: Map<RemotePath, number>;
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
 * The failure code of a name not valid in the server's encoding. A failure, not a quiet skip: a file
 * on the server is missing from the bucket, and a wrong encoding setting shows as many of them; every
 * run says so until the setting is right, the file is renamed, or it is excluded by its escaped name.
 */
export const unreadableNameCode = "UNREADABLE_NAME";

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
 * Defaults of the listing bounds. Measured (bench/mirror-scale.ts): a mirrored file costs about
 * 0.9 KB of heap once planned (its planned file, its object in the bucket listing, its manifest
 * entry) and 1.2–1.7 KB at a run's peak, so 250,000 files fit the function's default 1 GiB beside
 * the part buffers; 1,000,000 do not.
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

export function describeFailure(error: unknown): { code: string; message: string } {
  if (error instanceof Ftp2s3Error) return { code: error.code, message: error.message };
  return { code: "UNEXPECTED", message: error instanceof Error ? error.message : String(error) };
}
