import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  PutObjectTaggingCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type {
  CommittedObject,
  ExistingObject,
  FullObjectChecksum,
  ListedObject,
  ObjectOptions,
  ObjectSink,
  UploadedPart,
} from "../core/index.js";
import {
  ChecksumMismatchError,
  type Ftp2s3Error,
  formatS3Url,
  ObjectExistsError,
  type S3Location,
} from "../core/index.js";
import { combineCrc64nvme, crc64nvme, EMPTY_CRC64NVME } from "./crc64nvme.js";
import { landingParams } from "./landing-params.js";
import { sendThroughConflicts } from "./s3-conditional-conflict.js";
import { DirectPut } from "./s3-direct-put.js";
import { httpStatus, s3Error } from "./s3-errors.js";
import { PartChecksums } from "./s3-part-checksums.js";
import { withUnsignedPayload } from "./unsigned-payload.js";

/**
 * The S3 side over an S3 client built once per process and injected here: one method per request.
 * The multipart upload itself is driven by the core (PartUpload), which decides what to send when.
 */
export class S3Sink implements ObjectSink {
  private readonly checksums = new PartChecksums();
  /** Small objects' PutObject once the SDK has shown the way to their bucket (s3-direct-put.ts). */
  private readonly directPut: DirectPut;

  constructor(private readonly client: S3Client) {
    this.directPut = new DirectPut(client);
  }

  async list(bucket: string, prefix: string, options: { recursive?: boolean } = {}): Promise<ListedObject[]> {
    const objects: ListedObject[] = [];
    let ContinuationToken: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ContinuationToken,
            ...(options.recursive === false ? { Delimiter: "/" } : {}),
          }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key !== undefined) {
            objects.push({ key: o.Key, size: o.Size ?? 0, etag: unquote(o.ETag) });
          }
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken !== undefined);
    } catch (error) {
      throw s3Error(`cannot list s3://${bucket}/${prefix}`, error);
    }
    return objects;
  }

  async readText(target: S3Location): Promise<string | null> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: target.bucket, Key: target.key }));
      return (await object.Body?.transformToString("utf8")) ?? "";
    } catch (error) {
      if (httpStatus(error) === 404) return null;
      throw s3Error(`cannot read ${formatS3Url(target)}`, error);
    }
  }

  async writeText(target: S3Location, text: string): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: target.key,
          Body: text,
          ContentType: "application/json",
        }),
      );
    } catch (error) {
      throw s3Error(`cannot write ${formatS3Url(target)}`, error);
    }
  }

  async delete(bucket: string, keys: string[]): Promise<{ key: string; message: string }[]> {
    const refused: { key: string; message: string }[] = [];
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000);
      try {
        const result = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        for (const e of result.Errors ?? [])
          refused.push({ key: e.Key ?? "?", message: e.Message ?? e.Code ?? "" });
      } catch (error) {
        const message = s3Error(`cannot delete from s3://${bucket}`, error).message;
        for (const key of batch) refused.push({ key, message });
      }
    }
    return refused;
  }

  async head(target: S3Location, options: { checksum?: boolean } = {}): Promise<ExistingObject | null> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({
          Bucket: target.bucket,
          Key: target.key,
          ...(options.checksum ? { ChecksumMode: "ENABLED" } : {}),
        }),
      );
      return {
        size: head.ContentLength ?? 0,
        etag: unquote(head.ETag),
        metadata: head.Metadata ?? {},
        ...(head.ChecksumCRC64NVME === undefined ? {} : { crc64nvme: head.ChecksumCRC64NVME }),
        ...(head.VersionId === undefined ? {} : { versionId: head.VersionId }),
      };
    } catch (error) {
      if (httpStatus(error) === 404) return null;
      // S3 answers 403, not 404, for a missing key when the caller may not list the bucket there.
      const hint =
        httpStatus(error) === 403 ? " (a missing key reads 403 without s3:ListBucket on its prefix)" : "";
      throw s3Error(`cannot check whether ${formatS3Url(target)} exists${hint}`, error);
    }
  }

  async putObject(
    target: S3Location,
    body: Uint8Array,
    options: ObjectOptions & { tags?: Record<string, string>; crc64nvme?: string },
  ): Promise<CommittedObject> {
    const input: PutObjectCommandInput = {
      Bucket: target.bucket,
      Key: target.key,
      Body: body,
      ContentLength: body.length,
      Metadata: options.metadata,
      ...(options.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
      ...landingParams(options.landing, options.tags),
      ...(options.crc64nvme === undefined ? {} : { ChecksumCRC64NVME: options.crc64nvme }),
    };
    try {
      const direct = await this.directPut.put(input);
      if (direct !== undefined) return { etag: unquote(direct.etag), versionId: direct.versionId };
      // A command is sent once: each attempt builds its own (the SDK adds its plugins at every send).
      const result = await sendThroughConflicts(() => {
        const command = new PutObjectCommand(input);
        this.directPut.learnFrom(command, input);
        return this.client.send(options.crc64nvme === undefined ? command : withUnsignedPayload(command));
      });
      return { etag: unquote(result.ETag), versionId: result.VersionId };
    } catch (error) {
      throw completionError(target, "storing", error);
    }
  }

  async createMultipartUpload(
    target: S3Location,
    options: ObjectOptions & { fullObjectChecksum?: boolean },
  ): Promise<string> {
    try {
      // As lib-storage does: with the SDK's default checksums, the upload declares CRC32, every part
      // carries one, and CompleteMultipartUpload must list them (S3 refuses it otherwise).
      // With a full-object CRC64NVME (the core's, sent with Complete) the parts carry CRC64NVME too.
      const withChecksums = (await this.client.config.requestChecksumCalculation()) === "WHEN_SUPPORTED";
      const algorithm = options.fullObjectChecksum ? "CRC64NVME" : withChecksums ? "CRC32" : undefined;
      const result = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: target.bucket,
          Key: target.key,
          Metadata: options.metadata,
          ...landingParams(options.landing),
          ...(algorithm === undefined ? {} : { ChecksumAlgorithm: algorithm }),
          ...(options.fullObjectChecksum ? { ChecksumType: "FULL_OBJECT" } : {}),
        }),
      );
      if (result.UploadId === undefined) throw new Error("S3 returned no upload id");
      this.checksums.declare(result.UploadId, algorithm);
      return result.UploadId;
    } catch (error) {
      throw s3Error(`cannot start the upload to ${formatS3Url(target)}`, error);
    }
  }

  async uploadPart(
    target: S3Location,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    checksum?: { crc64nvme: string },
  ): Promise<string> {
    try {
      const command = new UploadPartCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: body.length,
        ...this.checksums.algorithmOf(uploadId),
        // Ours, computed once for the part and the full object: with a checksum header present the
        // SDK's flexible-checksums middleware computes none (it read every byte a second time).
        ...(checksum === undefined ? {} : { ChecksumCRC64NVME: checksum.crc64nvme }),
      });
      const result = await this.client.send(checksum === undefined ? command : withUnsignedPayload(command));
      this.checksums.remember(uploadId, partNumber, result);
      return unquote(result.ETag);
    } catch (error) {
      throw s3Error(`upload to ${formatS3Url(target)} failed (part ${partNumber})`, error);
    }
  }

  async listParts(target: S3Location, uploadId: string): Promise<UploadedPart[] | null> {
    const parts: UploadedPart[] = [];
    let PartNumberMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListPartsCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: uploadId,
            PartNumberMarker,
          }),
        );
        this.checksums.declare(uploadId, page.ChecksumAlgorithm);
        for (const part of page.Parts ?? []) {
          if (part.PartNumber !== undefined) {
            this.checksums.remember(uploadId, part.PartNumber, part);
            parts.push({ partNumber: part.PartNumber, size: part.Size ?? 0, etag: unquote(part.ETag) });
          }
        }
        PartNumberMarker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (PartNumberMarker !== undefined);
    } catch (error) {
      if (httpStatus(error) === 404) return null;
      throw s3Error(`cannot list the parts of upload ${uploadId} to ${formatS3Url(target)}`, error);
    }
    return parts;
  }

  async completeMultipartUpload(
    target: S3Location,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
    options: { ifNoneMatch: boolean; crc64nvme?: string },
  ): Promise<CommittedObject> {
    try {
      const result = await sendThroughConflicts(() =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: uploadId,
            MultipartUpload: {
              Parts: parts.map((p) => ({
                PartNumber: p.partNumber,
                ETag: `"${p.etag}"`,
                ...this.checksums.of(uploadId, p.partNumber),
              })),
            },
            // S3 conditional write: refuse to replace an object that appeared since our existence check.
            ...(options.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
            // S3 checks the object it assembled against the CRC64NVME of the bytes we read.
            ...(options.crc64nvme === undefined
              ? {}
              : { ChecksumCRC64NVME: options.crc64nvme, ChecksumType: "FULL_OBJECT" }),
          }),
        ),
      );
      this.checksums.forget(uploadId);
      return { etag: unquote(result.ETag), versionId: result.VersionId };
    } catch (error) {
      throw completionError(target, "completing the upload to", error);
    }
  }

  async abortMultipartUpload(target: S3Location, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }),
      );
      this.checksums.forget(uploadId);
    } catch (error) {
      throw s3Error(`aborting upload ${uploadId}`, error);
    }
  }

  /** A CRC64NVME of the object, unless this client sends checksums only where S3 requires them. */
  async fullObjectChecksum(saved?: string): Promise<FullObjectChecksum | null> {
    const withChecksums = (await this.client.config.requestChecksumCalculation()) === "WHEN_SUPPORTED";
    return withChecksums ? crc64nvme(saved) : null;
  }

  combineChecksums(pieces: { crc64nvme: string; bytes: number }[]): string {
    return pieces.reduce(
      (combined, piece) => combineCrc64nvme(combined, piece.crc64nvme, piece.bytes),
      EMPTY_CRC64NVME,
    );
  }

  async tag(target: S3Location, tags: Record<string, string>): Promise<void> {
    await this.client.send(
      new PutObjectTaggingCommand({
        Bucket: target.bucket,
        Key: target.key,
        Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      }),
    );
  }
}

/** The sink over one S3 client, for callers that want the port, not the class. */
export function createS3Sink(client: S3Client): ObjectSink {
  return new S3Sink(client);
}

/** The object did not become visible: a 412 means one appeared at the key meanwhile (ifNoneMatch). */
function completionError(target: S3Location, doing: string, error: unknown): Ftp2s3Error {
  if (httpStatus(error) === 412) {
    return new ObjectExistsError(`${formatS3Url(target)} appeared while uploading; it was not overwritten`, {
      cause: error,
    });
  }
  if (isChecksumRefusal(error)) {
    const refused = s3Error(`${doing} ${formatS3Url(target)} failed`, error);
    return new ChecksumMismatchError(
      `S3 refused ${formatS3Url(target)}: the bytes it holds do not match the CRC64NVME of the bytes read from the server (${refused.message}); nothing was stored`,
      { cause: error },
    );
  }
  return s3Error(`${doing} ${formatS3Url(target)} failed`, error);
}

/** S3's answer when the object's bytes do not match the checksum sent with it. */
function isChecksumRefusal(error: unknown): boolean {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : "";
  return name === "BadDigest" || (name === "InvalidRequest" && /checksum/i.test(message));
}

/** S3 sends ETags in quotes; results and the mirror manifest keep them bare. */
function unquote(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}
