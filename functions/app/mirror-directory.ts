import {
  type AfterCopy,
  assertStateOutsidePrefix,
  type CopyOptions,
  type DeleteRules,
  type FileSource,
  type MirrorOptions,
  type MirrorRun,
  type MirrorSummary,
  msOfSeconds,
  type ObjectSink,
  type ReadinessRules,
  type RemotePath,
  runMirror,
  type S3Location,
  stateKeyFor,
} from "../core/index.js";

export interface MirrorDirectorySettings {
  bucket: string;
  /** The directory on the server, already inside what the caller may read. */
  remoteDir: RemotePath;
  /** Prefix of every key written ("" or ending in "/"). */
  keyPrefix: string;
  /**
   * Where the manifest lives: the object the caller named, or the prefix's own below a state root.
   * Either way it must lie outside the prefix.
   */
  state: { root: string } | { object: S3Location };
  include: string[];
  exclude: string[];
  recursive: boolean;
  deleteExtraneous: boolean;
  deleteRules: DeleteRules;
  dryRun: boolean;
  /** When a listed file may be taken (minAge, stableFor, doneMarker), in milliseconds; {}: at once. */
  readiness: ReadinessRules;
  /** Listing bounds; undefined: the defaults. */
  limits: { maxDepth?: number | undefined; maxEntries?: number | undefined };
  /** How each file is copied (the warnings go to the observer). */
  copy: Partial<Omit<CopyOptions, "onWarning" | "onProgress" | "suspendSignal">>;
  /** FTP sessions at once. */
  concurrency: number;
  signal?: AbortSignal | undefined;
  /** What becomes of each source file once its object is committed (checked with checkAfterCopy); default "keep". */
  afterCopy?: AfterCopy;
}

/** A mirror whose settings were checked and whose manifest has its place: ready to run. */
export interface ResolvedMirror extends MirrorDirectorySettings {
  stateObject: S3Location;
}

/** What a mirror says while it runs: the Lambda logs and counts it, the CLI prints it. */
export interface MirrorObserver {
  onFile: NonNullable<MirrorOptions["onFile"]>;
  onDelete: NonNullable<MirrorOptions["onDelete"]>;
  /** Problems that do not fail a file: an abort S3 refused, a tag not written. */
  onWarning: (message: string, details: Record<string, unknown>) => void;
}

export interface MirrorPorts {
  /** Opens one FTP session; the mirror opens up to `concurrency` of them. */
  openSource: () => Promise<FileSource>;
  sink: ObjectSink;
  /** Where an ingestion queue exists: the files beyond the inline budget, or the time, go to it. */
  fanOut?: Required<Pick<MirrorOptions, "enqueue" | "inlineBudget" | "outOfTime">>;
  observer: MirrorObserver;
}

/** The readiness options as a job or the command writes them (seconds), as the core counts them. */
export function readinessOf(options: {
  minAge?: number | undefined;
  stableFor?: number | undefined;
  doneMarker?: string | undefined;
}): ReadinessRules {
  const { minAge, stableFor, doneMarker } = options;
  return {
    ...(minAge === undefined ? {} : { minAgeMs: msOfSeconds(minAge) }),
    ...(stableFor === undefined ? {} : { stableForMs: msOfSeconds(stableFor) }),
    ...(doneMarker === undefined ? {} : { doneMarker }),
  };
}

/**
 * Resolves the manifest's place and refuses one inside the prefix (a run would mirror its own state,
 * or delete it). Contacts nobody: front doors call it before anything else.
 */
export function resolveMirror(settings: MirrorDirectorySettings): ResolvedMirror {
  const { bucket, keyPrefix, state } = settings;
  const stateObject = "root" in state ? { bucket, key: stateKeyFor(state.root, keyPrefix) } : state.object;
  assertStateOutsidePrefix(stateObject, bucket, keyPrefix, "root" in state ? state.root : undefined);
  return { ...settings, stateObject };
}

/**
 * Mirrors a directory into keys below a prefix (the core's runMirror), copying here or fanning out
 * to the queue, and says each file and deletion through the observer.
 */
export async function mirrorDirectory(
  mirror: ResolvedMirror,
  ports: MirrorPorts,
): Promise<MirrorSummary & { skippedEntries: { path: string; reason: string }[] }> {
  const { maxDepth, maxEntries } = mirror.limits;
  const run: MirrorRun = {
    remoteDir: mirror.remoteDir,
    keyPrefix: mirror.keyPrefix,
    include: mirror.include,
    exclude: mirror.exclude,
    recursive: mirror.recursive,
    readiness: mirror.readiness,
    deleteExtraneous: mirror.deleteExtraneous,
    deleteRules: mirror.deleteRules,
    dryRun: mirror.dryRun,
    state: mirror.stateObject,
    ...(mirror.afterCopy === undefined ? {} : { afterCopy: mirror.afterCopy }),
    limits: {
      ...(maxDepth === undefined ? {} : { maxDepth }),
      ...(maxEntries === undefined ? {} : { maxEntries }),
    },
  };
  return runMirror(ports.openSource, ports.sink, mirror.bucket, run, {
    copy: { ...mirror.copy, onWarning: ports.observer.onWarning },
    concurrency: mirror.concurrency,
    ...(mirror.signal === undefined ? {} : { signal: mirror.signal }),
    ...ports.fanOut,
    onDelete: ports.observer.onDelete,
    onFile: ports.observer.onFile,
  });
}
