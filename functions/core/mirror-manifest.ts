import type { Observation } from "./mirror-readiness.js";
import type { ListedObject, RemoteEntry } from "./ports.js";

/**
 * What a mirror remembers between runs, in one object beside the mirrored keys. A bucket listing
 * (ListObjectsV2, a thousand keys a request) carries each object's size and ETag but no metadata, so
 * the manifest adds what the listing cannot: the source version each object was copied from. A
 * rerun over an unchanged tree then sends no RETR and no HEAD, only list requests.
 *
 * The manifest is trusted only where the bucket agrees: an entry counts when the object is listed
 * with the ETag the manifest recorded. An object replaced by anyone else (another run, a person)
 * has another ETag, so a stale manifest can cost a check, never a missed copy.
 */
export const MANIFEST_NAME = ".ftp2s3-manifest.json";

export interface ManifestEntry {
  size: number;
  /** The source's modification time (ISO), or its listing date as written where the server gives no other. */
  version: string;
  /** ETag of the object this version was copied to. */
  etag: string;
  /**
   * afterCopy's journal: "pending" once the object is committed and before the source action ran,
   * "done" once the source file was taken away. An entry marked either way stays while its object is
   * listed with this ETag, so the object is never extraneous (mirror-source-actions.ts).
   */
  afterCopy?: "pending" | "done";
}

export interface Manifest {
  format: 1;
  /** The mirrored directory's URL; a manifest of another source is ignored. */
  source: string;
  entries: Record<string, ManifestEntry>;
  /**
   * For stableFor (and minAge where the server gives no time): what the last run saw of the files it
   * left waiting (only those, so the manifest holds no more than the listing). Absent when none waits.
   */
  waiting?: Record<string, Observation>;
}

export function emptyManifest(source: string): Manifest {
  return { format: 1, source, entries: {} };
}

/** The manifest read from S3; anything unreadable or about another source counts as none. */
export function parseManifest(text: string | null, source: string): Manifest {
  if (text === null) return emptyManifest(source);
  try {
    const parsed = JSON.parse(text) as Partial<Manifest>;
    if (
      parsed.format !== 1 ||
      parsed.source !== source ||
      typeof parsed.entries !== "object" ||
      !parsed.entries
    ) {
      return emptyManifest(source);
    }
    const waiting = wellFormedObservations(parsed.waiting);
    return { format: 1, source, entries: parsed.entries, ...(waiting === undefined ? {} : { waiting }) };
  } catch {
    return emptyManifest(source);
  }
}

/**
 * The sightings that read as what a run wrote. An observation releases a file once old enough, so one
 * that is not (a `since` that is no date, a size that is no count) is dropped: its file is seen anew
 * and waits its time again, never taken early.
 */
function wellFormedObservations(value: unknown): Record<string, Observation> | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const kept: Record<string, Observation> = {};
  for (const [path, seen] of Object.entries(value as Record<string, unknown>)) {
    if (isObservation(seen)) kept[path] = { size: seen.size, version: seen.version, since: seen.since };
  }
  return Object.keys(kept).length > 0 ? kept : undefined;
}

function isObservation(value: unknown): value is Observation {
  if (typeof value !== "object" || value === null) return false;
  const { size, version, since } = value as Record<string, unknown>;
  const count = size === null || (typeof size === "number" && Number.isSafeInteger(size) && size >= 0);
  return (
    count &&
    (version === null || typeof version === "string") &&
    typeof since === "string" &&
    Number.isFinite(Date.parse(since))
  );
}

/** The manifest as stored: entries in key order, so an unchanged manifest serialises to the same text. */
export function serializeManifest(manifest: Manifest): string {
  const waiting = manifest.waiting === undefined ? {} : { waiting: sortedByKey(manifest.waiting) };
  return JSON.stringify({ ...manifest, entries: sortedByKey(manifest.entries), ...waiting });
}

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The version token of a listed file, or null when the server tells nothing that changes with it. */
export function versionOf(entry: Pick<RemoteEntry, "modifiedAt" | "modifiedRaw">): string | null {
  return entry.modifiedAt?.toISOString() ?? entry.modifiedRaw ?? null;
}

/** Unchanged without a request: same size and version as recorded, and the object still the one recorded. */
export function provenUnchanged(
  file: { size: number | null; version: string | null },
  recorded: ManifestEntry | undefined,
  listed: ListedObject | undefined,
): boolean {
  if (recorded === undefined || listed === undefined || file.size === null || file.version === null)
    return false;
  return (
    recorded.size === file.size &&
    recorded.version === file.version &&
    listed.etag === recorded.etag &&
    listed.size === file.size
  );
}
