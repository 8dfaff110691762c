import { PassThrough } from "node:stream";
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  type ServiceOutputTypes,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { ObjectExistsError, S3Error } from "../core/errors.js";
import { formatS3Url, type S3Location } from "../core/locations.js";
import type {
  CancelReport,
  CommittedObject,
  ListedObject,
  ObjectSink,
  ObjectUpload,
  UploadOptions,
} from "../core/ports.js";

/** Writes objects with lib-storage over an S3 client built once per process and injected here. */
export function createS3Sink(client: S3Client): ObjectSink {
  return {
    async list(bucket, prefix, options = {}) {
      const objects: ListedObject[] = [];
      let ContinuationToken: string | undefined;
      try {
        do {
          const page = await client.send(
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
    },

    async readText(target) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: target.bucket, Key: target.key }));
        return (await object.Body?.transformToString("utf8")) ?? "";
      } catch (error) {
        if (httpStatus(error) === 404) return null;
        throw s3Error(`cannot read ${formatS3Url(target)}`, error);
      }
    },

    async writeText(target, text) {
      try {
        await client.send(
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
    },

    async delete(bucket, keys) {
      const refused: { key: string; message: string }[] = [];
      for (let start = 0; start < keys.length; start += 1000) {
        const batch = keys.slice(start, start + 1000);
        try {
          const result = await client.send(
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
    },

    async head(target) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }));
        return {
          size: head.ContentLength ?? 0,
          etag: unquote(head.ETag),
          metadata: head.Metadata ?? {},
        };
      } catch (error) {
        if (httpStatus(error) === 404) return null;
        // S3 answers 403, not 404, for a missing key when the caller may not list the bucket there.
        const hint =
          httpStatus(error) === 403 ? " (a missing key reads 403 without s3:ListBucket on its prefix)" : "";
        throw s3Error(`cannot check whether ${formatS3Url(target)} exists${hint}`, error);
      }
    },

    startUpload(target, options) {
      return new LibStorageUpload(client, target, options);
    },

    async tag(target, tags) {
      await client.send(
        new PutObjectTaggingCommand({
          Bucket: target.bucket,
          Key: target.key,
          Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
        }),
      );
    },
  };
}

/**
 * One lib-storage Upload whose body stays open until the core commits. lib-storage is told to leave
 * parts on error (`leavePartsOnError`) so that the abort is ours: sent once, after the parts in flight
 * have settled, and its outcome reported instead of replacing the error that caused it.
 */
class LibStorageUpload implements ObjectUpload {
  readonly body = new PassThrough();
  readonly failed: Promise<never>;
  private readonly upload: Upload;
  private readonly done: Promise<unknown>;
  private settledByUs = false;

  constructor(
    private readonly client: S3Client,
    private readonly target: S3Location,
    options: UploadOptions,
  ) {
    let fail: (error: S3Error) => void = () => {};
    this.failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    this.failed.catch(() => {}); // observed by the core; never an unhandled rejection
    const reportFailure = (error: unknown) => {
      if (!this.settledByUs) fail(s3Error(`upload to ${formatS3Url(target)} failed`, error));
    };
    this.upload = new Upload({
      client: observeFailures(client, reportFailure),
      params: {
        Bucket: target.bucket,
        Key: target.key,
        Body: this.body,
        Metadata: options.metadata,
        // S3 conditional write: refuse to replace an object that appeared since our existence check.
        ...(options.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
      },
      partSize: options.partSize,
      queueSize: options.queueSize,
      leavePartsOnError: true,
    });
    this.done = this.upload.done();
    this.done.catch(reportFailure);
  }

  async commit(): Promise<CommittedObject> {
    this.settledByUs = true;
    this.body.end();
    try {
      const result = (await this.done) as { ETag?: string; VersionId?: string };
      return { etag: unquote(result.ETag), versionId: result.VersionId };
    } catch (error) {
      if (httpStatus(error) === 412) {
        throw new ObjectExistsError(
          `${formatS3Url(this.target)} appeared while uploading; it was not overwritten`,
          {
            cause: error,
          },
        );
      }
      throw s3Error(`completing the upload to ${formatS3Url(this.target)} failed`, error);
    }
  }

  async cancel(reason: Error): Promise<CancelReport> {
    this.settledByUs = true;
    // Destroying the body ends lib-storage's read loop with an error; done() then settles once the
    // parts already in flight have finished, so the abort below cannot race a late part.
    if (!this.body.writableFinished) this.body.destroy(reason);
    const completed = await this.done.then(
      () => true,
      () => false,
    );
    const uploadId = this.upload.uploadId;
    if (completed) {
      return { uploadId, clean: false, error: new Error("the upload had already completed") };
    }
    if (uploadId === undefined) return { uploadId, clean: true, error: undefined };
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.target.bucket,
          Key: this.target.key,
          UploadId: uploadId,
        }),
      );
      return { uploadId, clean: true, error: undefined };
    } catch (error) {
      return { uploadId, clean: false, error: s3Error(`aborting upload ${uploadId}`, error) };
    }
  }
}

/**
 * The same client, but every failed request is reported at once. lib-storage only rejects done()
 * when all its part uploaders have stopped, and the healthy ones go on until the body ends; without
 * this, a part that failed for good would be noticed only after the whole file was read.
 */
function observeFailures(client: S3Client, onFailure: (error: unknown) => void): S3Client {
  const send = (command: Parameters<S3Client["send"]>[0], options?: unknown): Promise<ServiceOutputTypes> =>
    (client.send as (c: unknown, o?: unknown) => Promise<ServiceOutputTypes>)(command, options).catch(
      (error: unknown) => {
        onFailure(error);
        throw error;
      },
    );
  // lib-storage reads `config` and calls `send`; nothing else of the client.
  return { config: client.config, send } as unknown as S3Client;
}

function s3Error(what: string, error: unknown): S3Error {
  const status = httpStatus(error);
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  const detail = message && message !== name && message !== "UnknownError" ? `${name}: ${message}` : name;
  return new S3Error(`${what}: ${detail}${status === undefined ? "" : ` (HTTP ${status})`}`, status, {
    cause: error,
  });
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** S3 sends ETags in quotes; results and the mirror manifest keep them bare. */
function unquote(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}
