import type { S3Location } from "./locations.js";
import { copyAll, enqueueAll, inlineBudgetOf, splitByBudget } from "./mirror-copy.js";
import {
  type DeleteRefusal,
  type DeleteRules,
  decideDeletions,
  findExtraneous,
  LISTED_KEYS_BOUND,
} from "./mirror-delete.js";
import { emptyManifest, type ManifestEntry, provenUnchanged, serializeManifest } from "./mirror-manifest.js";
import {
  describeFailure,
  type MirrorRequest,
  type PlanLimits,
  type PlannedFile,
  planMirror,
} from "./mirror-plan.js";
import { DEFAULT_STATE_ROOT, legacyManifestKey, loadState, saveState, stateKeyFor } from "./mirror-state.js";
import type { FileSource, ObjectSink } from "./ports.js";
import type { CopyOptions } from "./transfer.js";

export { type DeleteRefusal, type DeleteRules, defaultMaxDelete } from "./mirror-delete.js";
export {
  DEFAULT_PLAN_LIMITS,
  keyFor,
  type MirrorRequest,
  type PlanLimits,
  type PlannedFile,
  planMirror,
  unsafeNameReason,
} from "./mirror-plan.js";
export {
  assertStateOutsidePrefix,
  DEFAULT_STATE_ROOT,
  stateKeyFor,
} from "./mirror-state.js";

export interface MirrorRun extends MirrorRequest {
  /**
   * Remove objects under the prefix whose source is gone (within the include/exclude scope), by
   * the rules of `deleteRules`.
   */
  deleteExtraneous: boolean;
  /** Default: no deletion under an empty listing, and the default cap (defaultMaxDelete). */
  deleteRules?: DeleteRules;
  /** Decide and report, write nothing. */
  dryRun: boolean;
  /**
   * Where the manifest lives, outside the prefix (the caller checks with assertStateOutsidePrefix).
   * Default: stateKeyFor(DEFAULT_STATE_ROOT, keyPrefix) in the same bucket.
   */
  state?: S3Location;
  /** Bounds on listing; defaults DEFAULT_PLAN_LIMITS. */
  limits?: Partial<Omit<PlanLimits, "signal">>;
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
  /** Entries that are not files to copy: directories without recursion, links, unsafe names. */
  skipped: number;
  copied: number;
  unchanged: number;
  /** Copies handed to the ingestion queue (fan-out). */
  enqueued: number;
  deleted: number;
  /** The deleted keys, the first LISTED_KEYS_BOUND of them (`deleted` counts them all). */
  deletedKeys: string[];
  /** Set when the run deleted nothing although objects lost their source: why, and what it would have deleted. */
  deleteRefused?: DeleteRefusal;
  /** Objects kept because a directory above them was not seen in full. */
  deleteHeld: number;
  /** Directories not seen in full (the listing failed, was cut short, or a bound stopped it): nothing below them was deleted. */
  listingFailures: { dir: string; code: string; message: string }[];
  failed: MirrorFailure[];
  bytes: number;
  durationMs: number;
  /** In a dry run: what a run would copy (or check against the object) and delete. */
  wouldCopy?: string[];
  wouldDelete?: string[];
}

export interface MirrorOptions {
  copy: Partial<CopyOptions>;
  /** FTP sessions at once, each reused from file to file (servers limit sessions per user). */
  concurrency: number;
  signal?: AbortSignal;
  /** Hands a copy to the ingestion queue instead of doing it here; without it everything is copied here. */
  enqueue?: (file: PlannedFile) => Promise<void>;
  /** Copies beyond these go to the queue from the start (only with `enqueue`). */
  inlineBudget?: { files: number; bytes: number };
  /** True once there is no time left to start a file here: the rest goes to the queue. */
  outOfTime?: () => boolean;
  /** After each deleted object, for the log: every deletion leaves a line. */
  onDelete?: (key: string) => void;
  /** After each file, for logs and metrics. */
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
 * Mirrors a directory into keys under a prefix: lists the source and the bucket, skips what the
 * manifest proves unchanged, copies the rest over `concurrency` FTP sessions (each file with the
 * commit gate, and "skip-unchanged" against the object's own metadata), queues what exceeds the
 * budget, deletes what has gone when asked and the rules allow it (mirror-delete.ts), and records
 * the new manifest at the state key (mirror-state.ts). Listing stops at the bounds and the signal.
 */
export async function runMirror(
  connect: () => Promise<FileSource>,
  sink: ObjectSink,
  bucket: string,
  request: MirrorRun,
  options: MirrorOptions,
): Promise<MirrorSummary & { skippedEntries: { path: string; reason: string }[] }> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const listingSource = await connect();
  let handedOver = false;
  try {
    const plan = await planMirror(listingSource, request, {
      ...request.limits,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const sourceUrl = listingSource.urlOf(request.remoteDir);
    const legacy = { bucket, key: legacyManifestKey(request.keyPrefix) };
    const [objects, state] = await Promise.all([
      // A mirror that stays in its directory has no business with the keys of subdirectories.
      sink.list(bucket, request.keyPrefix, { recursive: request.recursive }),
      loadState(
        sink,
        request.state ?? { bucket, key: stateKeyFor(DEFAULT_STATE_ROOT, request.keyPrefix) },
        legacy,
        sourceUrl,
      ),
    ]);
    const { manifest } = state;
    const listed = new Map(objects.map((o) => [o.key, o]));

    const unchanged = new Set(
      plan.files.filter((f) => provenUnchanged(f, manifest.entries[f.relativePath], listed.get(f.key))),
    );
    const candidates = plan.files.filter((f) => !unchanged.has(f));
    const deletion = decideDeletions(
      findExtraneous(objects, new Set(plan.files.map((f) => f.key)), request),
      {
        keyPrefix: request.keyPrefix,
        unlisted: plan.unlisted,
        empty: plan.empty,
        objectCount: objects.filter((o) => o.key !== legacy.key).length,
      },
      request.deleteRules ?? { allowEmptySource: false, maxDelete: undefined },
    );
    const summary: MirrorSummary = {
      remoteDir: request.remoteDir,
      listed: plan.listed,
      excluded: plan.excluded,
      skipped: plan.skipped.length,
      copied: 0,
      unchanged: unchanged.size,
      enqueued: 0,
      deleted: 0,
      deletedKeys: [],
      deleteHeld: request.deleteExtraneous ? deletion.held : 0,
      listingFailures: plan.unlisted.map((u) => ({ dir: u.path, code: u.code, message: u.message })),
      failed: plan.unlisted.map((u) => ({ path: u.path, code: u.code, message: u.message })),
      bytes: 0,
      durationMs: 0,
    };
    if (request.deleteExtraneous && deletion.refused) summary.deleteRefused = deletion.refused;
    if (request.dryRun) {
      summary.wouldCopy = candidates.map((f) => f.key);
      summary.wouldDelete = deletion.refused ? [] : deletion.keys;
      summary.durationMs = Math.round(now() - startedAt);
      return { ...summary, skippedEntries: plan.skipped };
    }

    const next = emptyManifest(sourceUrl);
    for (const f of unchanged)
      next.entries[f.relativePath] = manifest.entries[f.relativePath] as ManifestEntry;
    // A candidate whose object is listed at the same size is most likely a check (a HEAD), not a copy.
    const likelyChecks = new Set(candidates.filter((f) => listed.get(f.key)?.size === f.size));
    const budget = inlineBudgetOf(options);
    const { inline, later } = splitByBudget(candidates, likelyChecks, budget);
    handedOver = true;
    const overflow = await copyAll(
      connect,
      listingSource,
      sink,
      bucket,
      inline,
      listed,
      options,
      summary,
      next,
      { files: likelyChecks, budget },
    );
    await enqueueAll([...overflow, ...later], options, summary);
    // An interrupted run stops: it deletes nothing, though its plan is whole.
    if (request.deleteExtraneous && deletion.keys.length > 0 && !options.signal?.aborted) {
      await deleteAll(sink, bucket, deletion.keys, options, summary);
    }
    // Files committed before an interrupt are recorded too, so the rerun skips them.
    await saveState(sink, state, serializeManifest(next), options.copy.onWarning);
    summary.durationMs = Math.round(now() - startedAt);
    return { ...summary, skippedEntries: plan.skipped };
  } finally {
    if (!handedOver) listingSource.close();
  }
}

async function deleteAll(
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
