import { randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { S3Client } from "@aws-sdk/client-s3";
import type { ContinuationKeySource } from "../adapters/continuation-key.js";
import { connectFtpSource, type FtpSourceOptions } from "../adapters/ftp-source.js";
import type { Lookup } from "../adapters/host-resolution.js";
import type { PasswordSource } from "../adapters/passwords.js";
import { createS3Sink } from "../adapters/s3-sink.js";
import type { TransferQueue, TransferQueueBatch } from "../adapters/transfer-queue.js";
import { ConnectionFence, type FencedCopy } from "../app/connection-fence.js";
import { type CopyObserver, type CopyOneFileSettings, copyOneFile } from "../app/copy-one-file.js";
import { type MirrorPorts, mirrorDirectory, readinessOf, resolveMirror } from "../app/mirror-directory.js";
import { inProcessSessionBudgets, type SessionBudgets, type SlotWait } from "../app/session-budget.js";
import {
  type Config,
  type LedgerSettings,
  ledgerSettingsOf,
  type MirrorJob,
  type MirrorSettings,
  mirrorSettingsOf,
  objectSettingsOf,
  type RangeMessage,
  type TransferRequest,
  type TransferSettings,
  type Trigger,
  transferSettingsOf,
} from "../contracts/index.js";
import {
  type CopyOutcome,
  type FileSource,
  FtpBusyError,
  type IfExists,
  type LedgerRequest,
  type MirrorSummary,
  type ObjectSettings,
  type ObjectSink,
  type SourceActionReport,
  type TransferEvents,
  type TransferLedger,
} from "../core/index.js";
import { MAX_BUSY_RETURNS } from "./busy-return.js";
import { type KeyedLog, withKeys } from "./keyed-log.js";
import { LedgerLeg, type LedgerPorts } from "./ledger-leg.js";
import { lambdaMemoryBudget } from "./memory-budget.js";
import { mirrorEvent } from "./mirror-event.js";
import { queueContinuation } from "./queue-continuation.js";
import { RangeFanOut } from "./range-fanout.js";
import { RangeLegs } from "./range-leg.js";
import { LegReport, recordTransfer, reportMirror } from "./transfer-report.js";

/** Everything the handler needs from outside, built once per container (or by a test). */
export interface HandlerDeps {
  config: Config;
  s3: S3Client;
  /** The ingestion queue; absent when none is configured (async API calls are then refused). */
  queue: TransferQueue | undefined;
  /** Sends many messages to the ingestion queue at once (a fanned-out file's ranges); default one by one. */
  queueBatch?: TransferQueueBatch;
  passwords: PasswordSource;
  /** Signs and checks continuations; without it (or when it gives none) no copy suspends. */
  continuationKey?: ContinuationKeySource;
  logger: Logger;
  metrics: Metrics;
  /** Where each transfer's claim, progress and end are kept (DynamoDB in AWS). */
  ledger: TransferLedger;
  /** Where finished transfers and mirror runs are announced (EventBridge in AWS). */
  events: TransferEvents;
  /** Opens an FTP session; replaced in tests that need another client. */
  connect?: (options: FtpSourceOptions) => Promise<FileSource>;
  /** Resolves host names; replaced in tests. */
  lookup?: Lookup;
  /** Keeps each connection's session budget (maxSessions): the lease table; default in this container. */
  sessionBudgets?: SessionBudgets;
  /** How long a session waits for a free slot of its budget; default DEFAULT_SLOT_WAIT. */
  slotWait?: SlotWait;
  newId?: () => string;
}

/** The transfers the triggers ask for, with the connection fence, logs and metrics around the core. */
export class Transfers {
  private readonly sink: ObjectSink;
  private readonly fence: ConnectionFence;
  readonly newId: () => string;
  /** Bytes the part buffers may take, shared by a mirror's sessions. */
  private readonly memoryBudget: number;
  private readonly transfer: TransferSettings;
  private readonly mirrorSettings: MirrorSettings;
  readonly ledgerSettings: LedgerSettings;
  /** Leg 0 of a big file on a connection with rangeFanout; undefined without a queue. */
  private readonly rangeFanOut: RangeFanOut | undefined;
  /** The legs of a fanned-out file's ranges. */
  private readonly rangeLegs: RangeLegs;

  constructor(private readonly deps: HandlerDeps) {
    this.memoryBudget = lambdaMemoryBudget(deps.config.transfer.memoryBudgetMiB, process.env);
    this.sink = createS3Sink(deps.s3);
    this.fence = new ConnectionFence(deps.config, {
      passwords: deps.passwords,
      connect: deps.connect ?? connectFtpSource,
      lookup: deps.lookup,
      sessionBudgets: deps.sessionBudgets,
      slotWait: deps.slotWait,
    });
    this.newId = deps.newId ?? randomUUID;
    this.transfer = transferSettingsOf(deps.config);
    this.mirrorSettings = mirrorSettingsOf(deps.config);
    this.ledgerSettings = ledgerSettingsOf(deps.config);
    const { queue } = deps;
    const queueBatch =
      deps.queueBatch ??
      (queue === undefined
        ? undefined
        : async (messages: Record<string, unknown>[]) => {
            for (const message of messages) await queue(message);
          });
    this.rangeFanOut =
      queueBatch === undefined
        ? undefined
        : new RangeFanOut({
            fence: this.fence,
            sink: this.sink,
            ledger: deps.ledger,
            queueBatch,
            continuationKey: deps.continuationKey,
            transfer: this.transfer,
          });
    this.rangeLegs = new RangeLegs({
      fence: this.fence,
      sink: this.sink,
      ledger: deps.ledger,
      events: deps.events,
      queue,
      continuationKey: deps.continuationKey,
      sessionBudgets: deps.sessionBudgets ?? inProcessSessionBudgets(),
      logger: deps.logger,
      metrics: deps.metrics,
      progressIntervalMs: this.transfer.progressIntervalMs,
      ledgerProgressIntervalMs: this.ledgerSettings.progressIntervalMs,
      queueSize: this.transfer.queueSize,
      memoryBudget: this.memoryBudget,
    });
  }

  /** One range leg of a fanned-out file (range-leg.ts). */
  async range(message: RangeMessage, signal: AbortSignal): Promise<void> {
    try {
      await this.rangeLegs.run(message, signal);
    } finally {
      await this.fence.settled();
    }
  }

  /** Checks a request against the fence and the key rules without transferring anything. */
  resolve(request: TransferRequest): FencedCopy {
    return this.fence.resolve(request);
  }

  /**
   * One leg of a copy. With a `suspendSignal` (and an ingestion queue) a copy that runs out of time
   * stops at a part boundary and goes on in a new invocation: the continuation goes on the queue, and
   * the outcome is "suspended". A continuation (request.continuation) checks the source is unchanged
   * and goes on from the parts already uploaded. Each leg first claims the transfer in the ledger:
   * undefined when another leg runs it or this one already ran (nothing is read or written then).
   */
  async copy(
    request: TransferRequest,
    trigger: Trigger,
    ifExists: IfExists,
    signal: AbortSignal,
    suspendSignal?: AbortSignal,
  ): Promise<(CopyOutcome & { afterCopy?: SourceActionReport }) | undefined> {
    const fenced = this.resolve(request);
    const { path, key, afterCopy } = fenced;
    const { bucket, transfer } = this.deps.config;
    const { continuation } = request;
    const transferId = request.transferId ?? this.newId();
    const report = new LegReport(this.deps.logger, this.deps.metrics, {
      transferId,
      trigger,
      connection: request.connection,
      path,
      bucket,
      key,
      ...(continuation === undefined ? {} : { continuation: continuation.number }),
    });
    const leg = await LedgerLeg.claim(
      this.ledgerPorts(report.log),
      transferId,
      continuation?.number ?? 0,
      ledgerRequestOf(request, trigger),
      { bucket, key },
    );
    // Only leg 0 of a queued copy may fan out: a synchronous API call answers with its own copy.
    const mayFanOut =
      this.rangeFanOut?.applies(request.connection) === true && trigger === "queue" && !continuation;
    if (leg === undefined) {
      if (mayFanOut) await this.rangeFanOut?.resendIfRanging(transferId, report.log);
      return undefined;
    }
    report.started(continuation);
    const resumeFrom = continuation?.resumeAt ?? undefined;
    try {
      const decided = mayFanOut
        ? await this.rangeFanOut?.legZero({
            transferId,
            connection: request.connection,
            fenced,
            target: { bucket, key },
            ifExists,
            leg,
            copy: { ...this.copyOptions(), object: this.objectSettings(request.connection, request), signal },
            log: report.log,
            signal,
          })
        : undefined;
      if (decided?.status === "fanned-out") return undefined;
      if (decided?.status === "unchanged") {
        report.finished(decided);
        await leg.finished(decided);
        return decided;
      }
      // The session leg 0 looked at the file on goes on to copy it.
      let opened = decided?.source;
      const openSource = async () => {
        const source = opened ?? (await this.fence.openSource(request.connection, signal));
        opened = undefined;
        return source;
      };
      const copied = await copyOneFile(
        {
          request: {
            path,
            target: { bucket, key },
            ifExists,
            ...(resumeFrom === undefined ? {} : { resumeFrom }),
          },
          // Only the leg that commits takes the file away; a continuation carries the request's afterCopy.
          afterCopy,
          copy: { ...this.copyOptions(), object: this.objectSettings(request.connection, request), signal },
          ...(suspendSignal === undefined ? {} : { suspendSignal }),
        },
        {
          openSource,
          sink: this.sink,
          store: queueContinuation({
            request,
            transferId,
            ifExists,
            maxContinuations: transfer.maxContinuations,
            queue: this.deps.queue,
            continuationKey: this.deps.continuationKey,
            log: report.log,
            beforeQueueing: (suspended) => leg.suspending(suspended),
          }),
          observer: withLedgerProgress(report.observer(), leg),
        },
      );
      const { outcome } = copied;
      report.finished(outcome);
      await leg.finished(outcome);
      if (copied.afterCopy === undefined) return outcome;
      report.sourceAction(copied.afterCopy);
      return { ...outcome, afterCopy: copied.afterCopy };
    } catch (error) {
      // A queued copy refused as busy goes back to the queue (queue.ts): not a failure, until the bound.
      const returns = trigger === "queue" && (request.busy ?? 0) < MAX_BUSY_RETURNS;
      if (returns && error instanceof FtpBusyError) {
        report.deferred(error);
        await leg.deferred(error);
      } else {
        report.failed(error);
        await leg.failed(error);
      }
      throw error;
    } finally {
      await this.fence.settled();
    }
  }

  /** An async request's transfer, queued: written before its message is sent, so its leg finds it. */
  queued(request: TransferRequest & { transferId: string }): Promise<void> {
    return this.deps.ledger.queued(request.transferId, ledgerRequestOf(request, "api"), Date.now());
  }

  /**
   * An accepted request whose message could not be sent never starts: its record says so (failed),
   * instead of "queued" for ever to GET /transfers/{id} and to a repeat with its Idempotency-Key.
   * The text is ours: the queue's own error (with its URL) goes to the log, not to the caller.
   */
  async notQueued(request: TransferRequest & { transferId: string }): Promise<void> {
    const { ledger } = this.deps;
    const at = Date.now();
    const held = { transferId: request.transferId, leg: 0, claimId: randomUUID() };
    const claim = { ...held, request: ledgerRequestOf(request, "api"), at, leaseUntil: at + 60_000 };
    if (!(await ledger.claim(claim)).claimed) return;
    const message =
      "the copy could not be queued, so nothing was copied; send the request again (with a new Idempotency-Key)";
    await ledger.finished(held, { state: "failed", error: { code: "INTERNAL", message } }, at);
  }

  private ledgerPorts(log: KeyedLog): LedgerPorts {
    const { ledger, events } = this.deps;
    return { ledger, events, settings: this.ledgerSettings, log };
  }

  /**
   * A scheduled mirror. `deadlineAt` is when the invocation ends: when the time left is short, the
   * files not started yet go to the ingestion queue instead of failing with the deadline.
   */
  async mirror(job: MirrorJob, signal: AbortSignal, deadlineAt: number): Promise<MirrorSummary> {
    const { remoteDir, keySpace, keyPrefix } = this.fence.resolveDirectory(job);
    const afterCopy = this.fence.mirrorAfterCopy(job, remoteDir);
    const { bucket, statePrefix, mirror } = this.deps.config;
    const resolved = resolveMirror({
      afterCopy,
      bucket,
      remoteDir,
      keyPrefix,
      state: { root: statePrefix },
      include: job.include,
      exclude: job.exclude,
      recursive: job.recursive,
      readiness: readinessOf(job),
      deleteExtraneous: job.deleteExtraneous,
      dryRun: job.dryRun,
      deleteRules: { allowEmptySource: job.allowEmptySource, maxDelete: job.maxDelete },
      limits: { maxDepth: job.maxDepth, maxEntries: job.maxEntries },
      copy: { ...this.copyOptions(), object: this.objectSettings(job.connection, job) },
      concurrency: mirror.concurrency,
      signal,
    });
    const mirrorId = this.newId();
    const log = withKeys(this.deps.logger, {
      mirrorId,
      trigger: "schedule",
      connection: job.connection,
      remoteDir,
      bucket,
    });
    log.info("mirror started", { ...job, prefix: keyPrefix });
    const { skippedEntries, ...summary } = await mirrorDirectory(resolved, {
      openSource: () => this.fence.openSource(job.connection, signal),
      sink: this.sink,
      ...this.fanOut(job, keySpace, mirrorId, deadlineAt),
      observer: {
        onDelete: (key) => log.info("object deleted", { key }),
        onWarning: (message, details) => this.deps.logger.warn(message, details),
        onFile: (file) => {
          log.info(`file ${file.outcome}`, { ...file });
          if (file.outcome !== "unchanged") {
            recordTransfer(this.deps.metrics, file.bytes, file.durationMs, file.outcome === "failed");
          }
        },
      },
      // The slots of the sessions it closed are free before the invocation ends (and may freeze).
    }).finally(() => this.fence.settled());
    reportMirror(log, this.deps.metrics, summary, skippedEntries);
    await this.deps.events(mirrorEvent(mirrorId, job, bucket, keyPrefix, summary)).catch((error: unknown) => {
      log.error("the mirror run's event was not put", { error: String(error) });
    });
    return summary;
  }

  /** Where there is a queue, a mirror's files beyond its inline budget or its time go on there. */
  private fanOut(
    job: MirrorJob,
    keySpace: string,
    mirrorId: string,
    deadlineAt: number,
  ): Pick<MirrorPorts, "fanOut"> {
    const { queue } = this.deps;
    if (queue === undefined) return {};
    const mirror = this.mirrorSettings;
    // Start no file with less left than three deadline margins: one to copy, two to spare.
    const reserveMs = 3 * this.transfer.deadlineMarginMs;
    return {
      fanOut: {
        enqueue: async (file) => {
          // The queued request names the key below the key space, as every request does.
          await queue({
            connection: job.connection,
            path: file.path,
            key: file.key.slice(keySpace.length),
            transferId: `${mirrorId}:${file.relativePath}`,
            mirrored: true,
            // The job's object settings go along: the queue's consumer knows only the connection's.
            ...(job.object === undefined ? {} : { object: job.object }),
          });
        },
        inlineBudget: { files: mirror.inlineFiles, bytes: mirror.inlineBytes },
        outOfTime: () => Date.now() > deadlineAt - reserveMs,
      },
    };
  }

  /** Where a copy's objects land: the connection's settings, then the job's or the request's. */
  private objectSettings(connection: string, over: Pick<TransferRequest, "object">): ObjectSettings {
    return objectSettingsOf(connection, this.deps.config.connections[connection]?.object, over.object);
  }

  /** How every copy of this function runs, from the config. */
  private copyOptions(): CopyOneFileSettings["copy"] {
    const { transfer } = this;
    return {
      partSize: transfer.partSize,
      queueSize: transfer.queueSize,
      memoryBudget: this.memoryBudget,
      progressIntervalMs: transfer.progressIntervalMs,
      tagWithSha256: transfer.tagWithSha256,
      serverDigest: transfer.serverDigest,
    };
  }
}

/** The request as the ledger keeps it: what was asked, not how a continuation goes on. */
function ledgerRequestOf(request: TransferRequest, trigger: Trigger): LedgerRequest {
  const { connection, path, key, overwrite, mirrored } = request;
  const kept: LedgerRequest = { connection, path, trigger };
  if (key !== undefined) kept.key = key;
  if (overwrite !== undefined) kept.overwrite = overwrite;
  if (mirrored !== undefined) kept.mirrored = mirrored;
  return kept;
}

/** The leg's observer, whose progress also goes to the ledger (at the ledger's own, slower, rate). */
function withLedgerProgress(observer: CopyObserver, leg: LedgerLeg): CopyObserver {
  return {
    ...observer,
    onProgress: (snapshot) => {
      observer.onProgress?.(snapshot);
      leg.progress(snapshot);
    },
  };
}
