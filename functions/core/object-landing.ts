import { InvalidInputError } from "./errors.js";
import { mediaTypeOf } from "./media-types.js";
import {
  type ObjectSettings,
  type RetentionMode,
  S3_MAX_TAGS,
  S3_METADATA_MAX_BYTES,
  S3_TAG_VALUE_MAX,
  TAG_CHARACTERS,
  type TEMPLATE_FIELDS,
} from "./object-settings.js";
import type { ObjectLanding, RemoteFileInfo } from "./ports.js";

/** The content type of a file whose extension says nothing (or nothing known). */
export const UNKNOWN_CONTENT_TYPE = "application/octet-stream";

/** One file's object settings, rendered and checked: what its upload sends, but the retention's date. */
export interface RenderedObject {
  /** Every user metadata entry: the source's record and the templates' values. */
  metadata: Record<string, string>;
  /** The templates' tags (the SHA-256 tag is added where it is written). */
  tags: Record<string, string>;
  contentType: string;
  storageClass?: string;
  kms?: { keyId: string; bucketKey: boolean };
  retention?: { mode: RetentionMode; days: number };
}

export interface FileFacts {
  /** The remote path, absolute. */
  path: string;
  /** The file's URL, for messages. */
  url: string;
  info: RemoteFileInfo;
}

/**
 * A file's metadata, tags and content type from the settings' templates, checked against S3's limits
 * before any byte is read: a value that breaks one (a long path in a tag) fails this file with one
 * line, instead of a 400 from S3 after the upload.
 */
export function renderObject(
  settings: ObjectSettings,
  file: FileFacts,
  sourceMetadata: Record<string, string>,
  /** The tags ftp2s3 writes itself beside the templates' (`sha256`, and `source-digest` where a server digest may vouch). */
  options: { ownTags: readonly string[] },
): RenderedObject {
  const values = templateValues(settings, file);
  const render = (template: string) =>
    template.replace(/\{([a-z]+)\}/g, (_, f: string) => values[f as keyof typeof values] ?? "");
  const metadata = { ...sourceMetadata };
  for (const [name, template] of Object.entries(settings.metadata ?? {})) {
    metadata[name] = asciiMetadataValue(render(template));
  }
  const metadataBytes = Object.entries(metadata).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value),
    0,
  );
  if (metadataBytes > S3_METADATA_MAX_BYTES) {
    throw new InvalidInputError(
      `${file.url}: its metadata would take ${metadataBytes} bytes, more than S3's ${S3_METADATA_MAX_BYTES}; nothing was stored`,
    );
  }
  const tags: Record<string, string> = {};
  for (const [key, template] of Object.entries(settings.tags ?? {})) {
    tags[key] = render(template);
    const problem = tagValueProblem(tags[key]);
    if (problem !== undefined) {
      throw new InvalidInputError(`${file.url}: tag ${JSON.stringify(key)} ${problem}; nothing was stored`);
    }
  }
  const tagCount = Object.keys(tags).length + options.ownTags.length;
  if (tagCount > S3_MAX_TAGS) {
    const own = options.ownTags.map((tag) => `"${tag}"`).join(" and ");
    throw new InvalidInputError(
      `${file.url}: ${tagCount} tags with ${own}, S3 keeps at most ${S3_MAX_TAGS}; nothing was stored`,
    );
  }
  const { storageClass, kms, retention } = settings;
  return {
    metadata,
    tags,
    contentType: settings.contentType ?? contentTypeOf(file.path),
    ...(storageClass === undefined ? {} : { storageClass }),
    ...(kms === undefined ? {} : { kms }),
    ...(retention === undefined ? {} : { retention }),
  };
}

/**
 * What the upload's requests send, at the moment they are sent: Object Lock's retain-until date
 * counts from then (the injected clock), so a multipart upload's counts from its creation.
 */
export function landingAt(rendered: RenderedObject, nowMs: number): ObjectLanding {
  const { retention, metadata: _metadata, ...rest } = rendered;
  if (retention === undefined) return rest;
  const retainUntil = new Date(nowMs + retention.days * 86_400_000);
  return { ...rest, retention: { mode: retention.mode, retainUntil } };
}

/** The type of the file's extension (mime-types' table), else application/octet-stream. */
export function contentTypeOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  // lookup, not contentType: a charset would be a guess (FTP servers hold text in any encoding).
  return (name.includes(".") && mediaTypeOf(name)) || UNKNOWN_CONTENT_TYPE;
}

/**
 * Metadata travels as HTTP headers, which carry US-ASCII only. Other characters (and "%" itself) are
 * percent-encoded as UTF-8, as source-url already is: decodeURIComponent gives the text back, and
 * every S3-compatible server stores it as sent. RFC 2047 is what AWS itself decodes, but it is not
 * reversible on servers that store it literally, and its encoded words are cut at 75 characters.
 */
export function asciiMetadataValue(value: string): string {
  return value.replace(/[^\x20-\x24\x26-\x7e]+/gu, (run) => encodeURIComponent(run));
}

function tagValueProblem(value: string): string | undefined {
  if (value.length > S3_TAG_VALUE_MAX)
    return `would be ${value.length} characters, more than S3's ${S3_TAG_VALUE_MAX}`;
  if (!TAG_CHARACTERS.test(value)) {
    const bad = [...value].find((c) => !TAG_CHARACTERS.test(c)) ?? "";
    return `would hold ${JSON.stringify(bad)}, which S3 refuses in tags (letters, digits, spaces and + - = . _ : / @ only)`;
  }
  return undefined;
}

function templateValues(
  settings: ObjectSettings,
  file: FileFacts,
): Record<(typeof TEMPLATE_FIELDS)[number], string> {
  const { path, info } = file;
  return {
    connection: settings.connection ?? "",
    path,
    name: path.slice(path.lastIndexOf("/") + 1),
    size: info.size === null ? "" : String(info.size),
    mtime: info.modifiedAt?.toISOString() ?? "",
  };
}
