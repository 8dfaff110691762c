/**
 * Where and how an object lands: storage class, SSE-KMS key, content type, metadata and tags from
 * templates, Object Lock retention. The rules here are S3's, written once: the function's config
 * (zod, in functions/contracts) and the command's flags (which do not load zod) both check with them,
 * and the copy renders each file's values with them (object-landing.ts).
 */

/** S3's storage classes, as the SDK's StorageClass lists them (a unit test holds the two together). */
export const STORAGE_CLASSES = [
  "STANDARD",
  "STANDARD_IA",
  "INTELLIGENT_TIERING",
  "ONEZONE_IA",
  "GLACIER_IR",
  "GLACIER",
  "DEEP_ARCHIVE",
  "REDUCED_REDUNDANCY",
  "EXPRESS_ONEZONE",
  "OUTPOSTS",
  "SNOW",
  "FSX_ONTAP",
  "FSX_OPENZFS",
  "AWS_BACKUP_WARM",
  "AWS_BACKUP_LOW_COST_WARM",
] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

export const RETENTION_MODES = ["GOVERNANCE", "COMPLIANCE"] as const;
export type RetentionMode = (typeof RETENTION_MODES)[number];

/** One object settings value, merged from every level that may set it (see objectSettingsOf). */
export interface ObjectSettings {
  /** What `{connection}` stands for: the connection's name (the command: the URL's host). */
  connection?: string;
  storageClass?: StorageClass;
  /** SSE-KMS with this key; `bucketKey`: S3 Bucket Keys (fewer KMS requests). Default: the bucket's encryption. */
  kms?: { keyId: string; bucketKey: boolean };
  /** Overrides the type found from the file's extension. */
  contentType?: string;
  /** User metadata (x-amz-meta-*): name -> template. */
  metadata?: Record<string, string>;
  /** Object tags: key -> template. */
  tags?: Record<string, string>;
  /** Object Lock retention from the moment the object is written, for buckets with Object Lock on. */
  retention?: { mode: RetentionMode; days: number };
}

/** What a template may name, each the file's own value (size and mtime "" when the server gave none). */
export const TEMPLATE_FIELDS = ["connection", "path", "name", "size", "mtime"] as const;

/** S3's limits on user metadata and tags. */
export const S3_METADATA_MAX_BYTES = 2048;
export const S3_MAX_TAGS = 10;
export const S3_TAG_KEY_MAX = 128;
export const S3_TAG_VALUE_MAX = 256;

/** Metadata names this project writes itself (source-url, source-size, source-mtime, ...). */
const RESERVED_METADATA_PREFIX = "source-";
/** The tag this project writes itself (the SHA-256 of the bytes). */
export const SHA256_TAG = "sha256";
/** The tag naming the server digest that vouched for the bytes (`sha-256:<hex>`), written beside it. */
export const SOURCE_DIGEST_TAG = "source-digest";

/** S3's tag alphabet: letters, digits and spaces in any script, and + - = . _ : / @. */
export const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function storageClassProblem(value: string): string | undefined {
  return (STORAGE_CLASSES as readonly string[]).includes(value)
    ? undefined
    : `unknown storage class ${JSON.stringify(value)} (one of ${STORAGE_CLASSES.join(", ")})`;
}

/**
 * A metadata name must survive as an HTTP header name, and S3 stores it in lower case: asking for
 * lower case here means what is read back is what was written.
 */
export function metadataNameProblem(name: string): string | undefined {
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)) {
    return `metadata name ${JSON.stringify(name)} must be lower-case letters, digits and "-"`;
  }
  if (name.startsWith(RESERVED_METADATA_PREFIX)) {
    return `metadata name ${JSON.stringify(name)} is ftp2s3's own (names starting "${RESERVED_METADATA_PREFIX}" record the source)`;
  }
  return undefined;
}

export function tagKeyProblem(key: string): string | undefined {
  if (key.length < 1 || key.length > S3_TAG_KEY_MAX)
    return `tag key ${JSON.stringify(key)} must be 1 to ${S3_TAG_KEY_MAX} characters`;
  if (!TAG_CHARACTERS.test(key))
    return `tag key ${JSON.stringify(key)} has characters S3 refuses (letters, digits, spaces and + - = . _ : / @ only)`;
  if (key.toLowerCase().startsWith("aws:"))
    return `tag key ${JSON.stringify(key)}: "aws:" is AWS's own prefix`;
  if (key === SHA256_TAG) return `tag key "${SHA256_TAG}" is ftp2s3's own (the SHA-256 of the bytes)`;
  if (key === SOURCE_DIGEST_TAG)
    return `tag key "${SOURCE_DIGEST_TAG}" is ftp2s3's own (the server digest that vouched for the bytes)`;
  return undefined;
}

/** A Content-Type the settings give: `type/subtype`, header-safe, parameters allowed. */
export function contentTypeProblem(value: string): string | undefined {
  return /^[\w.+-]+\/[\w.+-]+( *;[\x20-\x7e]*)?$/.test(value)
    ? undefined
    : `content type ${JSON.stringify(value)} must be a media type such as "text/csv"`;
}

/** A template names only TEMPLATE_FIELDS, each in braces; any other brace is a mistake. */
export function templateProblem(template: string): string | undefined {
  const unknown = template
    .replace(/\{([a-z]+)\}/g, (whole, field: string) =>
      (TEMPLATE_FIELDS as readonly string[]).includes(field) ? "" : whole,
    )
    .match(/\{[^}]*\}?|\}/);
  if (unknown === null) return undefined;
  return `template ${JSON.stringify(template)}: ${JSON.stringify(unknown[0])} is not one of ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(" ")}`;
}

/** The problems of a whole name -> template map (metadata or tags), in one list. */
export function templatesProblems(kind: "metadata" | "tags", templates: Record<string, string>): string[] {
  const entries = Object.entries(templates);
  const nameProblem = kind === "metadata" ? metadataNameProblem : tagKeyProblem;
  const problems = entries.flatMap(([name, template]) =>
    [nameProblem(name), templateProblem(template)].filter((p): p is string => p !== undefined),
  );
  if (kind === "tags" && entries.length > S3_MAX_TAGS) {
    problems.push(`${entries.length} tags: S3 keeps at most ${S3_MAX_TAGS} on an object`);
  }
  return problems;
}

/**
 * Merges object settings, least specific first (connection, then mirror job, then request or
 * flags): a field set at a more specific level wins; metadata and tags merge name by name.
 */
export function mergeObjectSettings(...levels: (ObjectSettings | undefined)[]): ObjectSettings {
  const merged: ObjectSettings = {};
  for (const level of levels) {
    if (level === undefined) continue;
    const { metadata, tags, ...fields } = level;
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined) Object.assign(merged, { [name]: value });
    }
    if (metadata !== undefined) merged.metadata = { ...merged.metadata, ...metadata };
    if (tags !== undefined) merged.tags = { ...merged.tags, ...tags };
  }
  return merged;
}
