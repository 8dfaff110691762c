import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  formatS3Url,
  InvalidInputError,
  S3Error,
  type S3Location,
  SHA256_TAG,
  SourceChangedError,
} from "../core/index.js";
import { httpStatus, s3Error } from "./s3-errors.js";

/** S3 keeps at most ten tags on an object. */
const MAX_TAGS = 10;

/** What a read-back found: the version read, its length and the SHA-256 of its bytes. */
export interface ReadBack {
  bytes: number;
  sha256: string;
  etag: string;
  versionId?: string;
}

/**
 * The SHA-256 of an object as S3 serves it, read from its first byte to its last. A copy fanned out
 * over ranges is stored without its sha256 tag (a SHA-256 cannot be combined from its ranges' like a
 * CRC): this reads it back. The version is pinned (If-Match on the ETag HEAD gave, and the version id
 * where the bucket keeps versions), and its length must come whole.
 */
export async function readBackSha256(
  client: S3Client,
  target: S3Location,
  onBytes: (bytes: number, totalBytes: number) => void,
  signal?: AbortSignal,
): Promise<ReadBack> {
  const version = await headOf(client, target);
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    const object = await client.send(
      new GetObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        IfMatch: `"${version.etag}"`,
        ...(version.versionId === undefined ? {} : { VersionId: version.versionId }),
      }),
      { abortSignal: signal },
    );
    for await (const chunk of object.Body as Readable) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      onBytes(bytes, version.size);
    }
  } catch (error) {
    if (httpStatus(error) === 412) throw changed(target);
    throw s3Error(`cannot read ${formatS3Url(target)} back`, error);
  }
  if (bytes !== version.size) {
    throw new S3Error(
      `${formatS3Url(target)}: S3 served ${bytes} of its ${version.size} bytes; no SHA-256 was taken`,
      undefined,
    );
  }
  return {
    bytes,
    sha256: hash.digest("hex"),
    etag: version.etag,
    ...(version.versionId === undefined ? {} : { versionId: version.versionId }),
  };
}

/**
 * Writes the read-back SHA-256 as the object's sha256 tag, the tag a streamed copy carries, keeping its
 * other tags. Only the version that was read is tagged: one replaced meanwhile is refused.
 */
export async function tagReadBack(client: S3Client, target: S3Location, read: ReadBack): Promise<void> {
  const now = await headOf(client, target);
  if (now.etag !== read.etag || now.versionId !== read.versionId) throw changed(target);
  const version = read.versionId === undefined ? {} : { VersionId: read.versionId };
  try {
    const { TagSet = [] } = await client.send(
      new GetObjectTaggingCommand({ Bucket: target.bucket, Key: target.key, ...version }),
    );
    const others = TagSet.filter((tag) => tag.Key !== SHA256_TAG);
    if (others.length >= MAX_TAGS) {
      throw new InvalidInputError(
        `${formatS3Url(target)} has ${others.length} tags already, S3's most: no room for its ${SHA256_TAG} tag`,
      );
    }
    await client.send(
      new PutObjectTaggingCommand({
        Bucket: target.bucket,
        Key: target.key,
        ...version,
        Tagging: { TagSet: [...others, { Key: SHA256_TAG, Value: read.sha256 }] },
      }),
    );
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw s3Error(`cannot tag ${formatS3Url(target)}`, error);
  }
}

async function headOf(
  client: S3Client,
  target: S3Location,
): Promise<{ size: number; etag: string; versionId?: string }> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }));
    return {
      size: head.ContentLength ?? 0,
      etag: (head.ETag ?? "").replace(/^"|"$/g, ""),
      ...(head.VersionId === undefined || head.VersionId === "null" ? {} : { versionId: head.VersionId }),
    };
  } catch (error) {
    const hint = httpStatus(error) === 404 ? " (no such object)" : "";
    throw s3Error(`cannot read ${formatS3Url(target)}${hint}`, error);
  }
}

function changed(target: S3Location): SourceChangedError {
  return new SourceChangedError(
    `${formatS3Url(target)} was replaced while it was read back: its SHA-256 is not taken nor tagged`,
  );
}
