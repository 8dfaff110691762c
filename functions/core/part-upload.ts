import { Writable } from "node:stream";
import { FileTooLargeError, Ftp2s3Error, S3Error } from "./errors.js";
import { formatS3Url, type S3Location } from "./locations.js";
import { MIN_FIRST_BUFFER, S3_MAX_PARTS } from "./part-size.js";
import type {
  CancelReport,
  FullObjectChecksum,
  ObjectLanding,
  ObjectOptions,
  ObjectSink,
  UploadedPart,
} from "./ports.js";
import type { RunningHash } from "./sha256.js";
import { type CompletedUpload, completeUpload } from "./upload-completion.js";

export interface PartUploadOptions {
  partSize: number;
  /** Parts uploaded at once. */
  queueSize: number;
  /**
   * Part buffers, allocated when first needed: memory is at most buffers x partSize. Default
   * queueSize (a buffer being filled is one fewer part in flight); one is enough to make progress.
   */
  buffers?: number;
  metadata: Record<string, string>;
  ifNoneMatch: boolean;
  /** What the first request sends besides the metadata, asked when it is sent (retention counts from then). */
  landing?: () => ObjectLanding;
  /** Bytes this upload expects to receive (what SIZE announced, less a resumed offset), or null. */
  expectedBytes: number | null;
  /** Fed with every part, in order, before it is sent. */
  hash: RunningHash;
  /**
   * The object's CRC64NVME, fed like the hash: sent with the PutObject, or declared on
   * CreateMultipartUpload and sent with its Complete, so S3 refuses bytes that differ from ours.
   */
  crc?: FullObjectChecksum;
  /**
   * Store the SHA-256 as a tag in the PutObject of a file that fits one buffer (one request instead
   * of two). A multipart upload cannot: its hash is known only after its last part.
   */
  tagSha256?: boolean;
  /** Go on with an upload whose first parts S3 already holds (numbered 1..n, in order). */
  resume?: { uploadId: string; parts: UploadedPart[] };
  /** The number of this upload's first part: a range of a fanned-out file starts further on. Default 1. */
  firstPartNumber?: number;
}

/** What commit stored. */
export interface CommittedUpload extends CompletedUpload {
  sha256: string;
  /** The full-object CRC64NVME S3 checked (base64), when one was sent. */
  crc64nvme?: string;
  /** The sha256 tag went with the PutObject. */
  taggedInline: boolean;
  /** Why S3 refused the PutObject with its tag (it was then stored without), if it did. */
  tagRefused?: string;
}

/** Where a suspended upload stands: every part it holds is complete; nothing after it was kept. */
export interface Suspension {
  /** Undefined when no part was uploaded: there is nothing to go on with. */
  uploadId: string | undefined;
  /** Bytes in the upload's parts: the offset the next leg starts from. */
  bytes: number;
  parts: number;
  /** The SHA-256 state over those bytes (see RunningHash.save), when the hash can be saved. */
  hashState: string | undefined;
  /** The CRC64NVME over those bytes, when one is sent. */
  crcState?: string;
}

/**
 * Called once every byte is hashed and before anything is stored: throwing cancels the commit (the
 * server's digest did not match).
 */
export type BeforeStore = (sha256: string) => void;

/**
 * The multipart driver: the stream the download's bytes go into, copied into part buffers
 * (queueSize unless fewer are given) allocated once and reused, each full buffer sent as an
 * UploadPart while the next one fills. Memory stays buffers x partSize whatever the file's size.
 * Writing blocks (backpressure to the FTP socket) while every buffer is full or in flight.
 *
 * Nothing is stored before `commit`: ending this stream does nothing (basic-ftp ends its destination
 * whatever the final reply says); only the core, once the server confirmed the file, commits. A file
 * that fits in one buffer is one PutObject; otherwise the multipart upload is created with its first
 * part. `suspend` stops at a part boundary and keeps the upload open for another leg; `cancel` aborts.
 */
export class PartUpload extends Writable {
  /** Rejects (with an S3Error) as soon as a request fails for good, before any commit. */
  readonly failed: Promise<never>;
  private rejectFailed: (error: Ftp2s3Error) => void = () => {};
  private failure: Ftp2s3Error | undefined;
  /** Set by commit, cancel or suspend: later bytes are dropped (the FTP side is being closed). */
  private settled = false;
  private completed = false;

  private creating: Promise<string> | undefined;
  private id: string | undefined;
  private readonly done: { partNumber: number; etag: string }[] = [];
  private nextPartNumber = 1;
  /** Bytes in the parts sealed so far, resumed ones included. */
  private sealedBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();

  private readonly spare: Buffer[] = [];
  private allocated = 0;
  private readonly waiting: (() => void)[] = [];
  private current: Buffer | undefined;
  private filled = 0;

  constructor(
    private readonly sink: ObjectSink,
    private readonly target: S3Location,
    private readonly options: PartUploadOptions,
  ) {
    super({ decodeStrings: true });
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.failed.catch(() => {}); // observed by the core; never an unhandled rejection
    const { resume } = options;
    if (resume !== undefined) {
      this.id = resume.uploadId;
      this.creating = Promise.resolve(resume.uploadId);
      for (const part of resume.parts) {
        this.done.push({ partNumber: part.partNumber, etag: part.etag });
        this.sealedBytes += part.size;
      }
      this.nextPartNumber = resume.parts.length + 1;
    }
    this.nextPartNumber += (options.firstPartNumber ?? 1) - 1;
  }

  get uploadId(): string | undefined {
    return this.id;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // A failure is reported by `failed`, commit and suspend, never as a stream error: nobody listens
    // for one on this stream (nor on the intake it would travel to), so it would crash the process.
    // The bytes of a failed upload go nowhere; the download is being stopped.
    this.absorb(chunk).then(
      () => callback(),
      (error: unknown) => {
        this.fail(error);
        callback();
      },
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback(); // Deliberately commits nothing: see the class comment.
  }

  /** Sends what is left, waits for every part, and completes the upload: the object becomes visible. */
  async commit(
    beforeStore: BeforeStore = () => {},
    moreTags: Record<string, string> = {},
  ): Promise<CommittedUpload> {
    // Bytes already written may still be queued in this stream (write() returned true): take them in
    // before settling, or the object would miss the file's tail while the core counted it received.
    await this.absorbed();
    this.settle();
    if (this.failure) throw this.failure;
    const { hash, crc, ifNoneMatch } = this.options;
    if (this.creating === undefined) {
      // Never more than one buffer: one PutObject, no upload to create, complete or abort.
      const body = this.current?.subarray(0, this.filled) ?? Buffer.alloc(0);
      hash.update(body);
      const digest = hash.digest();
      await crc?.update(body);
      const sha256 = typeof digest === "string" ? digest : await digest;
      beforeStore(sha256);
      const checked = crc === undefined ? {} : { crc64nvme: await crc.value() };
      if (this.options.tagSha256) {
        try {
          const committed = await this.sink.putObject(this.target, body, {
            ...this.objectOptions(),
            tags: { sha256, ...moreTags },
            ...checked,
          });
          this.completed = true;
          return { ...committed, sha256, ...checked, taggedInline: true };
        } catch (error) {
          // On AWS a tag needs s3:PutObjectTagging too: without it the PutObject is refused (403).
          // The bytes matter more than their tag: store them without it, and say so. Tags the object
          // settings ask for still go along (a copy that cannot write them fails: they were asked for).
          if (!(error instanceof S3Error && error.httpStatus === 403)) throw error;
          const committed = await this.sink.putObject(this.target, body, {
            ...this.objectOptions(),
            ...checked,
          });
          this.completed = true;
          return { ...committed, sha256, ...checked, taggedInline: false, tagRefused: error.message };
        }
      }
      const committed = await this.sink.putObject(this.target, body, { ...this.objectOptions(), ...checked });
      this.completed = true;
      return { ...committed, sha256, ...checked, taggedInline: false };
    }
    const parts = await this.sendRemainingParts();
    const digest = hash.digest();
    const sha256 = typeof digest === "string" ? digest : await digest;
    beforeStore(sha256);
    const checked = crc === undefined ? {} : { crc64nvme: await crc.value() };
    const committed = await completeUpload(
      this.sink,
      this.target,
      this.id as string,
      parts,
      { ifNoneMatch, ...checked },
      this.sealedBytes,
    );
    this.completed = true;
    return { ...committed, sha256, ...checked, taggedInline: false };
  }

  /**
   * Stops at a part boundary: a full buffer is sent as a part, a partial one is dropped, and the
   * parts in flight are waited for. The upload stays open for the next leg, which asks the server for
   * the file from `bytes` on. Rejects when a part failed (the caller then cancels).
   */
  async suspend(): Promise<Suspension> {
    this.settle();
    const { partSize, hash } = this.options;
    if (this.current !== undefined && this.filled === partSize) {
      await this.slot();
      this.seal(this.current, this.filled);
    }
    this.current = undefined;
    this.filled = 0;
    await this.settleRequests();
    if (this.failure) throw this.failure;
    if (this.id === undefined || this.done.length === 0) {
      return { uploadId: undefined, bytes: 0, parts: 0, hashState: undefined };
    }
    const crcState = await this.options.crc?.value();
    return {
      uploadId: this.id,
      bytes: this.sealedBytes,
      parts: this.done.length,
      hashState: hash.save(),
      ...(crcState === undefined ? {} : { crcState }),
    };
  }

  /**
   * Sends what is left as the last part and waits for every part, without completing: the upload
   * (opened before, see `resume`) stays open for the parts of other writers, the other ranges of a
   * fanned-out file, and whoever completes it lists them. Resolves with this upload's parts, in order.
   */
  async finishParts(): Promise<{ partNumber: number; etag: string }[]> {
    await this.absorbed();
    this.settle();
    if (this.failure) throw this.failure;
    if (this.creating === undefined) throw new Error("finishParts needs an upload opened before (resume)");
    return this.sendRemainingParts();
  }

  /** Seals what the current buffer holds as the last part, waits for every part: all of them, in order. */
  private async sendRemainingParts(): Promise<{ partNumber: number; etag: string }[]> {
    if (this.current !== undefined && this.filled > 0) {
      await this.slot();
      this.seal(this.current, this.filled);
    }
    this.current = undefined;
    await this.settleRequests();
    if (this.failure) throw this.failure;
    return [...this.done].sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Discards everything: waits until the requests in flight have settled, then aborts the upload. */
  async cancel(reason: Error): Promise<CancelReport> {
    this.settle();
    this.failure ??= reason instanceof Ftp2s3Error ? reason : new S3Error(reason.message, undefined);
    this.wakeAll();
    await this.settleRequests();
    const uploadId = this.id;
    if (this.completed)
      return { uploadId, clean: false, error: new Error("the upload had already completed") };
    if (uploadId === undefined) return { uploadId, clean: true, error: undefined };
    try {
      await this.sink.abortMultipartUpload(this.target, uploadId);
      return { uploadId, clean: true, error: undefined };
    } catch (error) {
      return { uploadId, clean: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  private async absorb(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.settled) return; // the download is being stopped; these bytes go nowhere
      if (this.failure) throw this.failure;
      if (this.current === undefined) this.current = await this.takeBuffer();
      else if (this.filled === this.current.length) await this.makeRoom(this.current);
      if (this.settled || this.current === undefined) return;
      const copied = chunk.copy(this.current, this.filled, offset);
      this.filled += copied;
      offset += copied;
    }
  }

  /** The buffer is full and more bytes came: it becomes a part, or it grows if it was a small first one. */
  private async makeRoom(full: Buffer): Promise<void> {
    if (full.length < this.options.partSize) {
      const grown = Buffer.from(new SharedArrayBuffer(this.options.partSize));
      full.copy(grown, 0, 0, this.filled);
      this.current = grown;
      return;
    }
    if (this.nextPartNumber >= S3_MAX_PARTS) {
      // More bytes after a full 10,000th part: a file without SIZE (a known size chose a part size
      // that fits, and more bytes than SIZE stop the download). S3 would refuse part 10,001, after
      // the whole file was read, with a less helpful message.
      const { partSize, expectedBytes } = this.options;
      const why =
        expectedBytes === null
          ? "; the server gave no SIZE, so the part size could not grow to fit: give a larger part size"
          : "";
      throw new FileTooLargeError(
        `${formatS3Url(this.target)}: the file is longer than ${S3_MAX_PARTS} parts of ${partSize} bytes (${S3_MAX_PARTS * partSize} bytes), the most one upload holds${why}`,
      );
    }
    await this.slot(); // holds the writes back meanwhile
    if (this.settled) return;
    if (this.failure) throw this.failure;
    this.seal(full, this.filled);
    this.current = undefined;
    this.filled = 0;
    this.current = await this.takeBuffer();
  }

  private seal(buffer: Buffer, length: number): void {
    const body = buffer.subarray(0, length);
    // The buffer goes back for reuse only once the hash has read it too, which may be after S3 has it.
    const hashed = this.options.hash.update(body);
    const { crc } = this.options;
    const partCrc = crc?.update(body);
    this.sealedBytes += length;
    const partNumber = this.nextPartNumber++;
    this.creating ??= this.sink
      .createMultipartUpload(this.target, {
        ...this.objectOptions(),
        ...(crc === undefined ? {} : { fullObjectChecksum: true }),
      })
      .then((id) => {
        this.id = id;
        return id;
      });
    const sent = Promise.all([this.creating, partCrc])
      .then(([uploadId, crc64nvme]) =>
        this.sink.uploadPart(
          this.target,
          uploadId,
          partNumber,
          body,
          crc64nvme === undefined ? undefined : { crc64nvme },
        ),
      )
      .then((etag) => {
        this.done.push({ partNumber, etag });
      });
    const fail = (error: unknown) => this.fail(error);
    const request: Promise<void> = Promise.all([sent.catch(fail), hashed?.catch(fail)])
      .then(() => {})
      .finally(() => {
        this.inFlight.delete(request);
        this.release(buffer);
      });
    this.inFlight.add(request);
  }

  private objectOptions(): ObjectOptions {
    const { metadata, ifNoneMatch, landing } = this.options;
    return { metadata, ifNoneMatch, ...(landing === undefined ? {} : { landing: landing() }) };
  }

  /** Waits until fewer than queueSize parts are in flight (or a part failed): "Parts uploaded at once". */
  private async slot(): Promise<void> {
    while (this.inFlight.size >= this.options.queueSize && this.failure === undefined) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private async takeBuffer(): Promise<Buffer> {
    const max = this.options.buffers ?? this.options.queueSize;
    for (;;) {
      if (this.failure) throw this.failure;
      const reused = this.spare.pop();
      if (reused !== undefined) return reused;
      if (this.allocated < max) {
        this.allocated += 1;
        const size = this.bufferSize();
        // A whole part's buffer is shared memory: its CRC64NVME may be computed by a worker thread
        // reading it in place. A smaller first one holds a one-part file, CRC'd here at its commit.
        return size === this.options.partSize
          ? Buffer.from(new SharedArrayBuffer(size))
          : Buffer.allocUnsafeSlow(size);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.settled) return Buffer.alloc(0);
    }
  }

  /** A whole part, except for the first buffer of a file known to be smaller than one. */
  private bufferSize(): number {
    const { partSize, expectedBytes } = this.options;
    if (this.allocated > 1 || expectedBytes === null) return partSize;
    return Math.min(partSize, Math.max(expectedBytes, MIN_FIRST_BUFFER));
  }

  private release(buffer: Buffer): void {
    // A grown-out-of first buffer is smaller than a part: let it go rather than reuse it.
    if (buffer.length === this.options.partSize) this.spare.push(buffer);
    else this.allocated -= 1;
    // Everyone waiting re-checks (a writer for a buffer or a slot, commit or suspend for a slot):
    // waking only one could leave suspend waiting for a part that will never come back.
    this.wakeAll();
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure =
      error instanceof Ftp2s3Error
        ? error
        : new S3Error(error instanceof Error ? error.message : String(error), undefined, { cause: error });
    this.rejectFailed(this.failure);
    this.wakeAll();
  }

  /** Resolves once every chunk written so far has gone through `_write` (ends the stream: see _final). */
  private async absorbed(): Promise<void> {
    if (this.writableFinished || this.destroyed) return;
    await new Promise<void>((resolve) => {
      this.once("finish", resolve);
      this.once("close", resolve);
      if (!this.writableEnded) this.end();
    });
  }

  private settle(): void {
    this.settled = true;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** Waits until the upload's creation and every part request have settled, whatever their outcome. */
  private async settleRequests(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.creating?.catch((error: unknown) => this.fail(error));
  }
}
