import { type Command, InvalidArgumentError, Option } from "commander";
import {
  contentTypeProblem,
  InvalidInputError,
  mergeObjectSettings,
  metadataNameProblem,
  type ObjectSettings,
  RETENTION_MODES,
  type RetentionMode,
  type StorageClass,
  storageClassProblem,
  tagKeyProblem,
  templateProblem,
} from "../core/index.js";

/** Where the command's objects land, as its flags say (see README "What is stored with the object"). */
export interface ObjectFlags {
  storageClass?: StorageClass;
  sseKmsKeyId?: string;
  contentType?: string;
  metadata: Record<string, string>;
  objectTag: Record<string, string>;
  retention?: { mode: RetentionMode; days: number };
}

/** The flags for storage class, encryption, content type, metadata, tags and retention. */
export function addObjectOptions(command: Command): Command {
  return command
    .option(
      "--storage-class <class>",
      "S3 storage class of the objects: STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, DEEP_ARCHIVE, ... (default: the bucket's)",
      storageClass,
    )
    .option(
      "--sse-kms-key-id <key>",
      "encrypt with SSE-KMS under this key (id, alias or ARN), with an S3 Bucket Key",
    )
    .option(
      "--content-type <type>",
      "Content-Type of the objects (default: from the file's extension)",
      mediaType,
    )
    .addOption(
      new Option(
        "--metadata <name=template>",
        "user metadata; the template may use {connection} {path} {name} {size} {mtime}; repeatable",
      )
        .argParser(entry(metadataNameProblem))
        .default({}, "none"),
    )
    .addOption(
      new Option(
        "--object-tag <key=template>",
        "an object tag, the template as for --metadata; repeatable (at most 10 tags, the sha256 and source-digest ones included)",
      )
        .argParser(entry(tagKeyProblem))
        .default({}, "none"),
    )
    .option(
      "--retention <mode:days>",
      "Object Lock retention, e.g. governance:30 (the bucket must have Object Lock on)",
      retention,
    );
}

/**
 * The flags as one object settings value; `{connection}` renders as the FTP host. Retention with
 * `--checksums when-required` is refused: the SDK then sends no checksum on PutObject or UploadPart
 * (measured: test/integration/object-settings.test.ts), and S3 refuses an upload to an Object Lock
 * bucket without one, after the bytes were read.
 */
export function objectSettingsOfFlags(
  flags: ObjectFlags & { checksums?: string | undefined },
  host: string,
): ObjectSettings {
  const { storageClass, sseKmsKeyId, contentType, retention } = flags;
  if (retention !== undefined && flags.checksums === "when-required") {
    throw new InvalidInputError(
      "--retention needs upload checksums (S3 refuses an upload to an Object Lock bucket without one): leave out --checksums when-required",
    );
  }
  return mergeObjectSettings({
    connection: host,
    ...(storageClass === undefined ? {} : { storageClass }),
    ...(sseKmsKeyId === undefined ? {} : { kms: { keyId: sseKmsKeyId, bucketKey: true } }),
    ...(contentType === undefined ? {} : { contentType }),
    metadata: flags.metadata,
    tags: flags.objectTag,
    ...(retention === undefined ? {} : { retention }),
  });
}

function storageClass(value: string): StorageClass {
  const problem = storageClassProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value as StorageClass;
}

function mediaType(value: string): string {
  const problem = contentTypeProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value;
}

/** `name=template`, collected into one map; the name and the template are checked as the config's are. */
function entry(nameProblem: (name: string) => string | undefined) {
  return (value: string, previous: Record<string, string>): Record<string, string> => {
    const at = value.indexOf("=");
    if (at < 1) throw new InvalidArgumentError("expected name=template");
    const name = value.slice(0, at);
    const template = value.slice(at + 1);
    const problem = nameProblem(name) ?? templateProblem(template);
    if (problem !== undefined) throw new InvalidArgumentError(problem);
    return { ...previous, [name]: template };
  };
}

function retention(value: string): { mode: RetentionMode; days: number } {
  const match = /^([a-z]+):(\d{1,5})$/i.exec(value);
  const mode = match?.[1]?.toUpperCase() as RetentionMode | undefined;
  const days = Number(match?.[2]);
  if (mode === undefined || !RETENTION_MODES.includes(mode) || days < 1 || days > 36_500) {
    throw new InvalidArgumentError("expected governance:<days> or compliance:<days>, 1 to 36500 days");
  }
  return { mode, days };
}
