import type { MirrorOptions } from "./mirror.js";
import type { Manifest } from "./mirror-manifest.js";
import { describeFailure, keyFor, type MirrorPlan, type PlannedFile } from "./mirror-plan.js";
import { type MirrorState, saveState } from "./mirror-state.js";
import type { FileSource, ListedObject, ObjectSink } from "./ports.js";
import { type AfterCopy, settleSourceAction } from "./source-action.js";

/**
 * afterCopy in a mirror, journaled in the manifest. A copied file's entry is marked "pending"; once
 * the copies are done the manifest is written (the journal), the actions run over one more FTP
 * session, and the manifest is written again with each done action marked "done". So:
 * - a run that stops between the journal and the actions (a crash, a failed DELE) leaves the entries
 *   pending: the next run finds the file listed unchanged (no RETR) and runs the action;
 * - a run that stops between a commit and the journal leaves no entry: the next run's HEAD finds
 *   the object holding this very version ("unchanged", nothing read) and marks it pending again;
 * - a pending entry whose file is no longer listed (its directory listed in full) was taken away
 *   already, by a run whose last manifest write did not happen: it is done. The listing tells it,
 *   not the text of a 550 (which reads the same for "no such file" and "permission denied").
 * An entry marked either way keeps its object from being extraneous while the object is listed with
 * the ETag it records: a source taken away by ftp2s3 never makes `--delete` delete the object.
 */

/** Objects whose source ftp2s3 took away (or is about to): never extraneous. */
export function takenAwayKeys(
  manifest: Manifest,
  plan: Pick<MirrorPlan, "files">,
  listed: Map<string, ListedObject>,
  keyPrefix: string,
): string[] {
  // Looked at entry by entry, without a copy of the manifest: most mirrors have no marked entry.
  let planned: Set<string> | undefined;
  const keys: string[] = [];
  for (const relativePath in manifest.entries) {
    const entry = manifest.entries[relativePath];
    if (entry?.afterCopy === undefined) continue;
    planned ??= new Set(plan.files.map((f) => f.relativePath));
    if (planned.has(relativePath)) continue;
    const key = keyFor(keyPrefix, relativePath);
    if (listed.get(key)?.etag === entry.etag) keys.push(key);
  }
  return keys;
}

/**
 * The previous run's marked entries of files no longer listed, into the next manifest: done, or
 * still pending where their directory was not seen in full (the file may be there yet).
 */
export function carryTakenAway(
  previous: Manifest,
  next: Manifest,
  plan: Pick<MirrorPlan, "files" | "unlisted">,
  listed: Map<string, ListedObject>,
  keyPrefix: string,
): void {
  for (const key of takenAwayKeys(previous, plan, listed, keyPrefix)) {
    const relativePath = key.slice(keyPrefix.length);
    const entry = previous.entries[relativePath];
    if (entry === undefined) continue;
    const unseen = plan.unlisted.some((u) => u.relative === "" || relativePath.startsWith(`${u.relative}/`));
    next.entries[relativePath] = { ...entry, afterCopy: unseen ? entry.afterCopy : "done" };
  }
}

/** Everything the action step needs once the copies are done. */
export interface SourceActionWork {
  connect: () => Promise<FileSource>;
  sink: ObjectSink;
  afterCopy: Exclude<AfterCopy, "keep">;
  /** The files listed this run, by relative path: only these are acted on. */
  files: PlannedFile[];
  state: MirrorState;
  /** The next manifest, its copied entries marked pending. */
  manifest: Manifest;
  serialize: (manifest: Manifest) => string;
  options: MirrorOptions;
  /** The run's summary's counts, added to. */
  counts: SourceActionCounts;
}

/** What a run's source actions came to: done, and failed (warnings, retried next run). */
export interface SourceActionCounts {
  done: number;
  failed: { path: string; code: string; message: string }[];
}

/**
 * Writes the journal, then takes away each pending file that is listed, one after another on one
 * session. A journal that cannot be written stops here: nothing is taken away that the manifest does
 * not vouch for (the next run finds the objects by HEAD and tries again).
 */
export async function runSourceActions(work: SourceActionWork): Promise<void> {
  const { manifest, options, counts } = work;
  const pending = work.files.filter((f) => manifest.entries[f.relativePath]?.afterCopy === "pending");
  if (pending.length === 0 || options.signal?.aborted) return;
  const warn = options.copy.onWarning;
  if (!(await saveState(work.sink, work.state, work.serialize(manifest), warn))) return;
  let source: FileSource;
  try {
    source = await work.connect();
  } catch (error) {
    const failure = describeFailure(error);
    warn?.("could not open a session for the source actions: they are retried on the next run", failure);
    for (const file of pending) counts.failed.push({ path: file.path, ...failure });
    return;
  }
  try {
    const now = new Date();
    for (const file of pending) {
      if (options.signal?.aborted) break;
      const report = await settleSourceAction(
        source,
        file.path,
        work.afterCopy,
        now,
        warn,
        file.relativePath,
      );
      if (report.action === "failed") {
        counts.failed.push({ path: file.path, code: report.code, message: report.message });
        continue;
      }
      counts.done += 1;
      const entry = manifest.entries[file.relativePath];
      if (entry !== undefined) entry.afterCopy = "done";
    }
  } finally {
    source.close();
  }
}
