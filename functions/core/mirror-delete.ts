import type { MirrorOptions, MirrorSummary } from "./mirror.js";
import { MANIFEST_NAME } from "./mirror-manifest.js";
import { describeFailure, type MirrorRequest, pathFilter, type UnlistedDirectory } from "./mirror-plan.js";
import type { ListedObject, ObjectSink } from "./ports.js";

/** Keys a summary lists in full; beyond it, only their count. */
export const LISTED_KEYS_BOUND = 100;

/** What the deletion rules allow, set by the caller. */
export interface DeleteRules {
  /** Delete under a directory whose listing came back empty (by default that deletes nothing: a server hiccup looks the same). */
  allowEmptySource: boolean;
  /** At most this many deletions per run, or none at all; undefined: defaultMaxDelete. */
  maxDelete: number | undefined;
}

/** Why a run deleted nothing although objects had lost their source. */
export interface DeleteRefusal {
  reason: "DELETE_LIMIT" | "EMPTY_SOURCE";
  message: string;
  /** How many objects the run would have deleted. */
  wouldDelete: number;
  /** The first of them (LISTED_KEYS_BOUND at most). */
  keys: string[];
}

export interface DeleteDecision {
  /** The keys to delete (empty when refused). */
  keys: string[];
  /** Objects kept because a directory above them was not seen in full. */
  held: number;
  refused: DeleteRefusal | undefined;
}

/**
 * The cap when the caller set none: 100 objects or a tenth of the objects under the prefix, whichever
 * is larger. A fixed number alone either blocks the ordinary churn of a big tree or lets a small tree
 * be emptied; a tenth lets a big tree rotate while a source that lost most of its files (a wrong
 * directory, a half-mounted disk) is refused, and 100 keeps small trees workable.
 */
export function defaultMaxDelete(objectsUnderPrefix: number): number {
  return Math.max(100, Math.ceil(objectsUnderPrefix / 10));
}

/**
 * Objects under the prefix that no listed file maps to anymore, within the mirror's scope: the
 * include/exclude globs, and no subdirectories when the mirror is not recursive. The legacy
 * manifest is never one of them: it is state, moved by its own rule.
 */
export function findExtraneous(
  objects: ListedObject[],
  planned: Set<string>,
  request: MirrorRequest,
): string[] {
  const wanted = pathFilter(request);
  const extraneous: string[] = [];
  for (const { key } of objects) {
    const relative = key.slice(request.keyPrefix.length);
    if (planned.has(key) || relative === MANIFEST_NAME) continue;
    if (!request.recursive && relative.includes("/")) continue;
    if (wanted(relative)) extraneous.push(key);
  }
  return extraneous;
}

/** True when the key lies below the directory (relative to the mirrored one; "" is all of it). */
function isBelow(keyPrefix: string, relativeDir: string, key: string): boolean {
  return relativeDir === "" || key.startsWith(`${keyPrefix}${relativeDir}/`);
}

/**
 * Never delete on partial knowledge: nothing below a directory not seen in full; nothing at all
 * when a directory listed empty holds objects (unless allowed); nothing at all past the cap.
 */
export function decideDeletions(
  extraneous: string[],
  knowledge: { keyPrefix: string; unlisted: UnlistedDirectory[]; empty: string[]; objectCount: number },
  rules: DeleteRules,
): DeleteDecision {
  const { keyPrefix } = knowledge;
  const eligible = extraneous.filter(
    (key) => !knowledge.unlisted.some((u) => isBelow(keyPrefix, u.relative, key)),
  );
  const held = extraneous.length - eligible.length;
  const refuse = (reason: DeleteRefusal["reason"], message: string): DeleteDecision => ({
    keys: [],
    held,
    refused: { reason, message, wouldDelete: eligible.length, keys: eligible.slice(0, LISTED_KEYS_BOUND) },
  });
  if (!rules.allowEmptySource) {
    const emptied = knowledge.empty.find((dir) => eligible.some((key) => isBelow(keyPrefix, dir, key)));
    if (emptied !== undefined) {
      return refuse(
        "EMPTY_SOURCE",
        `the listing of ${emptied === "" ? "the mirrored directory" : JSON.stringify(emptied)} came back empty while objects lie below it: nothing was deleted (allow it with --allow-empty-source / allowEmptySource)`,
      );
    }
  }
  const limit = rules.maxDelete ?? defaultMaxDelete(knowledge.objectCount);
  if (eligible.length > limit) {
    return refuse(
      "DELETE_LIMIT",
      `${eligible.length} objects lost their source, more than the limit of ${limit} (--max-delete / maxDelete): nothing was deleted`,
    );
  }
  return { keys: eligible, held, refused: undefined };
}

/** Deletes the keys the rules allowed; each refusal is a failure of the run, each deletion a log line. */
export async function deleteAll(
  sink: ObjectSink,
  bucket: string,
  keys: string[],
  options: MirrorOptions,
  summary: MirrorSummary,
): Promise<void> {
  let refused: { key: string; message: string }[];
  try {
    refused = await sink.delete(bucket, keys);
  } catch (error) {
    const failure = describeFailure(error);
    summary.failed.push({
      path: `s3://${bucket}/${keys[0]}`,
      code: failure.code,
      message: `delete failed: ${failure.message}`,
    });
    return;
  }
  const notDeleted = new Set(refused.map((r) => r.key));
  for (const key of keys) {
    if (notDeleted.has(key)) continue;
    summary.deleted += 1;
    if (summary.deletedKeys.length < LISTED_KEYS_BOUND) summary.deletedKeys.push(key);
    options.onDelete?.(key);
  }
  for (const r of refused)
    summary.failed.push({ path: r.key, code: "S3", message: `delete failed: ${r.message}` });
}
