import { posix } from "node:path";
import { FtpReplyError, InvalidInputError, NotAllowedError } from "./errors.js";
import { describeFailure } from "./mirror-plan.js";
import { isInsideRoot, normaliseRemotePath, parentOf, resolveAllowedDirectory } from "./paths.js";
import type { FileSource } from "./ports.js";
import type { RemoteFilePath, RemotePath } from "./values.js";

declare const moveTemplateBrand: unique symbol;

/**
 * A move target checked by checkAfterCopy: absolute, no "\", only the date placeholders, and inside
 * the allowed roots whatever date fills them in.
 */
export type MoveTemplate = string & { readonly [moveTemplateBrand]: true };

/** What becomes of a source file once its object is committed and verified. */
export type AfterCopy = "keep" | "delete" | { moveTo: MoveTemplate };

/** afterCopy as a job, a request or the command writes it, before checkAfterCopy. */
export type AfterCopyAsWritten = "keep" | "delete" | { moveTo: string };

/**
 * The placeholders of a move target: the commit time in UTC, always digits of a fixed width. So a
 * template that expands inside the roots for one date does for every date: no date can add a "/" or
 * a "..", and the one check at the boundary holds for every later expansion.
 */
const PLACEHOLDERS: Record<string, (at: Date) => string> = {
  "{yyyy}": (at) => String(at.getUTCFullYear()).padStart(4, "0"),
  "{MM}": (at) => String(at.getUTCMonth() + 1).padStart(2, "0"),
  "{dd}": (at) => String(at.getUTCDate()).padStart(2, "0"),
};

/** Where a move target may go, as the boundary knows it. */
export interface AfterCopyFence {
  /** The connection's roots (the command has none: its user names the server and the account). */
  roots?: { paths: readonly string[]; connection: string };
  /** The file's directory, or the mirrored one: a target there would be read again, or be the file itself. */
  sourceDir: RemotePath;
  /** A mirror reading subdirectories: a target anywhere below sourceDir would be mirrored again. */
  recursive: boolean;
}

/**
 * The one check of afterCopy, where it enters: a move target that could land outside the roots, or
 * where the files are read from, is INVALID_INPUT before anything is copied.
 */
export function checkAfterCopy(value: AfterCopyAsWritten, fence: AfterCopyFence): AfterCopy {
  if (value === "keep" || value === "delete") return value;
  const template = value.moveTo;
  const named = `the move target ${JSON.stringify(template)}`;
  if (template.includes("\\")) throw new InvalidInputError(`${named} contains "\\": separate with "/"`);
  const unknown = template.match(/\{[^}]*\}/g)?.find((p) => !(p in PLACEHOLDERS));
  if (unknown !== undefined) {
    throw new InvalidInputError(
      `${named} has the placeholder ${unknown}: only ${Object.keys(PLACEHOLDERS).join(" ")} (the commit time in UTC)`,
    );
  }
  const sample = expand(template, new Date(0));
  let dir: RemotePath;
  try {
    dir =
      fence.roots === undefined
        ? normaliseRemotePath(sample)
        : resolveAllowedDirectory(sample, fence.roots.paths, fence.roots.connection);
  } catch (error) {
    if (error instanceof NotAllowedError && fence.roots !== undefined) {
      const { paths, connection } = fence.roots;
      throw new InvalidInputError(
        `${named} lies outside the roots of connection "${connection}" (${paths.join(", ")})`,
      );
    }
    if (!(error instanceof InvalidInputError)) throw error;
    throw new InvalidInputError(
      `${named}: ${error.message.replace(`remote path ${JSON.stringify(sample)}`, "it")}`,
    );
  }
  const readAgain = dir === fence.sourceDir || (fence.recursive && isInsideRoot(dir, fence.sourceDir));
  if (readAgain) {
    throw new InvalidInputError(
      `${named} lies where the files are read from (${fence.sourceDir}${fence.recursive ? " and below" : ""}): choose a directory outside it`,
    );
  }
  return { moveTo: template as MoveTemplate };
}

/**
 * Where a moved file goes: the template filled in with the commit time, then the file's name, or for
 * a mirror its path below the mirrored directory (names a listing gave, already checked: see
 * unsafeNameReason), so files of the same name in two directories do not land on each other.
 */
export function moveTargetOf(
  template: MoveTemplate,
  file: RemoteFilePath,
  committedAt: Date,
  relativePath: string = posix.basename(file),
): { dir: RemotePath; path: RemoteFilePath } {
  const path = posix.join(normaliseRemotePath(expand(template, committedAt)), relativePath) as RemoteFilePath;
  return { dir: parentOf(path), path };
}

function expand(template: string, at: Date): string {
  return template.replace(/\{(yyyy|MM|dd)\}/g, (p) => (PLACEHOLDERS[p] as (at: Date) => string)(at));
}

/** What a source action did. */
export type SourceActionDone = { action: "deleted" } | { action: "moved"; to: string };

/** What the outcome says of the source action: done, or failed (a warning; the copy stands). */
export type SourceActionReport = SourceActionDone | { action: "failed"; code: string; message: string };

/**
 * Takes the file away at the source: DELE, or RNFR/RNTO into the target directory. A move whose
 * rename is refused makes the target's directories (MKD each level; a refusal there is tolerated:
 * "exists" and "not allowed" read alike) and renames once more, so a target that exists costs two
 * commands. Rejects with the server's refusal.
 */
export async function takeAway(
  source: FileSource,
  path: RemoteFilePath,
  afterCopy: Exclude<AfterCopy, "keep">,
  committedAt: Date,
  relativePath?: string,
): Promise<SourceActionDone> {
  if (afterCopy === "delete") {
    await source.deleteFile(path);
    return { action: "deleted" };
  }
  const target = moveTargetOf(afterCopy.moveTo, path, committedAt, relativePath);
  try {
    await source.rename(path, target.path);
  } catch (error) {
    if (!(error instanceof FtpReplyError)) throw error;
    for (const level of levelsOf(target.dir)) {
      await source.makeDirectory(level).catch((refusal: unknown) => {
        if (!(refusal instanceof FtpReplyError)) throw refusal;
      });
    }
    await source.rename(path, target.path);
  }
  return { action: "moved", to: source.urlOf(target.path) };
}

/**
 * takeAway, its failure turned into a warning and a report: the object is committed and verified
 * whatever the source does, so the copy stands (a mirror retries the action on its next run).
 */
export async function settleSourceAction(
  source: FileSource,
  path: RemoteFilePath,
  afterCopy: Exclude<AfterCopy, "keep">,
  committedAt: Date,
  onWarning: ((message: string, details: Record<string, unknown>) => void) | undefined,
  relativePath?: string,
): Promise<SourceActionReport> {
  try {
    return await takeAway(source, path, afterCopy, committedAt, relativePath);
  } catch (error) {
    const failure = describeFailure(error);
    const what = afterCopy === "delete" ? "delete" : "move";
    onWarning?.(`could not ${what} the source file after its object was committed`, {
      path: source.urlOf(path),
      ...failure,
    });
    return { action: "failed", ...failure };
  }
}

/** "/a/b/c" -> "/a", "/a/b", "/a/b/c". */
function levelsOf(dir: RemotePath): RemotePath[] {
  const names = dir.split("/").filter((n) => n !== "");
  return names.map((_, i) => `/${names.slice(0, i + 1).join("/")}` as RemotePath);
}
