import {
  abortReason,
  Ftp2s3Error,
  FtpReplyError,
  NoServerDigestError,
  ObjectExistsError,
  RestartRefusedError,
  SizeMismatchError,
  SourceChangedError,
  TransferAbortedError,
  throwIfAborted,
  untilAborted,
} from "./errors.js";
import type { FileCopy, Prepared } from "./file-copy.js";
import { Intake } from "./intake.js";
import { formatS3Url } from "./locations.js";
import { landingAt } from "./object-landing.js";
import { SOURCE_DIGEST_TAG } from "./object-settings.js";
import { type CommittedUpload, PartUpload } from "./part-upload.js";
import type { FtpReply, RemoteFileInfo } from "./ports.js";
import { ProgressReporter } from "./progress.js";
import { assertSameDigest, type SourceDigest, withExtraDigest } from "./source-digest.js";
import {
  describeChange,
  describeVersion,
  isSameVersion,
  sourceMetadata,
  unchangedResult,
} from "./source-version.js";
import type { CopyOutcome, CopyResult, SuspendedResult } from "./transfer.js";

/** Why a download was stopped on purpose: not an error, the copy suspends. */
const SUSPEND = Symbol("suspend");

/**
 * The prepared copy's leg over the wire, in its steps: transfer (RETR into the upload), gate (the
 * commit rule), recheck (the file is still the one the copy started from), and the outcome (committed, suspended, or cancelled with nothing left behind).
 * The recheck is a stat on the session, or the facts the caller supplies (CopyOptions.recheck) once
 * the session is released.
 */
export class CopyLeg {
  /** The offset this leg starts from (a resumed copy's earlier legs hold the bytes before it). */
  private readonly startAt: number;
  /** A later leg of a mirrored copy ("skip-unchanged") may replace the older version its first leg found. */
  private readonly conditional: boolean;
  private readonly upload: PartUpload;
  private readonly progress: ProgressReporter;
  /**
   * One signal stops the download for every reason: the caller's, a suspension, too many bytes, or
   * S3 failing under us (there is no point reading on, and a stalled body would hold the data socket
   * open forever).
   */
  private readonly stop = new AbortController();
  /**
   * Bytes the download handed to the upload. The intake itself lives only while the file is read:
   * basic-ftp's pipeline leaves its listeners on it, which hold the data socket and the FTP task
   * (its launching stack's frames included). A mirror's small file waiting for its after-copy check
   * would keep all that for seconds, hundreds of files at once.
   */
  private receivedBytes = 0;
  private downloaded = false;

  constructor(
    private readonly copy: FileCopy,
    private readonly prepared: Prepared,
  ) {
    const { request, opts } = copy;
    const { info, resumed, plan, hash, crc, digest } = prepared;
    this.startAt = resumed?.point.offset ?? 0;
    this.conditional =
      prepared.believedAbsent || request.ifExists === "fail" || request.ifExists === "fail-unless-unchanged";
    this.upload = new PartUpload(copy.sink, request.target, {
      partSize: plan.partSize,
      queueSize: plan.queueSize,
      buffers: plan.buffers,
      metadata: prepared.object.metadata,
      ifNoneMatch: this.conditional,
      landing: () => landingAt(prepared.object, copy.now()),
      expectedBytes: info.size === null ? null : Math.max(0, info.size - this.startAt),
      hash: withExtraDigest(hash, digest?.extra ?? null),
      ...(crc === null ? {} : { crc }),
      tagSha256: opts.tagWithSha256,
      ...(resumed === null ? {} : { resume: { uploadId: resumed.point.uploadId, parts: resumed.parts } }),
    });
    this.progress = new ProgressReporter({
      totalBytes: info.size,
      startBytes: this.startAt,
      intervalMs: opts.progressIntervalMs,
      emit: opts.onProgress ?? (() => {}),
      now: copy.now,
    });
  }

  async run(): Promise<CopyOutcome> {
    this.listen();
    try {
      const reply = await this.transfer();
      this.gate(reply);
      const { recheck } = this.copy.opts;
      if (recheck === undefined) await this.recheckSource();
      const sourceDigest = await this.askServerDigest();
      // Asked for before the session is released: the caller's next use of it may be the answer.
      const suppliedFacts = recheck?.(this.copy.request.path, this.prepared.info);
      this.release();
      if (suppliedFacts !== undefined) this.assertUnchanged(await suppliedFacts);
      // Past this point the server has confirmed the file: finish the commit even if the deadline
      // fires meanwhile (the caller's margin covers the last parts), rather than race it and leave an
      // object behind a reported failure.
      return await this.commit(reply, sourceDigest);
    } catch (caught) {
      return await this.afterFailure(caught);
    } finally {
      this.stopListening();
    }
  }

  private readonly forwardCallerAbort = () => this.stop.abort(this.copy.time.stop?.reason);

  private readonly suspend = () => {
    if (!this.downloaded) this.stop.abort(SUSPEND);
  };

  private listen(): void {
    const { stop, suspend } = this.copy.time;
    stop?.addEventListener("abort", this.forwardCallerAbort, { once: true });
    if (this.prepared.resumable) {
      if (suspend?.aborted) this.suspend();
      else suspend?.addEventListener("abort", this.suspend, { once: true });
    }
    this.upload.failed.catch((error: unknown) => this.stop.abort(error));
  }

  /**
   * The caller's signals matter only while the file is read: a mirror's copies share one signal, and
   * a listener kept through a slow commit piles up with the next files' (MaxListenersExceededWarning).
   */
  private stopListening(): void {
    this.copy.time.stop?.removeEventListener("abort", this.forwardCallerAbort);
    this.copy.time.suspend?.removeEventListener("abort", this.suspend);
  }

  private received(bytes: number): void {
    this.receivedBytes = bytes;
    const total = this.startAt + bytes;
    this.progress.update(total);
    const { size } = this.prepared.info;
    // More than SIZE can never pass the gate: stop now rather than read (and upload) the rest.
    if (size !== null && total > size && !this.stop.signal.aborted) this.stop.abort(this.overrun(size));
  }

  /**
   * Read from byte 0, more than announced means the file grew since it was looked at: a partner still
   * writes it, so it is left for the next run like one found changed after the read (a server that
   * lies at every look shows as a file that changes every run: the mirror's MirrorFilesChanged).
   * From an offset, the server may have ignored REST and sent the file from its start.
   */
  private overrun(size: number): Ftp2s3Error {
    const { url, request } = this.copy;
    if (this.startAt > 0) {
      return new SizeMismatchError(
        `${url}: the server sent more than the ${size} bytes SIZE announced (did it ignore REST ${this.startAt}?)`,
        size,
        this.startAt + this.receivedBytes,
      );
    }
    const announcer = request.known === undefined ? "SIZE" : "the listing";
    return new SourceChangedError(
      `${url} grew past the ${size} bytes ${announcer} announced while it was read (still being written): nothing was stored, it is left for the next run`,
      true,
    );
  }

  /** RETR into the upload; resolves with the final reply once every byte is handed on. */
  private async transfer(): Promise<FtpReply> {
    const { source, request } = this.copy;
    const intake = new Intake(this.upload, (bytes) => this.received(bytes));
    const reply = await untilAborted(
      () => source.download(request.path, intake, this.stop.signal, this.startAt),
      this.stop.signal,
      // The stop signal's reason as it is: SUSPEND is not an error, and the others are ours already.
      (signal) => signal.reason,
    );
    this.downloaded = true;
    await intake.flush();
    this.progress.finish(this.totalBytes());
    return reply;
  }

  /** The commit rule, for the parts the core can see: a 2xx final reply and the announced size. */
  private gate(reply: FtpReply): void {
    const { url } = this.copy;
    // The adapter resolves only on 2xx, but the rule is the product: check again where it is decided.
    if (reply.code < 200 || reply.code > 299) {
      throw new FtpReplyError(
        `RETR ${url} ended with ${reply.code} ${reply.message}`,
        reply.code,
        reply.message,
      );
    }
    const expectedBytes = this.prepared.info.size;
    const receivedBytes = this.totalBytes();
    if (expectedBytes !== null && receivedBytes !== expectedBytes) {
      throw new SizeMismatchError(
        `${url}: the server confirmed the transfer (${reply.code} ${reply.message}) after ${receivedBytes} bytes, but SIZE announced ${expectedBytes}`,
        expectedBytes,
        receivedBytes,
      );
    }
    throwIfAborted(this.stop.signal);
  }

  /**
   * SIZE and MDTM again, on the same session and before it is released (a mirror reads its next file
   * on it): a 2xx vouches for the bytes sent, not for a file still being written. One that changed
   * since the copy started is not committed: the next run copies it whole.
   */
  private async recheckSource(): Promise<void> {
    const { source, request } = this.copy;
    const before = this.prepared.info;
    if (before.size === null && before.modifiedAt === null) return; // as sizeCheck "skipped": nothing to compare
    this.assertUnchanged(await untilAborted(() => source.stat(request.path), this.stop.signal));
  }

  /** The second look at the file (null: it is gone) against the first: a change is not committed. */
  private assertUnchanged(now: RemoteFileInfo | null): void {
    const { url } = this.copy;
    const change = describeChange(this.prepared.info, now);
    if (change !== null) {
      throw new SourceChangedError(
        `${url} changed while it was copied (${change}): nothing was stored, it is left for the next run`,
      );
    }
  }

  /**
   * The server's own digest of the file, on the same session before it is released: one command,
   * only when the server offers one. No digest (refused, unparsable) is said, never taken as a pass.
   */
  private async askServerDigest(): Promise<SourceDigest | null> {
    const plan = this.prepared.digest;
    const { source, request, url, opts } = this.copy;
    const ask = source.digest?.bind(source);
    if (plan === null || ask === undefined) return null;
    const answer = await untilAborted(() => ask(request.path, plan.algorithm), this.stop.signal);
    if ("value" in answer) return answer;
    if (opts.serverDigest === "require") {
      throw new NoServerDigestError(
        `${url}: the server gave no ${plan.algorithm} of the file (serverDigest "require"): ${answer.unavailable}`,
      );
    }
    this.copy.warn(
      `${url}: the server gave no ${plan.algorithm} of the file; it is stored on the commit gate alone`,
      {
        reason: answer.unavailable,
      },
    );
    return null;
  }

  /** The streamed digest the server's is compared with: the SHA-256, or the extra one of the plan. */
  private verifyAgainst(sourceDigest: SourceDigest | null): (sha256: string) => void {
    return (sha256) => {
      if (sourceDigest === null) return;
      const extra = this.prepared.digest?.extra ?? null;
      assertSameDigest(sourceDigest, extra === null ? sha256 : extra.hex(), this.copy.url);
    };
  }

  /**
   * The FTP session is no longer needed: from here on the commit finishes whatever the signals say
   * (facts still awaited come from a caller that answers a stop itself).
   */
  private release(): void {
    this.stopListening();
    this.copy.opts.onDownloaded?.();
  }

  private async commit(reply: FtpReply, sourceDigest: SourceDigest | null): Promise<CopyResult> {
    const { opts, request } = this.copy;
    const moreTags = sourceDigestTag(sourceDigest);
    const committed = await this.upload.commit(this.verifyAgainst(sourceDigest), moreTags);
    if (committed.answerLost !== undefined) {
      this.copy.warn(committed.answerLost, { bucket: request.target.bucket, key: request.target.key });
    }
    const tagged = opts.tagWithSha256 ? await this.ensureTagged(committed, moreTags) : false;
    const { info } = this.prepared;
    return {
      status: "copied",
      bucket: request.target.bucket,
      key: request.target.key,
      bytes: this.totalBytes(),
      etag: committed.etag,
      ...(committed.versionId === undefined ? {} : { versionId: committed.versionId }),
      sha256: committed.sha256,
      ...(committed.crc64nvme === undefined ? {} : { crc64nvme: committed.crc64nvme }),
      ...(sourceDigest === null ? {} : { sourceDigest }),
      durationMs: this.copy.elapsedMs(),
      ftpReply: reply,
      source: this.sourceFacts(),
      sizeCheck: info.size === null ? "skipped" : "matched",
      partSize: this.prepared.plan.partSize,
      tagged,
      ...(this.startAt > 0 ? { resumedFrom: this.startAt } : {}),
    };
  }

  /**
   * Whether the committed object carries its sha256 tag: a file in one PutObject took it along (or S3
   * refused it there); a multipart upload's goes in a request of its own.
   */
  private async ensureTagged(committed: CommittedUpload, moreTags: Record<string, string>): Promise<boolean> {
    if (committed.taggedInline) return true;
    const { sink, request } = this.copy;
    let reason = committed.tagRefused;
    if (reason === undefined) {
      try {
        // S3 replaces the whole tag set: the templates' tags, set when the upload was created, go again.
        await sink.tag(request.target, {
          ...this.prepared.object.tags,
          sha256: committed.sha256,
          ...moreTags,
        });
        return true;
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
    }
    // The object is committed and its bytes verified; a missing tag loses provenance, not data.
    this.copy.warn(`committed ${formatS3Url(request.target)} but could not tag it with its SHA-256`, {
      reason,
    });
    return false;
  }

  /** A suspension, a refused restart or a lost conditional write end the leg; anything else cancels it. */
  private async afterFailure(caught: unknown): Promise<CopyOutcome> {
    const { request } = this.copy;
    let failure = caught;
    const callerStopped = this.copy.time.stopped;
    if (!callerStopped && this.stop.signal.reason === SUSPEND) {
      try {
        return await this.suspended();
      } catch (error) {
        failure = error; // a part failed meanwhile: the copy fails after all
      }
    }
    const error = callerStopped
      ? this.copy.time.stopReason()
      : this.stop.signal.aborted && this.stop.signal.reason !== SUSPEND
        ? abortReason(this.stop.signal)
        : asOurError(failure);
    if (!this.stop.signal.aborted) this.stop.abort(error); // closes the FTP side when the failure came from elsewhere
    await this.cancel(error);
    if (
      error instanceof ObjectExistsError &&
      this.conditional &&
      request.ifExists !== "fail" &&
      !callerStopped
    ) {
      return this.lostTheRace(error);
    }
    if (error instanceof RestartRefusedError && !callerStopped) {
      this.copy.warn(`${error.message}; the copy starts over from byte 0 in the next leg`, {});
      return { status: "suspended", reason: "no-restart", resumeAt: null, ...this.legFacts() };
    }
    throw error;
  }

  /** The deadline is near: keep what is uploaded, tell where the next leg goes on. */
  private async suspended(): Promise<SuspendedResult> {
    const suspension = await this.upload.suspend();
    const { info, plan } = this.prepared;
    return {
      status: "suspended",
      reason: this.copy.time.suspendReason(),
      resumeAt:
        suspension.uploadId === undefined
          ? null
          : {
              uploadId: suspension.uploadId,
              offset: suspension.bytes,
              partSize: plan.partSize,
              size: info.size as number,
              modifiedAt: (info.modifiedAt as Date).toISOString(),
              hashState: suspension.hashState as string,
              ...(suspension.crcState === undefined ? {} : { crcState: suspension.crcState }),
            },
      ...this.legFacts(),
    };
  }

  private async cancel(error: Ftp2s3Error): Promise<void> {
    const cleanup = await this.upload.cancel(error);
    if (!cleanup.clean) {
      this.copy.warn(
        `could not abort the multipart upload of ${formatS3Url(this.copy.request.target)}; the lifecycle rule will`,
        { uploadId: cleanup.uploadId, reason: cleanup.error?.message },
      );
    }
  }

  /**
   * The conditional write lost: another writer stored the key since it was found absent. "fail"
   * refuses any object, so only the modes where this very version counts as unchanged compare.
   */
  private async lostTheRace(error: ObjectExistsError): Promise<CopyOutcome> {
    const { sink, request, url } = this.copy;
    const { info } = this.prepared;
    const existing = await sink.head(request.target);
    if (existing !== null && isSameVersion(existing, url, info)) {
      return unchangedResult(request.target, existing, url, info, this.copy.elapsedMs());
    }
    throw new ObjectExistsError(
      `${formatS3Url(request.target)} was stored by another writer while this copy ran, from ${describeVersion(existing)} (this copy read ${describeVersion({ metadata: sourceMetadata(url, info) })}); it was not overwritten`,
      { cause: error },
    );
  }

  private totalBytes(): number {
    return this.startAt + this.receivedBytes;
  }

  private sourceFacts(): CopyResult["source"] {
    const { info } = this.prepared;
    return { url: this.copy.url, size: info.size, modifiedAt: info.modifiedAt?.toISOString() ?? null };
  }

  /** What a suspended leg reports besides where it stopped. */
  private legFacts() {
    return {
      bucket: this.copy.request.target.bucket,
      key: this.copy.request.target.key,
      bytes: this.receivedBytes,
      fromOffset: this.startAt,
      durationMs: this.copy.elapsedMs(),
      source: this.sourceFacts(),
    };
  }
}

/**
 * Which digest vouched for the bytes, as a tag beside the sha256 one: `source-digest: sha-256:<hex>`.
 * A tag, not metadata: a multipart upload's metadata is fixed when it starts, before the server vouches.
 */
function sourceDigestTag(digest: SourceDigest | null): Record<string, string> {
  return digest === null ? {} : { [SOURCE_DIGEST_TAG]: `${digest.algorithm}:${digest.value}` };
}

function asOurError(error: unknown): Ftp2s3Error {
  if (error instanceof Ftp2s3Error) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransferAbortedError(`transfer failed unexpectedly: ${message}`, { cause: error });
}
