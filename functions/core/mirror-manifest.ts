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
  return { source, entries: {} };
}

/**
 * The manifest as stored, format 2: each entry an array, `[size, version, etag]` (and the afterCopy
 * mark when set), the version as epoch milliseconds where it is an ISO time (as MLSD gives): about
 * 75 bytes a file against format 1's 115 (objects with named fields), measured by
 * bench/mirror-scale.ts. Format 1 is still read; the first run that writes turns it into format 2.
 */
const FORMAT = 2;

type StoredEntry = [number, number | string, string] | [number, number | string, string, "pending" | "done"];

/** The manifest read from S3; anything unreadable or about another source counts as none. */
export function parseManifest(text: string | null, source: string): Manifest {
  if (text === null) return emptyManifest(source);
  try {
    const parsed = JSON.parse(text) as {
      format?: unknown;
      source?: unknown;
      entries?: unknown;
      waiting?: unknown;
    };
    if (
      (parsed.format !== 1 && parsed.format !== FORMAT) ||
      parsed.source !== source ||
      typeof parsed.entries !== "object" ||
      !parsed.entries
    ) {
      return emptyManifest(source);
    }
    const entries =
      parsed.format === FORMAT
        ? decodedEntries(parsed.entries as Record<string, unknown>)
        : (parsed.entries as Record<string, ManifestEntry>);
    const waiting = wellFormedObservations(parsed.waiting);
    return { source, entries, ...(waiting === undefined ? {} : { waiting }) };
  } catch {
    return emptyManifest(source);
  }
}

/**
 * Format 2's entries as the run uses them. An entry that does not read as one a run wrote is dropped:
 * its file is checked against its object (a HEAD), never trusted on a guess.
 */
function decodedEntries(stored: Record<string, unknown>): Record<string, ManifestEntry> {
  // In place: a second record of a million keys would double the heap the state takes while read.
  for (const path in stored) {
    const entry = decodedEntry(stored[path]);
    if (entry === undefined) delete stored[path];
    else stored[path] = entry;
  }
  return stored as Record<string, ManifestEntry>;
}

function decodedEntry(value: unknown): ManifestEntry | undefined {
  if (!Array.isArray(value) || value.length < 3 || value.length > 4) return undefined;
  const [size, version, etag, afterCopy] = value as unknown[];
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0 || typeof etag !== "string")
    return undefined;
  let token: string;
  if (typeof version === "string") token = version;
  else if (typeof version === "number" && Number.isSafeInteger(version)) {
    const time = new Date(version);
    if (Number.isNaN(time.getTime())) return undefined;
    token = time.toISOString();
  } else return undefined;
  if (afterCopy === undefined) return { size, version: token, etag };
  if (afterCopy !== "pending" && afterCopy !== "done") return undefined;
  return { size, version: token, etag, afterCopy };
}

/** The compact form of an entry: an ISO time that reads back to the very same text goes as a number. */
function storedEntry({ size, version, etag, afterCopy }: ManifestEntry): StoredEntry {
  const time = Date.parse(version);
  const compact = Number.isNaN(time) || new Date(time).toISOString() !== version ? version : time;
  return afterCopy === undefined ? [size, compact, etag] : [size, compact, etag, afterCopy];
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

/**
 * The manifest as stored: entries in key order, so an unchanged manifest serialises to the same text.
 * Written a slice of entries at a time rather than as one sorted copy of the whole record: at a
 * million entries that copy and its arrays cost about 460 MiB of heap (bench/mirror-scale.ts).
 */
export function serializeManifest(manifest: Manifest): string {
  const { entries } = manifest;
  const paths = Object.keys(entries).sort();
  const slices: string[] = [];
  for (let at = 0; at < paths.length; at += SERIALIZED_SLICE) {
    const slice = paths.slice(at, at + SERIALIZED_SLICE).map((path) => {
      const entry = JSON.stringify(storedEntry(entries[path] as ManifestEntry));
      return `${JSON.stringify(path)}:${entry}`;
    });
    slices.push(slice.join(","));
  }
  const waiting =
    manifest.waiting === undefined ? "" : `,"waiting":${JSON.stringify(sortedByKey(manifest.waiting))}`;
  return `{"format":${FORMAT},"source":${JSON.stringify(manifest.source)},"entries":{${slices.join(",")}}${waiting}}`;
}

/** Entries serialised per slice: small enough that a slice's pieces are short-lived. */
const SERIALIZED_SLICE = 10_000;

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
