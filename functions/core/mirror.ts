import type { S3Location } from "./locations.js";
import { inlineBudgetOf, splitByBudget } from "./mirror-budget.js";
import { type BusyRetryRules, connectThroughBusy, DEFAULT_BUSY_RETRY } from "./mirror-busy.js";
import { copyAll, enqueueAll } from "./mirror-copy.js";
import {
  type DeleteRefusal,
  type DeleteRules,
  decideDeletions,
  deleteAll,
  findExtraneous,
} from "./mirror-delete.js";
import { emptyManifest, type ManifestEntry, provenUnchanged, serializeManifest } from "./mirror-manifest.js";
import {
  type MirrorPlan,
  type MirrorRequest,
  type PlanLimits,
  type PlannedFile,
  unreadableNameCode,
} from "./mirror-plan.js";
import { holdBack, type Observation, type Waiting } from "./mirror-readiness.js";
import {
  carryTakenAway,
  runSourceActions,
  type SourceActionCounts,
  takenAwayKeys,
} from "./mirror-source-actions.js";
import {
  DEFAULT_STATE_ROOT,
  legacyManifestKey,
  loadState,
  type MirrorState,
  saveState,
  stateKeyFor,
} from "./mirror-state.js";
import { planMirror } from "./mirror-walk.js";
import type { FileSource, ListedObject, ObjectSink } from "./ports.js";
import type { AfterCopy } from "./source-action.js";
import type { CopyOptions } from "./transfer.js";

export { type BusyRetryRules, DEFAULT_BUSY_RETRY } from "./mirror-busy.js";
export { type DeleteRefusal, type DeleteRules, defaultMaxDelete } from "./mirror-delete.js";
export {
  DEFAULT_PLAN_LIMITS,
  keyFor,
  type MirrorRequest,
  type PlanLimits,
  type PlannedFile,
  unreadableNameCode,
  unsafeNameReason,
} from "./mirror-plan.js";
export {
  doneMarkerProblem,
  type ReadinessRules,
  type Waiting,
} from "./mirror-readiness.js";
export {
  assertStateOutsidePrefix,
  DEFAULT_STATE_ROOT,
  encodeMirrorState,
  type RecordedFile,
  readMirrorState,
  stateKeyFor,
} from "./mirror-state.js";
export { planMirror } from "./mirror-walk.js";

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
  /** What becomes of each source file once its object is committed (mirror-source-actions.ts); default "keep". */
  afterCopy?: AfterCopy;
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
  /**
   * Entries that are not files to copy: directories without recursion, links, unsafe names, names not
   * valid in the server's encoding (those are in `failed` too, as UNREADABLE_NAME).
   */
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
  /**
   * Files that changed while they were copied (SOURCE_CHANGED: still being written): nothing stored,
   * not recorded in the manifest, so the next run copies them. Not failures of the run.
   */
  changed: { path: string; message: string }[];
  /**
   * Set when the FTP server refused sessions as busy (FTP_BUSY: at its session limit): the pool went
   * on with fewer, `from` sessions planned, `to` left, and the last refusal. Absent when none was.
   */
  poolShrunk?: { from: number; to: number; reason: string };
  /** Files not taken this run because they may still be written (minAge, stableFor, doneMarker), with why; absent when none. */
  waiting?: Waiting[];
  bytes: number;
  durationMs: number;
  /** With afterCopy other than "keep": source files taken away, and actions that failed (retried next run). */
  afterCopy?: SourceActionCounts;
  /** In a dry run: what a run would copy (or check against the object) and delete. */
  wouldCopy?: string[];
  wouldDelete?: string[];
}

export interface MirrorOptions {
  copy: Partial<CopyOptions>;
  /** FTP sessions at once, each reused from file to file (servers limit sessions per user). */
  concurrency: number;
  signal?: AbortSignal;
  /** How a file whose session the server refused as busy is retried; default DEFAULT_BUSY_RETRY. */
  busyRetry?: BusyRetryRules;
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
    outcome: "copied" | "unchanged" | "changed" | "failed";
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
  const listingSource = await connectThroughBusy(
    connect,
    options.busyRetry ?? DEFAULT_BUSY_RETRY,
    options.signal,
    options.copy.onWarning ?? (() => {}),
  );
  let handedOver = false;
  try {
    const plan = await planMirror(listingSource, request, {
      ...request.limits,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    for (const { path, message } of plan.unreadable)
      options.copy.onWarning?.(`${path}: ${message}`, { path });
    const sourceUrl = listingSource.urlOf(request.remoteDir);
    const bucketSide = await surveyBucket(sink, bucket, request, sourceUrl);
    const decision = decide(plan, bucketSide, request);
    await holdBackUnready(listingSource, decision, plan, bucketSide, request, now(), options.signal);
    const summary = startSummary(request, plan, decision);
    if (request.dryRun) {
      summary.wouldCopy = decision.candidates.map((f) => f.key);
      summary.wouldDelete = decision.deletion.refused ? [] : decision.deletion.keys;
    } else {
      handedOver = true;
      const job = { connect, firstSource: listingSource, sink, bucket, request, options, summary };
      await carryOut(job, bucketSide, decision, sourceUrl, plan);
    }
    summary.durationMs = Math.round(now() - startedAt);
    return { ...summary, skippedEntries: plan.skipped };
  } finally {
    if (!handedOver) listingSource.close();
  }
}

/** What the bucket holds under the prefix, and the mirror's state (its last manifest). */
interface BucketSide {
  objects: ListedObject[];
  listed: Map<string, ListedObject>;
  state: MirrorState;
  /** Where the manifest was kept before it moved out of the prefix. */
  legacyKey: string;
}

async function surveyBucket(
  sink: ObjectSink,
  bucket: string,
  request: MirrorRun,
  sourceUrl: string,
): Promise<BucketSide> {
  const legacyKey = legacyManifestKey(request.keyPrefix);
  const [objects, state] = await Promise.all([
    // A mirror that stays in its directory has no business with the keys of subdirectories.
    sink.list(bucket, request.keyPrefix, { recursive: request.recursive }),
    loadState(
      sink,
      request.state ?? { bucket, key: stateKeyFor(DEFAULT_STATE_ROOT, request.keyPrefix) },
      { bucket, key: legacyKey },
      sourceUrl,
    ),
  ]);
  return { objects, listed: new Map(objects.map((o) => [o.key, o])), state, legacyKey };
}

/** What the run does with each planned file and each object: skip, copy (or check), delete. */
interface Decision {
  unchanged: PlannedFile[];
  candidates: PlannedFile[];
  deletion: ReturnType<typeof decideDeletions>;
  /** Candidates held back by the readiness rules: they keep their objects, and are copied on a later run. */
  waiting: Waiting[];
  /** What the next manifest remembers of them (stableFor). */
  observed: Record<string, Observation>;
}

function decide(plan: MirrorPlan, bucketSide: BucketSide, request: MirrorRun): Decision {
  const { objects, listed, state, legacyKey } = bucketSide;
  const entries = state.manifest.entries;
  const unchanged: PlannedFile[] = [];
  const candidates: PlannedFile[] = [];
  // Objects whose source ftp2s3 took away count as planned: never extraneous.
  const kept = new Set(takenAwayKeys(state.manifest, plan, listed, request.keyPrefix));
  for (const f of plan.files) {
    kept.add(f.key);
    if (provenUnchanged(f, entries[f.relativePath], listed.get(f.key))) unchanged.push(f);
    else candidates.push(f);
  }
  const deletion = decideDeletions(
    findExtraneous(objects, kept, request),
    {
      keyPrefix: request.keyPrefix,
      unlisted: plan.unlisted,
      empty: plan.empty,
      objectCount: objects.length - (listed.has(legacyKey) ? 1 : 0),
    },
    request.deleteRules ?? { allowEmptySource: false, maxDelete: undefined },
  );
  return { unchanged, candidates, deletion, waiting: [], observed: {} };
}

/**
 * Takes out of the candidates the files the readiness rules hold back. Only candidates: a file the
 * manifest proves unchanged has nothing new to wait for. Waiting files stay in the plan, so their
 * objects are never extraneous.
 */
async function holdBackUnready(
  source: FileSource,
  decision: Decision,
  plan: MirrorPlan,
  { state }: BucketSide,
  { readiness }: MirrorRun,
  now: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (readiness === undefined) return;
  const previous = state.manifest.waiting ?? {};
  const sorted = await holdBack(source, decision.candidates, plan.markers, readiness, now, previous, signal);
  Object.assign(decision, { candidates: sorted.ready, waiting: sorted.waiting, observed: sorted.observed });
}

function startSummary(request: MirrorRun, plan: MirrorPlan, decision: Decision): MirrorSummary {
  const { deletion } = decision;
  return {
    remoteDir: request.remoteDir,
    listed: plan.listed,
    excluded: plan.excluded,
    skipped: plan.skipped.length,
    copied: 0,
    unchanged: decision.unchanged.length,
    enqueued: 0,
    deleted: 0,
    deletedKeys: [],
    deleteHeld: request.deleteExtraneous ? deletion.held : 0,
    listingFailures: plan.unlisted.map((u) => ({ dir: u.path, code: u.code, message: u.message })),
    failed: [
      ...plan.unlisted.map((u) => ({ path: u.path, code: u.code, message: u.message })),
      ...plan.unreadable.map((u) => ({ path: u.path, code: unreadableNameCode, message: u.message })),
    ],
    changed: [],
    ...(decision.waiting.length > 0 ? { waiting: decision.waiting } : {}),
    bytes: 0,
    durationMs: 0,
    ...(request.deleteExtraneous && deletion.refused ? { deleteRefused: deletion.refused } : {}),
    ...(takesAway(request) ? { afterCopy: { done: 0, failed: [] } } : {}),
  };
}

function takesAway(request: MirrorRun): boolean {
  return request.afterCopy !== undefined && request.afterCopy !== "keep";
}

/** Everything a run that writes needs, once the plan is made. */
interface MirrorWork {
  connect: () => Promise<FileSource>;
  firstSource: FileSource;
  sink: ObjectSink;
  bucket: string;
  request: MirrorRun;
  options: MirrorOptions;
  summary: MirrorSummary;
}

/** Copies here what the budget allows, queues the rest, deletes what the rules allow, saves the manifest. */
async function carryOut(
  work: MirrorWork,
  bucketSide: BucketSide,
  decision: Decision,
  sourceUrl: string,
  plan: MirrorPlan,
): Promise<void> {
  const { sink, bucket, request, options, summary } = work;
  const { manifest } = bucketSide.state;
  const next = emptyManifest(sourceUrl);
  if (Object.keys(decision.observed).length > 0) next.waiting = decision.observed;
  for (const f of decision.unchanged) {
    next.entries[f.relativePath] = manifest.entries[f.relativePath] as ManifestEntry;
  }
  const { candidates, deletion } = decision;
  const { listed } = bucketSide;
  // A candidate whose object is listed at the same size is most likely a check (a HEAD), not a copy.
  const likelyChecks = new Set(candidates.filter((f) => listed.get(f.key)?.size === f.size));
  const budget = inlineBudgetOf(options);
  const { inline, later } = splitByBudget(candidates, likelyChecks, budget);
  const overflow = await copyAll({
    ...work,
    files: inline,
    listed,
    listingSizes: plan.listingSizes,
    manifest: next,
    checks: { files: likelyChecks, budget },
    journalsSourceAction: takesAway(request),
  });
  await enqueueAll([...overflow, ...later], options, summary);
  // An interrupted run stops: it deletes nothing, though its plan is whole.
  if (request.deleteExtraneous && deletion.keys.length > 0 && !options.signal?.aborted) {
    await deleteAll(sink, bucket, deletion.keys, options, summary);
  }
  // Whatever this run's afterCopy: a job set back to "keep" still never deletes what an earlier run took away.
  carryTakenAway(manifest, next, plan, listed, request.keyPrefix);
  const { afterCopy } = request;
  if (afterCopy !== undefined && afterCopy !== "keep" && summary.afterCopy !== undefined) {
    await runSourceActions({
      ...work,
      afterCopy,
      files: plan.files,
      state: bucketSide.state,
      manifest: next,
      serialize: serializeManifest,
      counts: summary.afterCopy,
    });
  }
  // Files committed before an interrupt are recorded too, so the rerun skips them.
  await saveState(sink, bucketSide.state, serializeManifest(next), options.copy.onWarning);
}
