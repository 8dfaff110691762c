import { randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { S3Client } from "@aws-sdk/client-s3";
import type { ContinuationKeySource } from "../adapters/continuation-key.js";
import { connectFtpSource, type FtpSourceOptions } from "../adapters/ftp-source.js";
import { type Lookup, resolveAllowedAddress } from "../adapters/host-resolution.js";
import type { PasswordSource } from "../adapters/passwords.js";
import { createS3Sink } from "../adapters/s3-sink.js";
import type { TransferQueue } from "../adapters/transfer-queue.js";
import type { MirrorJob, TransferMetricName, TransferRequest, Trigger } from "../contracts/index.js";
import {
  type Config,
  type ConnectionSettings,
  connectionSettingsOf,
  isStateKey,
  keyEscapeReason,
  keySpaceOf,
  type MirrorMetricName,
  type MirrorSettings,
  mirrorSettingsOf,
  type TransferSettings,
  transferSettingsOf,
} from "../contracts/index.js";
import type { ErrorCode, FileSource, ObjectSink } from "../core/index.js";
import {
  abandonUpload,
  assertStateOutsidePrefix,
  assertValidKey,
  type CopyOptions,
  type CopyOutcome,
  copyFile,
  Ftp2s3Error,
  FtpReplyError,
  type IfExists,
  type MirrorSummary,
  NotAllowedError,
  ResumeLimitError,
  resolveAllowedDirectory,
  resolveAllowedFile,
  runMirror,
  type SuspendedResult,
  stateKeyFor,
  TransferAbortedError,
  untilAborted,
} from "../core/index.js";
import { signContinuation } from "./continuation-signature.js";
import { lambdaMemoryBudget } from "./memory-budget.js";

export type { Trigger } from "../contracts/index.js";

/** Everything the handler needs from outside, built once per container (or by a test). */
export interface HandlerDeps {
  config: Config;
  s3: S3Client;
  /** The ingestion queue; absent when none is configured (async API calls are then refused). */
  queue: TransferQueue | undefined;
  passwords: PasswordSource;
  /** Signs and checks continuations; without it (or when it gives none) no copy suspends. */
  continuationKey?: ContinuationKeySource;
  logger: Logger;
  metrics: Metrics;
  /** Opens an FTP session; replaced in tests that need another client. */
  connect?: (options: FtpSourceOptions) => Promise<FileSource>;
  /** Resolves host names; replaced in tests. */
  lookup?: Lookup;
  newId?: () => string;
}

/** The transfers the triggers ask for, with the connection fence, logs and metrics around the core. */
export class Transfers {
  private readonly sink: ObjectSink;
  private readonly connect: (options: FtpSourceOptions) => Promise<FileSource>;
  readonly newId: () => string;
  /** Bytes the part buffers may take, shared by a mirror's sessions. */
  private readonly memoryBudget: number;
  /** The config in bytes and milliseconds, converted once per container. */
  private readonly transfer: TransferSettings;
  private readonly mirrorSettings: MirrorSettings;
  private readonly connections: ReadonlyMap<string, ConnectionSettings>;

  constructor(private readonly deps: HandlerDeps) {
    this.memoryBudget = lambdaMemoryBudget(deps.config.transfer.memoryBudgetMiB, process.env);
    this.sink = createS3Sink(deps.s3);
    this.connect = deps.connect ?? connectFtpSource;
    this.newId = deps.newId ?? randomUUID;
    this.transfer = transferSettingsOf(deps.config);
    this.mirrorSettings = mirrorSettingsOf(deps.config);
    this.connections = new Map(
      Object.entries(deps.config.connections).map(([name, c]) => [name, connectionSettingsOf(c)]),
    );
  }

  /** The configured connection of that name; callers cannot name anything else. */
  connection(name: string): ConnectionSettings {
    const connection = this.connections.get(name);
    if (connection === undefined) throw new NotAllowedError(`no connection named "${name}" is configured`);
    return connection;
  }

  /** Checks a request against the fence and the key rules without transferring anything. */
  resolve(request: TransferRequest): { connection: ConnectionSettings; path: string; key: string } {
    const connection = this.connection(request.connection);
    const path = resolveAllowedFile(request.path, connection.roots, request.connection, connection.pathStyle);
    const key = this.keyIn(request.connection, request.key ?? path.slice(1), "key");
    return { connection, path, key };
  }

  /**
   * A key below the connection's key space (`prefix` + its keyPrefix), or NOT_ALLOWED when it would
   * leave it: a leading "/", a "\\" (some tools read it as a separator) or a "." or ".." segment.
   */
  private keyIn(name: string, relative: string, what: string): string {
    const space = keySpaceOf(this.deps.config, name);
    if (keyEscapeReason(relative) !== undefined) {
      throw new NotAllowedError(
        `the ${what} ${JSON.stringify(relative)} leaves connection "${name}"'s key space "${space}" (no leading "/", "\\", "." or ".." segments)`,
      );
    }
    const key = space + relative;
    if (isStateKey(this.deps.config, key)) {
      throw new NotAllowedError(`the ${what} ${JSON.stringify(key)} lies in ftp2s3's own state`);
    }
    if (relative !== "") assertValidKey(key);
    return key;
  }

  /**
   * One leg of a copy. With a `suspendSignal` (and an ingestion queue) a copy that runs out of time
   * stops at a part boundary and goes on in a new invocation: the continuation goes on the queue, and
   * the outcome is "suspended". A continuation (request.continuation) checks the source is unchanged
   * and goes on from the parts already uploaded.
   */
  async copy(
    request: TransferRequest,
    trigger: Trigger,
    ifExists: IfExists,
    signal: AbortSignal,
    suspendSignal?: AbortSignal,
  ): Promise<CopyOutcome> {
    const { path, key } = this.resolve(request);
    const { bucket } = this.deps.config;
    const { transfer } = this;
    const { continuation } = request;
    const transferId = request.transferId ?? this.newId();
    const log = withKeys(this.deps.logger, {
      transferId,
      trigger,
      connection: request.connection,
      path,
      bucket,
      key,
      ...(continuation === undefined ? {} : { continuation: continuation.number }),
    });
    const resumeAt = continuation?.resumeAt ?? undefined;
    if (continuation === undefined) log.info("transfer started");
    else if (resumeAt === undefined) {
      log.info(`continuation ${continuation.number} of a copy, from byte 0 (the previous leg kept nothing)`);
    } else {
      log.info(
        `continuation ${continuation.number} of a copy of ${resumeAt.size} bytes, from offset ${resumeAt.offset}`,
        { uploadId: resumeAt.uploadId, offset: resumeAt.offset, size: resumeAt.size },
      );
    }
    // A leg may stop to go on later only where there is a queue to go on from, and a server that
    // restarts a transfer at an offset.
    const startedAt = Date.now();
    try {
      // Only a signed continuation can be trusted by the next leg: no key, no suspension.
      const signingKey =
        this.deps.queue !== undefined && continuation?.noRestart !== true
          ? await this.deps.continuationKey?.()
          : undefined;
      const mayContinue = signingKey !== undefined;
      const source = await this.openSource(request.connection, signal).catch(async (error: unknown) => {
        // A leg that cannot even connect fails like any other: it leaves no upload open.
        if (resumeAt !== undefined) {
          await abandonUpload(this.sink, { bucket, key }, resumeAt.uploadId, (m, d) => log.warn(m, d));
        }
        throw error;
      });
      let outcome: CopyOutcome;
      try {
        outcome = await copyFile(
          source,
          this.sink,
          {
            path,
            target: { bucket, key },
            ifExists,
            ...(resumeAt === undefined ? {} : { resumeFrom: resumeAt }),
          },
          {
            ...this.copyOptions(signal),
            ...(mayContinue && suspendSignal !== undefined ? { suspendSignal } : {}),
            onProgress: (progress) => log.info("transfer progress", { ...progress }),
            // A warning (an abort S3 refused, a tag not written) carries the transfer's keys too.
            onWarning: (message, details) => log.warn(message, details),
          },
        );
      } finally {
        source.close();
      }
      if (outcome.status === "suspended") {
        await this.continueLater(
          request,
          transferId,
          ifExists,
          outcome,
          transfer.maxContinuations,
          log,
          signingKey as Uint8Array,
        );
        this.recordMetrics(outcome.bytes, Date.now() - startedAt, false);
        return outcome;
      }
      log.info(outcome.status === "copied" ? "transfer completed" : "transfer skipped: unchanged", {
        ...outcome,
      });
      this.recordMetrics(
        outcome.status === "copied" ? outcome.bytes - (outcome.resumedFrom ?? 0) : 0,
        Date.now() - startedAt,
        false,
      );
      return outcome;
    } catch (error) {
      log.error("transfer failed", logFields(error));
      this.recordMetrics(0, Date.now() - startedAt, true);
      throw error;
    }
  }

  /** Puts the next leg of a suspended copy on the queue, or gives up (and aborts) past the limit. */
  private async continueLater(
    request: TransferRequest,
    transferId: string,
    ifExists: IfExists,
    outcome: SuspendedResult,
    maxContinuations: number,
    log: KeyedLog,
    signingKey: Uint8Array,
  ): Promise<void> {
    const number = (request.continuation?.number ?? 0) + 1;
    const { resumeAt } = outcome;
    const target = { bucket: outcome.bucket, key: outcome.key };
    const giveUp = async (error: Ftp2s3Error): Promise<never> => {
      if (resumeAt !== null) {
        await abandonUpload(this.sink, target, resumeAt.uploadId, (m, d) => log.warn(m, d));
      }
      throw error;
    };
    if (number > maxContinuations) {
      return giveUp(
        new ResumeLimitError(
          `${outcome.source.url} was not copied after ${maxContinuations} continuation${maxContinuations === 1 ? "" : "s"} (${resumeAt?.offset ?? 0} of ${outcome.source.size ?? "?"} bytes uploaded); the upload was aborted`,
        ),
      );
    }
    // A continuation that kept no new part would only run out of time again, a whole invocation at a
    // time (a server trickling just above the minimum rate): a copy gets one leg without progress.
    const kept = resumeAt?.offset ?? 0;
    if (request.continuation !== undefined && outcome.reason === "deadline" && kept <= outcome.fromOffset) {
      return giveUp(
        new ResumeLimitError(
          `${outcome.source.url}: continuation ${number - 1} made no progress (${outcome.bytes} bytes read, no part kept beyond byte ${outcome.fromOffset} of ${outcome.source.size ?? "?"}); the copy was given up and its upload aborted`,
        ),
      );
    }
    // The queued request as it came, with where to go on: "async" means nothing on the queue.
    const { async: _async, ...queued } = request;
    const unsigned = {
      ...queued,
      transferId,
      continuation: {
        number,
        resumeAt,
        ifExists,
        noRestart: outcome.reason === "no-restart" || request.continuation?.noRestart === true,
      },
    };
    const signature = signContinuation(unsigned, signingKey);
    const body = { ...unsigned, continuation: { ...unsigned.continuation, signature } };
    try {
      await (this.deps.queue as TransferQueue)(body);
    } catch (error) {
      return giveUp(
        new TransferAbortedError(
          `could not queue the continuation of ${outcome.source.url}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        ),
      );
    }
    log.info(
      resumeAt === null
        ? `transfer suspended: continuation ${number} starts over from byte 0`
        : `transfer suspended at byte ${resumeAt.offset} of ${resumeAt.size}: continuation ${number} goes on from there`,
      {
        reason: outcome.reason,
        bytes: outcome.bytes,
        fromOffset: outcome.fromOffset,
        ...(resumeAt === null ? {} : { uploadId: resumeAt.uploadId, offset: resumeAt.offset }),
      },
    );
  }

  /**
   * A scheduled mirror. `deadlineAt` is when the invocation ends: when the time left is short, the
   * files not started yet go to the ingestion queue instead of failing with the deadline.
   */
  async mirror(job: MirrorJob, signal: AbortSignal, deadlineAt: number): Promise<MirrorSummary> {
    const connection = this.connection(job.connection);
    const remoteDir = resolveAllowedDirectory(
      job.remoteDir,
      connection.roots,
      job.connection,
      connection.pathStyle,
    );
    const { bucket, statePrefix } = this.deps.config;
    const mirror = this.mirrorSettings;
    // The job's prefix lies in its connection's key space, as a request's key does.
    const space = this.keyIn(job.connection, "", "key space");
    const keyPrefix = this.keyIn(job.connection, job.prefix, "mirror prefix");
    const state = { bucket, key: stateKeyFor(statePrefix, keyPrefix) };
    assertStateOutsidePrefix(state, bucket, keyPrefix, statePrefix);
    const mirrorId = this.newId();
    const log = withKeys(this.deps.logger, {
      mirrorId,
      trigger: "schedule",
      connection: job.connection,
      remoteDir,
      bucket,
    });
    log.info("mirror started", { ...job, prefix: keyPrefix });
    const { queue } = this.deps;
    // Start no file with less left than three deadline margins: one to copy, two to spare.
    const reserveMs = 3 * this.transfer.deadlineMarginMs;
    const { skippedEntries, ...summary } = await runMirror(
      () => this.openSource(job.connection, signal),
      this.sink,
      bucket,
      {
        remoteDir,
        keyPrefix,
        include: job.include,
        exclude: job.exclude,
        recursive: job.recursive,
        deleteExtraneous: job.deleteExtraneous,
        deleteRules: { allowEmptySource: job.allowEmptySource, maxDelete: job.maxDelete },
        dryRun: job.dryRun,
        state,
        limits: {
          ...(job.maxDepth === undefined ? {} : { maxDepth: job.maxDepth }),
          ...(job.maxEntries === undefined ? {} : { maxEntries: job.maxEntries }),
        },
      },
      {
        copy: this.copyOptions(undefined),
        concurrency: mirror.concurrency,
        signal,
        ...(queue === undefined
          ? {}
          : {
              enqueue: async (file) => {
                // The queued request names the key below the key space, as every request does.
                await queue({
                  connection: job.connection,
                  path: file.path,
                  key: file.key.slice(space.length),
                  transferId: `${mirrorId}:${file.relativePath}`,
                  mirrored: true,
                });
              },
              inlineBudget: { files: mirror.inlineFiles, bytes: mirror.inlineBytes },
              outOfTime: () => Date.now() > deadlineAt - reserveMs,
            }),
        onDelete: (key) => log.info("object deleted", { key }),
        onFile: (file) => {
          log.info(`file ${file.outcome}`, { ...file });
          if (file.outcome !== "unchanged") {
            this.recordMetrics(file.bytes, file.durationMs, file.outcome === "failed");
          }
        },
      },
    );
    this.recordMirrorMetrics(summary);
    const fields = { ...summary, skippedEntries };
    if (summary.deleteRefused !== undefined) log.error("mirror refused to delete", fields);
    else if (summary.failed.length > 0) log.error("mirror finished with failures", fields);
    else log.info("mirror completed", fields);
    return summary;
  }

  /** A logged-in session that ends when `signal` fires, in every phase (the deadline covers them all). */
  private async openSource(name: string, signal: AbortSignal): Promise<FileSource> {
    const connection = this.connection(name);
    const address = await untilAborted(
      () => resolveAllowedAddress(name, connection.host, connection.allowPrivateAddresses, this.deps.lookup),
      signal,
    );
    const secretArn = connection.passwordSecretArn;
    const password =
      secretArn === undefined ? undefined : await untilAborted(() => this.deps.passwords(secretArn), signal);
    return this.connect({
      signal,
      minBytesPerSecond: connection.minBytesPerSecond,
      minRateWindowMs: connection.minRateWindowMs,
      host: connection.host,
      address,
      port: connection.port,
      user: connection.anonymous ? undefined : connection.user,
      password,
      secure: connection.secure,
      ...(connection.caPem === undefined ? {} : { ca: connection.caPem }),
      timeoutMs: connection.timeoutMs,
    });
  }

  private copyOptions(signal: AbortSignal | undefined): Partial<CopyOptions> {
    const { transfer } = this;
    return {
      partSize: transfer.partSize,
      queueSize: transfer.queueSize,
      memoryBudget: this.memoryBudget,
      progressIntervalMs: transfer.progressIntervalMs,
      tagWithSha256: transfer.tagWithSha256,
      ...(signal ? { signal } : {}),
      onWarning: (message, details) => this.deps.logger.warn(message, details),
    };
  }

  private recordMirrorMetrics(summary: MirrorSummary): void {
    const metrics = {
      addMetric: (name: MirrorMetricName, unit: Parameters<Metrics["addMetric"]>[1], value: number) =>
        this.deps.metrics.addMetric(name, unit, value),
    };
    metrics.addMetric("MirrorFilesListed", MetricUnit.Count, summary.listed);
    metrics.addMetric("MirrorFilesCopied", MetricUnit.Count, summary.copied);
    metrics.addMetric("MirrorFilesUnchanged", MetricUnit.Count, summary.unchanged);
    metrics.addMetric("MirrorFilesEnqueued", MetricUnit.Count, summary.enqueued);
    metrics.addMetric("MirrorFilesFailed", MetricUnit.Count, summary.failed.length);
    metrics.addMetric("MirrorBytes", MetricUnit.Bytes, summary.bytes);
    metrics.addMetric("MirrorDuration", MetricUnit.Milliseconds, summary.durationMs);
  }

  private recordMetrics(bytes: number, durationMs: number, failed: boolean): void {
    const add = (name: TransferMetricName, unit: Parameters<Metrics["addMetric"]>[1], value: number) =>
      this.deps.metrics.addMetric(name, unit, value);
    add("BytesTransferred", MetricUnit.Bytes, bytes);
    add("TransferDuration", MetricUnit.Milliseconds, Math.round(durationMs));
    add("TransferFailed", MetricUnit.Count, failed ? 1 : 0);
  }
}

/** The lines of one transfer or mirror: the parent logger's, each carrying the same keys. */
interface KeyedLog {
  info(message: string, details?: object): void;
  warn(message: string, details?: object): void;
  error(message: string, details?: object): void;
}

/**
 * Not `createChild`: a Powertools child is a new Logger whose own cold-start flag is fresh, so it
 * logs `"cold_start": true` in every invocation. Writing through the parent keeps its invocation
 * context (cold start, request id) exact, and concurrent transfers share no mutable keys. A line's own
 * details come after the keys and win, as they did over a child's persistent keys.
 */
function withKeys(logger: Logger, keys: Record<string, unknown>): KeyedLog {
  return {
    info: (message, details = {}) => logger.info(message, keys, { ...details }),
    warn: (message, details = {}) => logger.warn(message, keys, { ...details }),
    error: (message, details = {}) => logger.error(message, keys, { ...details }),
  };
}

/** A failure in a log line: "message" is the log line's own key, so the error's text goes in "error". */
export function logFields(error: unknown): { code: ErrorCode | "INTERNAL"; error: string; ftpCode?: number } {
  const { message, ...rest } = failureFields(error);
  return { ...rest, error: message };
}

/** The fields a failure log line (and an API error body) carries: code, message, and the FTP reply code. */
export function failureFields(error: unknown): {
  code: ErrorCode | "INTERNAL";
  message: string;
  ftpCode?: number;
} {
  if (error instanceof FtpReplyError)
    return { code: error.code, message: error.message, ftpCode: error.ftpCode };
  if (error instanceof Ftp2s3Error) return { code: error.code, message: error.message };
  return { code: "INTERNAL", message: error instanceof Error ? error.message : String(error) };
}
