import { createHash } from "node:crypto";
import { InvalidInputError } from "./errors.js";
import type { S3Location } from "./locations.js";
import {
  emptyManifest,
  MANIFEST_NAME,
  type Manifest,
  parseManifest,
  serializeManifest,
} from "./mirror-manifest.js";
import type { ObjectSink } from "./ports.js";

/**
 * Where a mirror keeps its manifest: outside the mirrored prefix, so the prefix holds exactly the
 * mirrored files (consumers listing it, or triggered by S3 events on it, see nothing else). Before
 * this, the manifest sat at `<prefix>.ftp2s3-manifest.json`; a run that finds only that one reads
 * it (no upgrade recopies a tree), writes it at its new place, then deletes that one key.
 */

/** The CLI's state root; keys below it are per prefix. */
export const DEFAULT_STATE_ROOT = ".ftp2s3-state/";

/** The manifest key of a mirror into `keyPrefix`, below a state root ("" or ending in "/"). */
export function stateKeyFor(stateRoot: string, keyPrefix: string): string {
  return `${stateRoot}${keyPrefix}manifest.json`;
}

/**
 * Refuses a state object that the mirror itself would list (and could delete or overwrite), and a
 * prefix inside the state root (whose mirror could delete other mirrors' state).
 */
export function assertStateOutsidePrefix(
  state: S3Location,
  bucket: string,
  keyPrefix: string,
  stateRoot?: string,
): void {
  if (state.bucket === bucket && state.key.startsWith(keyPrefix)) {
    throw new InvalidInputError(
      `the mirror state s3://${state.bucket}/${state.key} lies inside the mirrored prefix s3://${bucket}/${keyPrefix}: choose a state key outside it${keyPrefix === "" ? " (a mirror into the whole bucket keeps its state in another bucket)" : ""}`,
    );
  }
  if (stateRoot !== undefined && stateRoot !== "" && keyPrefix.startsWith(stateRoot)) {
    throw new InvalidInputError(
      `the prefix s3://${bucket}/${keyPrefix} lies inside the mirror state prefix ${stateRoot}: choose another prefix`,
    );
  }
}

export interface MirrorState {
  target: S3Location;
  /**
   * A digest of what is stored at the target now (null: nothing), so an unchanged manifest is not
   * written again. A digest, not the text: at a million files the text is about 75 MB, held for the
   * whole run for one comparison.
   */
  stored: string | null;
  /** The pre-move manifest this state was read from, deleted once the state is written at its place. */
  legacy: S3Location | undefined;
  manifest: Manifest;
}

/** Reads the manifest at its place, else at its old place beside the mirrored keys. */
export async function loadState(
  sink: ObjectSink,
  target: S3Location,
  legacy: S3Location,
  source: string,
): Promise<MirrorState> {
  const stored = await sink.readText(target);
  if (stored !== null) {
    return { target, stored: digestOf(stored), legacy: undefined, manifest: parseManifest(stored, source) };
  }
  const old = await sink.readText(legacy);
  if (old === null) return { target, stored, legacy: undefined, manifest: emptyManifest(source) };
  return { target, stored, legacy, manifest: parseManifest(old, source) };
}

/** For telling an unchanged manifest from a changed one, ours both: not a security boundary. */
function digestOf(text: string): string {
  return createHash("sha1").update(text).digest("base64");
}

/** The old manifest's key for a prefix. */
export function legacyManifestKey(keyPrefix: string): string {
  return keyPrefix + MANIFEST_NAME;
}

/**
 * Writes the manifest when it changed (or moves), then removes the old one: only that exact key,
 * and only once the new one is stored. True when the text is stored (afterCopy's journal needs to
 * know); the state then holds it, so a second save in the same run writes only what changed again.
 */
export async function saveState(
  sink: ObjectSink,
  state: MirrorState,
  text: string,
  warn: ((message: string, details: Record<string, unknown>) => void) | undefined,
): Promise<boolean> {
  try {
    const digest = digestOf(text);
    if (digest !== state.stored) await sink.writeText(state.target, text);
    state.stored = digest;
  } catch (error) {
    // The copies stand; without a manifest the next run checks each file against its object instead.
    warn?.("could not write the mirror manifest", { key: state.target.key, reason: messageOf(error) });
    return false;
  }
  const legacy = state.legacy;
  state.legacy = undefined;
  if (legacy === undefined) return true;
  const refused = await sink
    .delete(legacy.bucket, [legacy.key])
    .catch((error: unknown) => [{ key: legacy.key, message: messageOf(error) }]);
  for (const r of refused) {
    warn?.("could not delete the old mirror manifest (moved to the state key)", {
      key: r.key,
      reason: r.message,
    });
  }
  return true;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A file as the state records it (what a run that copied it, or found it unchanged, remembers). */
export interface RecordedFile {
  relativePath: string;
  size: number;
  version: string;
  etag: string;
}

/** The state objects that record these files, as a run writes them (bench/mirror-scale.ts seeds with it). */
export function encodeMirrorState(
  target: S3Location,
  source: string,
  files: RecordedFile[],
): [S3Location, string][] {
  const manifest = emptyManifest(source);
  for (const { relativePath, size, version, etag } of files) {
    manifest.entries[relativePath] = { size, version, etag };
  }
  return [[target, serializeManifest(manifest)]];
}

/** The state as a run reads it (bench/mirror-scale.ts measures it). */
export async function readMirrorState(
  sink: ObjectSink,
  target: S3Location,
  source: string,
): Promise<Manifest> {
  return (await loadState(sink, target, { bucket: target.bucket, key: "" }, source)).manifest;
}
