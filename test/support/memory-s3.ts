import { createHash } from "node:crypto";
import { ObjectExistsError, S3Error } from "../../functions/core/errors.js";
import type { S3Location } from "../../functions/core/locations.js";
import type {
  CommittedObject,
  ExistingObject,
  ListedObject,
  ObjectOptions,
  ObjectSink,
  UploadedPart,
} from "../../functions/core/ports.js";

export type MemoryS3Operation =
  | "HeadObject"
  | "PutObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "ListParts"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "PutObjectTagging"
  | "ListObjectsV2"
  | "GetObject"
  | "DeleteObjects";

/** One request as memory S3 received it. */
export interface MemoryS3Request {
  operation: MemoryS3Operation;
  key: string;
  uploadId?: string;
  partNumber?: number;
  /** The body's size, for PutObject and UploadPart. */
  bytes?: number;
  /** For PutObject and CompleteMultipartUpload: whether the write was conditional (If-None-Match: *). */
  ifNoneMatch?: boolean;
  /** PutObject: the tags sent with it (x-amz-tagging). */
  tags?: Record<string, string>;
  /** Set when the request failed (a fault, or S3 refusing it): the error's message. */
  error?: string;
}

/**
 * Runs before memory S3 handles a request: what it throws (or its promise rejects with) is the
 * request's failure; a promise it returns holds the request until it settles (a slow S3).
 */
export type MemoryS3Fault = (request: MemoryS3Request) => void | Promise<void>;

export interface StoredObject {
  bytes: Buffer;
  metadata: Record<string, string>;
  etag: string;
}

export interface OpenUpload {
  key: string;
  metadata: Record<string, string>;
  parts: Map<number, { bytes: Buffer; etag: string }>;
}

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest();

/**
 * An in-memory S3 bucket behind the ObjectSink port, behaving like S3 for what the core asks of it:
 * objects appear only on PutObject or CompleteMultipartUpload; ETags are computed like S3's; parts
 * but the last must be at least `minPartSize` (S3: 5 MiB); a conditional write to an existing key
 * fails. Every request is logged in `requests`; `fault` fails or holds chosen ones.
 */
export class MemoryS3 implements ObjectSink {
  readonly objects = new Map<string, StoredObject>();
  readonly uploads = new Map<string, OpenUpload>();
  readonly tags = new Map<string, Record<string, string>>();
  readonly requests: MemoryS3Request[] = [];
  fault: MemoryS3Fault | undefined;
  private nextUploadId = 1;

  constructor(private readonly minPartSize = 5 * 1024 * 1024) {}

  /** Upload ids created and neither completed nor aborted. */
  openUploads(): string[] {
    return [...this.uploads.keys()];
  }

  /** The requests of one kind, in order. */
  sent(operation: MemoryS3Operation): MemoryS3Request[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  /** Puts an object in place without a request, as if another writer had. */
  seed(key: string, bytes: Buffer, metadata: Record<string, string> = {}): void {
    this.objects.set(key, { bytes, metadata, etag: md5(bytes).toString("hex") });
  }

  async list(_bucket: string, prefix: string, options?: { recursive?: boolean }): Promise<ListedObject[]> {
    await this.receive({ operation: "ListObjectsV2", key: prefix });
    return [...this.objects]
      .filter(([key]) => key.startsWith(prefix))
      .filter(([key]) => options?.recursive !== false || !key.slice(prefix.length).includes("/"))
      .map(([key, o]) => ({ key, size: o.bytes.length, etag: o.etag }));
  }

  async readText({ key }: S3Location): Promise<string | null> {
    await this.receive({ operation: "GetObject", key });
    return this.objects.get(key)?.bytes.toString("utf8") ?? null;
  }

  async writeText(target: S3Location, text: string): Promise<void> {
    await this.putObject(target, Buffer.from(text, "utf8"), { metadata: {}, ifNoneMatch: false });
  }

  async delete(_bucket: string, keys: string[]): Promise<{ key: string; message: string }[]> {
    await this.receive({ operation: "DeleteObjects", key: keys.join(",") });
    for (const key of keys) this.objects.delete(key);
    return [];
  }

  async head({ key }: S3Location): Promise<ExistingObject | null> {
    await this.receive({ operation: "HeadObject", key });
    const object = this.objects.get(key);
    return object === undefined
      ? null
      : { size: object.bytes.length, etag: object.etag, metadata: { ...object.metadata } };
  }

  async putObject(
    target: S3Location,
    body: Uint8Array,
    options: ObjectOptions & { tags?: Record<string, string> },
  ): Promise<CommittedObject> {
    const { key } = target;
    // Copied as the request is sent, like bytes over the wire: the caller may reuse its buffer after.
    const bytes = Buffer.from(body);
    const etag = md5(bytes).toString("hex");
    await this.receive(
      {
        operation: "PutObject",
        key,
        bytes: body.length,
        ifNoneMatch: options.ifNoneMatch,
        ...(options.tags === undefined ? {} : { tags: options.tags }),
      },
      () => {
        if (options.ifNoneMatch && this.objects.has(key)) throw exists(target);
        // Stored with the check, in one turn, as S3 decides a conditional write atomically.
        this.objects.set(key, { bytes, metadata: { ...options.metadata }, etag });
      },
    );
    if (options.tags !== undefined) this.tags.set(key, { ...options.tags });
    else this.tags.delete(key); // a new object has none
    return { etag, versionId: undefined };
  }

  async createMultipartUpload({ key }: S3Location, options: ObjectOptions): Promise<string> {
    const uploadId = `upload-${this.nextUploadId++}`;
    await this.receive({ operation: "CreateMultipartUpload", key, uploadId });
    this.uploads.set(uploadId, { key, metadata: { ...options.metadata }, parts: new Map() });
    return uploadId;
  }

  async uploadPart({ key }: S3Location, uploadId: string, partNumber: number, body: Uint8Array) {
    await this.receive({ operation: "UploadPart", key, uploadId, partNumber, bytes: body.length }, () => {
      this.openUpload(key, uploadId);
    });
    const bytes = Buffer.from(body);
    const etag = md5(bytes).toString("hex");
    this.openUpload(key, uploadId).parts.set(partNumber, { bytes, etag });
    return etag;
  }

  async listParts({ key }: S3Location, uploadId: string): Promise<UploadedPart[] | null> {
    await this.receive({ operation: "ListParts", key, uploadId });
    const upload = this.uploads.get(uploadId);
    if (upload === undefined || upload.key !== key) return null;
    return [...upload.parts]
      .sort(([a], [b]) => a - b)
      .map(([partNumber, part]) => ({ partNumber, size: part.bytes.length, etag: part.etag }));
  }

  async completeMultipartUpload(
    target: S3Location,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
    options: { ifNoneMatch: boolean },
  ): Promise<CommittedObject> {
    const { key } = target;
    let etag = "";
    await this.receive(
      { operation: "CompleteMultipartUpload", key, uploadId, ifNoneMatch: options.ifNoneMatch },
      () => {
        const upload = this.openUpload(key, uploadId);
        if (parts.length === 0) throw new S3Error("MalformedXML: no parts (HTTP 400)", 400);
        parts.forEach((part, index) => {
          const stored = upload.parts.get(part.partNumber);
          if (stored === undefined || stored.etag !== part.etag) {
            throw new S3Error(`InvalidPart: part ${part.partNumber} (HTTP 400)`, 400);
          }
          if (index > 0 && part.partNumber <= (parts[index - 1]?.partNumber ?? 0)) {
            throw new S3Error("InvalidPartOrder (HTTP 400)", 400);
          }
          if (index < parts.length - 1 && stored.bytes.length < this.minPartSize) {
            throw new S3Error(`EntityTooSmall: part ${part.partNumber} (HTTP 400)`, 400);
          }
        });
        if (options.ifNoneMatch && this.objects.has(key)) throw exists(target);
        // Stored with the check, in one turn, as S3 decides a conditional write atomically.
        const chosen = parts.map((part) => upload.parts.get(part.partNumber)?.bytes as Buffer);
        etag = `${md5(Buffer.concat(chosen.map(md5))).toString("hex")}-${parts.length}`;
        this.objects.set(key, { bytes: Buffer.concat(chosen), metadata: upload.metadata, etag });
        this.uploads.delete(uploadId);
      },
    );
    return { etag, versionId: undefined };
  }

  async abortMultipartUpload({ key }: S3Location, uploadId: string): Promise<void> {
    await this.receive({ operation: "AbortMultipartUpload", key, uploadId }, () => {
      this.openUpload(key, uploadId);
    });
    this.uploads.delete(uploadId);
  }

  async tag({ key }: S3Location, tags: Record<string, string>): Promise<void> {
    await this.receive({ operation: "PutObjectTagging", key }, () => {
      if (!this.objects.has(key)) throw new S3Error(`NoSuchKey: ${key} (HTTP 404)`, 404);
    });
    this.tags.set(key, { ...tags });
  }

  /** Logs the request, runs the fault, then S3's own checks; marks the log entry when either throws. */
  private async receive(request: MemoryS3Request, check: () => void = () => {}): Promise<void> {
    this.requests.push(request);
    try {
      await this.fault?.(request);
      check();
    } catch (error) {
      request.error = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  private openUpload(key: string, uploadId: string): OpenUpload {
    const upload = this.uploads.get(uploadId);
    if (upload === undefined || upload.key !== key) {
      throw new S3Error(`NoSuchUpload: ${uploadId} (HTTP 404)`, 404);
    }
    return upload;
  }
}

function exists({ bucket, key }: S3Location): ObjectExistsError {
  return new ObjectExistsError(`s3://${bucket}/${key} already exists (HTTP 412)`);
}
