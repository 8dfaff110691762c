import { FileCopy } from "./file-copy.js";
import { landingAt } from "./object-landing.js";
import type { FileSource, ObjectSink, RemoteFileInfo } from "./ports.js";
import { type CopyOptions, type CopyRequest, defaultCopyOptions, type UnchangedResult } from "./transfer.js";

/** The upload a fanned-out file's ranges fill: opened as a copy of the whole file would open it. */
export interface RangedUpload {
  uploadId: string;
  info: RemoteFileInfo;
  /** Complete it only if no object appeared at the key meanwhile (If-None-Match: *). */
  ifNoneMatch: boolean;
  /** The sink sends S3 a full-object CRC64NVME: the ranges' CRCs are combined for the Complete. */
  checksummed: boolean;
}

/**
 * The first step of a ranged copy: the same preparation as a copy of the whole file (the existence
 * check and ifExists, the object's metadata, tags, content type, storage class, key and retention,
 * within S3's limits) and its CreateMultipartUpload with a full-object CRC64NVME where the sink sends
 * checksums. An object holding this very version is the "unchanged" outcome, and nothing is opened.
 * The server's digest is never asked: it covers the whole file, which no range leg reads.
 */
export async function openRangedUpload(
  source: FileSource,
  sink: ObjectSink,
  request: CopyRequest,
  options: Partial<CopyOptions> = {},
): Promise<RangedUpload | UnchangedResult> {
  const copy = new FileCopy(source, sink, request, {
    ...defaultCopyOptions,
    ...options,
    // No SHA-256 tag (it cannot be combined from ranges) and no whole-file server digest.
    tagWithSha256: false,
    serverDigest: "off",
  });
  const prepared = await copy.prepare();
  if ("status" in prepared) return { ...prepared, durationMs: copy.elapsedMs() };
  const { ifExists } = request;
  const ifNoneMatch = prepared.believedAbsent || ifExists === "fail" || ifExists === "fail-unless-unchanged";
  const checksummed = prepared.crc !== null;
  const uploadId = await sink.createMultipartUpload(request.target, {
    metadata: prepared.object.metadata,
    ifNoneMatch,
    landing: landingAt(prepared.object, copy.now()),
    ...(checksummed ? { fullObjectChecksum: true } : {}),
  });
  return { uploadId, info: prepared.info, ifNoneMatch, checksummed };
}
