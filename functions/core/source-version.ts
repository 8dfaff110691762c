import type { S3Location } from "./locations.js";
import type { ExistingObject, RemoteFileInfo } from "./ports.js";
import type { UnchangedResult } from "./transfer.js";

/** Metadata keys written on every object; a copy that may skip an unchanged object reads them back. */
export const METADATA_SOURCE_URL = "source-url";
export const METADATA_SOURCE_SIZE = "source-size";
export const METADATA_SOURCE_MTIME = "source-mtime";

/** The metadata that records which version of which source an object holds. */
export function sourceMetadata(url: string, info: RemoteFileInfo): Record<string, string> {
  const metadata: Record<string, string> = { [METADATA_SOURCE_URL]: url };
  if (info.size !== null) metadata[METADATA_SOURCE_SIZE] = String(info.size);
  if (info.modifiedAt !== null) metadata[METADATA_SOURCE_MTIME] = info.modifiedAt.toISOString();
  return metadata;
}

/** The object was written by us from this source at this size and modification time. */
export function isSameVersion(existing: ExistingObject, url: string, info: RemoteFileInfo): boolean {
  if (info.size === null || info.modifiedAt === null) return false;
  const recorded = existing.metadata;
  return (
    recorded[METADATA_SOURCE_URL] === url &&
    recorded[METADATA_SOURCE_SIZE] === String(info.size) &&
    recorded[METADATA_SOURCE_MTIME] === info.modifiedAt.toISOString() &&
    existing.size === info.size
  );
}

/**
 * What differs between two looks at one file, or null: the size, or the modification time where both
 * looks gave one. Times compare to the second: MLSD's `modify` and MDTM may differ in fractions.
 * `after` null: the second look found no such file (a re-listing without it), which is a change too.
 */
export function describeChange(before: RemoteFileInfo, after: RemoteFileInfo | null): string | null {
  if (after === null) return `it was ${describeInfo(before)}, it is gone`;
  const sizeChanged = before.size !== null && after.size !== null && before.size !== after.size;
  const timeChanged =
    before.modifiedAt !== null &&
    after.modifiedAt !== null &&
    Math.floor(before.modifiedAt.getTime() / 1000) !== Math.floor(after.modifiedAt.getTime() / 1000);
  if (!sizeChanged && !timeChanged) return null;
  return `it was ${describeInfo(before)}, it is now ${describeInfo(after)}`;
}

function describeInfo(info: RemoteFileInfo): string {
  return `${info.size ?? "?"} bytes modified ${info.modifiedAt?.toISOString() ?? "?"}`;
}

/** The source version an object's metadata records, for a message. */
export function describeVersion(object: Pick<ExistingObject, "metadata"> | null): string {
  if (object === null) return "an object gone again";
  const m = object.metadata;
  return `${m[METADATA_SOURCE_URL] ?? "an unknown source"} (size ${m[METADATA_SOURCE_SIZE] ?? "?"}, modified ${m[METADATA_SOURCE_MTIME] ?? "?"})`;
}

/** The key holds this very version (isSameVersion): nothing to read or write. */
export function unchangedResult(
  target: S3Location,
  existing: ExistingObject,
  url: string,
  info: RemoteFileInfo,
  durationMs: number,
): UnchangedResult {
  return {
    status: "unchanged",
    bucket: target.bucket,
    key: target.key,
    bytes: existing.size,
    etag: existing.etag,
    durationMs,
    source: { url, size: info.size as number, modifiedAt: (info.modifiedAt as Date).toISOString() },
  };
}
