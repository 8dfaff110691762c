import { NoServerDigestError, ObjectExistsError, S3Error } from "./errors.js";
import { formatS3Url } from "./locations.js";
import { type RenderedObject, renderObject } from "./object-landing.js";
import { SHA256_TAG, SOURCE_DIGEST_TAG } from "./object-settings.js";
import { choosePartSize, fitPartsToMemory, type PartPlan } from "./part-size.js";
import type { ExistingObject, FileSource, FullObjectChecksum, ObjectSink, RemoteFileInfo } from "./ports.js";
import { abandonUpload, recoverUpload } from "./resume.js";
import { fastSha256, type RunningHash, resumableSha256 } from "./sha256.js";
import { chooseServerDigest, type DigestPlan } from "./source-digest.js";
import { isSameVersion, sourceMetadata, unchangedResult } from "./source-version.js";
import { TimeBudget } from "./time-budget.js";
import type { CopyOptions, CopyRequest, UnchangedResult } from "./transfer.js";

export type Warn = (message: string, details: Record<string, unknown>) => void;

/** The earlier legs' upload and parts, when this leg goes on with them. */
export type RecoveredUpload = Awaited<ReturnType<typeof recoverUpload>>;

/** What the preparing step found, for the transfer step (CopyLeg). */
export interface Prepared {
  info: RemoteFileInfo;
  resumed: RecoveredUpload;
  hash: RunningHash;
  /** The object's CRC64NVME, when the sink sends S3 one. */
  crc: FullObjectChecksum | null;
  /** The server's digest to ask for after the transfer, or null when none is (see ServerDigestMode). */
  digest: DigestPlan | null;
  /** A suspend signal was given and the file can be recognised again (SIZE and MDTM). */
  resumable: boolean;
  /** Part size and buffers, within the memory budget. */
  plan: PartPlan;
  /** The key held no object when checked (or the caller listed it absent): the write is conditional. */
  believedAbsent: boolean;
  /** Metadata, tags, content type and the rest, rendered for this file and within S3's limits. */
  object: RenderedObject;
}

/**
 * One copy of one remote file, from the request to the point where the upload may start: what the
 * server says about the file, the earlier legs' upload (when resuming), the existence check, the
 * part plan and the hash. The transfer, the commit gate and the outcome are CopyLeg's steps.
 */
export class FileCopy {
  readonly url: string;
  readonly warn: Warn;
  readonly now: () => number;
  readonly startedAt: number;
  readonly time: TimeBudget;
  /** An earlier leg's upload stays open until this leg takes it over (or finds it must start over). */
  private earlierUpload: string | undefined;

  constructor(
    readonly source: FileSource,
    readonly sink: ObjectSink,
    readonly request: CopyRequest,
    readonly opts: CopyOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.url = source.urlOf(request.path);
    this.warn = opts.onWarning ?? (() => {});
    this.time = new TimeBudget(opts);
    this.earlierUpload = request.resumeFrom?.uploadId;
  }

  elapsedMs(): number {
    return Math.round(this.now() - this.startedAt);
  }

  /**
   * Everything before the upload. Resolves with an "unchanged" outcome (its duration to fill in) when
   * the key already holds this version.
   */
  async prepare(): Promise<Prepared | UnchangedResult> {
    try {
      const { info, resumed } = await this.readSource();
      const existing = await this.checkExisting(info, resumed);
      if ("status" in existing) return existing;
      this.time.throwIfStopped();
      const object = this.renderObject(info);
      this.opts.onCopyDecided?.(info);
      const plan = this.planParts(info, resumed);
      const { hash, resumable } = await this.chooseHash(info, resumed);
      const digest = await this.planServerDigest(resumed);
      // An upload the earlier legs opened without a CRC cannot take one now: none is sent then.
      const crcFrom = resumed?.point.crcState;
      const crc = resumed !== null && crcFrom === undefined ? null : await this.fullObjectChecksum(crcFrom);
      return {
        info,
        resumed,
        hash,
        crc,
        digest,
        resumable,
        plan,
        believedAbsent: existing.believedAbsent,
        object,
      };
    } catch (error) {
      // The commit rule holds across legs: a leg that fails leaves no upload open.
      if (this.earlierUpload !== undefined) {
        await abandonUpload(this.sink, this.request.target, this.earlierUpload, this.warn);
      }
      throw error;
    }
  }

  /** SIZE and MDTM (or what the listing gave), and the earlier legs' upload when resuming. */
  private async readSource(): Promise<{ info: RemoteFileInfo; resumed: RecoveredUpload }> {
    const { path, target, resumeFrom, known } = this.request;
    if (resumeFrom === undefined) return { info: known ?? (await this.source.stat(path)), resumed: null };
    const info = await this.source.stat(path);
    const resumed = await recoverUpload(this.sink, target, resumeFrom, info, this.warn);
    // Aborted or found gone: the copy starts over, and nothing of the earlier legs is left to abandon.
    if (resumed === null) this.earlierUpload = undefined;
    return { info, resumed };
  }

  /** Whether the key is believed free, or the "unchanged" outcome; refuses what ifExists forbids. */
  private async checkExisting(
    info: RemoteFileInfo,
    resumed: RecoveredUpload,
  ): Promise<{ believedAbsent: boolean } | UnchangedResult> {
    const { ifExists, target, resumeFrom } = this.request;
    if (resumed !== null || ifExists === "replace" || ifExists === "create") {
      return { believedAbsent: ifExists === "create" && resumed === null };
    }
    const { existing, forbidden } = await this.headUnlessForbidden(ifExists !== "skip-unchanged");
    const sameVersion = existing !== null && isSameVersion(existing, this.url, info);
    // A continuation finding this very version at the key: an earlier delivery of the same message
    // finished the copy (the first leg found the key free, or the copy could not have started).
    const finishedByUs = sameVersion && resumeFrom !== undefined;
    const refused =
      ifExists === "fail" ? !finishedByUs : ifExists === "fail-unless-unchanged" && !sameVersion;
    if (existing !== null && refused) {
      throw new ObjectExistsError(`${formatS3Url(target)} already exists and overwriting was not allowed`);
    }
    if (existing !== null && sameVersion) return unchangedResult(target, existing, this.url, info, 0);
    // A check S3 forbade proves nothing absent: a skip-unchanged copy then replaces, as it says.
    return { believedAbsent: existing === null && !forbidden };
  }

  /**
   * The object at the key; null when there is none, and also when S3 forbids the check (a HeadObject
   * without s3:ListBucket reads 403 for a missing key): the write is then conditional (If-None-Match: *),
   * which S3 refuses with 412 (OBJECT_EXISTS) when an object is there, so the check is only a shortcut.
   * A copy that may replace a changed object (skip-unchanged) just copies again.
   */
  private async headUnlessForbidden(
    conditional: boolean,
  ): Promise<{ existing: ExistingObject | null; forbidden: boolean }> {
    const { target } = this.request;
    try {
      return { existing: await this.sink.head(target), forbidden: false };
    } catch (error) {
      if (!(error instanceof S3Error && error.httpStatus === 403)) throw error;
      const instead = conditional
        ? "the conditional write (If-None-Match: *) decides instead: an object already there fails the copy with OBJECT_EXISTS and is not replaced"
        : "the copy goes ahead and replaces what may be there (an unchanged object is copied again)";
      this.warn(`${error.message}; ${instead}`, { bucket: target.bucket, key: target.key, httpStatus: 403 });
      return { existing: null, forbidden: true };
    }
  }

  /**
   * The tags written beside the templates': the SHA-256, and which server digest vouched where one
   * may (counted whether or not the server offers one: S3's limit of ten must hold either way).
   */
  private ownTags(): string[] {
    if (!this.opts.tagWithSha256) return [];
    return this.opts.serverDigest === "off" ? [SHA256_TAG] : [SHA256_TAG, SOURCE_DIGEST_TAG];
  }

  /** The object settings' values for this file: a value beyond S3's limits fails it before any byte is read. */
  private renderObject(info: RemoteFileInfo): RenderedObject {
    const { path } = this.request;
    return renderObject(
      this.opts.object ?? {},
      { path, url: this.url, info },
      sourceMetadata(this.url, info),
      { ownTags: this.ownTags() },
    );
  }

  /**
   * Before any byte is read or an upload created: a SIZE (or a resumed leg's part size) that needs
   * more memory than the budget is refused here, not met by an out-of-memory kill mid-transfer.
   */
  private planParts(info: RemoteFileInfo, resumed: RecoveredUpload): PartPlan {
    const startAt = resumed?.point.offset ?? 0;
    return fitPartsToMemory({
      partSize: resumed?.point.partSize ?? choosePartSize(info.size, this.opts.partSize),
      queueSize: this.opts.queueSize,
      budget: this.opts.memoryBudget,
      expectedBytes: info.size === null ? null : Math.max(0, info.size - startAt),
      file: this.url,
    });
  }

  /**
   * Which digest the server is asked for after the transfer: the strongest it offers that covers the
   * whole file. One FEAT a session, and nothing at all with "off".
   */
  private async planServerDigest(resumed: RecoveredUpload): Promise<DigestPlan | null> {
    const mode = this.opts.serverDigest;
    if (mode === "off") return null;
    const offered = (await this.source.digestAlgorithms?.()) ?? [];
    const plan = chooseServerDigest(offered, resumed?.point.offset ?? 0);
    if ("algorithm" in plan) return plan;
    if (mode === "require") {
      throw new NoServerDigestError(
        `${this.url}: no server digest to verify the file with (serverDigest "require"): ${plan.why}`,
      );
    }
    // Said only when the server has digests this copy cannot use: most servers have none at all.
    if (offered.length > 0) this.warn(`${this.url}: the server's digest is not used: ${plan.why}`, {});
    return null;
  }

  private async fullObjectChecksum(saved: string | undefined): Promise<FullObjectChecksum | null> {
    return (await this.sink.fullObjectChecksum?.(saved)) ?? null;
  }

  /** Only a copy that may go on in another process pays for a hash whose state can be saved. */
  private async chooseHash(
    info: RemoteFileInfo,
    resumed: RecoveredUpload,
  ): Promise<{ hash: RunningHash; resumable: boolean }> {
    const { suspend } = this.time;
    const resumable = suspend !== undefined && info.size !== null && info.modifiedAt !== null;
    if (suspend !== undefined && !resumable) {
      this.warn(
        `${this.url} cannot be resumed if it runs out of time: the server gave no SIZE or no MDTM`,
        {},
      );
    }
    if (resumed !== null) return { hash: await resumableSha256(resumed.point.hashState), resumable };
    return { hash: resumable ? await resumableSha256() : fastSha256(), resumable };
  }
}
