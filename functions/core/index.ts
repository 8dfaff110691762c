/**
 * The core's front door: everything outside functions/core (the adapters, the two front ends, the
 * stack's config check, the benchmarks) imports from here and nowhere else, so what the core
 * promises is this list and the rest of its files may change freely. Tests of an internal module
 * may still import it directly.
 */

export { type AddressClass, addressClass } from "./address-policy.js";
// The product's defaults and the one conversion of each unit.
export { bytesOfMiB, DEFAULTS, defaultFtpPort, inMiB, inSeconds, MiB, msOfSeconds } from "./defaults.js";
// What can go wrong, as one closed set of codes.
export {
  abortReason,
  ChecksumMismatchError,
  DataConnectionError,
  DeleteLimitError,
  EmptySourceError,
  type ErrorCode,
  FileTooLargeError,
  Ftp2s3Error,
  FtpBusyError,
  FtpConnectionError,
  FtpLoginError,
  FtpReplyError,
  IdempotencyKeyReusedError,
  InvalidInputError,
  ListingError,
  MirrorIncompleteError,
  NoServerDigestError,
  NotAllowedError,
  ObjectExistsError,
  RestartRefusedError,
  ResumeLimitError,
  S3Error,
  SizeMismatchError,
  SourceChangedError,
  TransferAbortedError,
  TransferTimeoutError,
  untilAborted,
} from "./errors.js";
export { type CopyingDestination, copiesChunks } from "./intake.js";
// Where files and objects are, and the rules a path or a key must keep.
export {
  assertRemoteFilePath,
  assertSafeRemotePath,
  assertValidKey,
  type FtpLocation,
  type FtpSecurity,
  formatFtpUrl,
  formatS3Url,
  objectKey,
  parseFtpUrl,
  parseS3Url,
  resolveKey,
  type S3Location,
} from "./locations.js";
// Mirroring a directory.
export {
  assertStateOutsidePrefix,
  type BusyRetryRules,
  DEFAULT_BUSY_RETRY,
  DEFAULT_STATE_ROOT,
  type DeleteRefusal,
  type DeleteRules,
  defaultMaxDelete,
  doneMarkerProblem,
  encodeMirrorState,
  type MirrorFailure,
  type MirrorOptions,
  type MirrorRun,
  type MirrorSummary,
  type ReadinessRules,
  type RecordedFile,
  readMirrorState,
  runMirror,
  stateKeyFor,
  unreadableNameCode,
  type Waiting,
} from "./mirror.js";
// Where and how objects land: storage class, SSE-KMS, content type, metadata and tags, retention.
export { contentTypeOf, UNKNOWN_CONTENT_TYPE } from "./object-landing.js";
export {
  contentTypeProblem,
  mergeObjectSettings,
  metadataNameProblem,
  type ObjectSettings,
  RETENTION_MODES,
  type RetentionMode,
  SHA256_TAG,
  STORAGE_CLASSES,
  type StorageClass,
  storageClassProblem,
  tagKeyProblem,
  templateProblem,
  templatesProblems,
} from "./object-settings.js";
export {
  assertValidPartSize,
  DEFAULT_MEMORY_BUDGET,
  DEFAULT_PART_SIZE,
  partSize,
  S3_MAX_OBJECT_SIZE,
  S3_MAX_PART_SIZE,
  S3_MIN_PART_SIZE,
} from "./part-size.js";
// The multipart driver on its own, for the benchmark of the S3 leg.
export { PartUpload } from "./part-upload.js";
export { isShared, offThreadJob, type SharedBytes } from "./part-worker.js";
export {
  isInsideRoot,
  normaliseRemotePath,
  type PathStyle,
  parentOf,
  remoteFilePath,
  resolveAllowedDirectory,
  resolveAllowedFile,
} from "./paths.js";
// The two sides the core talks to.
export type {
  CancelReport,
  CommittedObject,
  ExistingObject,
  FileSource,
  FtpReply,
  FullObjectChecksum,
  ListedObject,
  ObjectLanding,
  ObjectOptions,
  ObjectSink,
  RangeReadEnd,
  RemoteEntry,
  RemoteFileInfo,
  UploadedPart,
} from "./ports.js";
export { ProgressReporter, type ProgressSnapshot } from "./progress.js";
// One file over many sessions: ranges read apart into one multipart upload, committed together.
export { type CompleteRangesArgs, completeRanges, type RangeDone } from "./range-complete.js";
export { copyRange, type RangeCopied, type RangeCopyArgs } from "./range-copy.js";
// A fanned-out transfer's plan and ranges in the ledger, and the upload its ranges fill.
export type {
  FanOutPlan,
  HeldRange,
  RangeClaimAnswer,
  RangeLedger,
  RangeProgress,
  RangeState,
} from "./range-ledger.js";
export { planRanges, type RangePlan, type RangeSpec, type SourceVersion } from "./range-plan.js";
export { openRangedUpload, type RangedUpload } from "./ranged-upload.js";
export { REST_PROBE_BYTES, restHonoured } from "./rest-probe.js";
export { abandonUpload, type ResumePoint } from "./resume.js";
export type { RunningHash } from "./sha256.js";
// What becomes of a source file once its object is committed (afterCopy).
export {
  type AfterCopy,
  type AfterCopyAsWritten,
  type AfterCopyFence,
  checkAfterCopy,
  type MoveTemplate,
  moveTargetOf,
  type SourceActionDone,
  type SourceActionReport,
  settleSourceAction,
  takeAway,
} from "./source-action.js";
// The server's own digest of a file.
export {
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type ServerDigestMode,
  type SourceDigest,
} from "./source-digest.js";
// Copying one file.
export {
  type CopyIfExists,
  type CopyOptions,
  type CopyOutcome,
  type CopyRequest,
  type CopyResult,
  copyFile,
  defaultCopyOptions,
  type IfExists,
  type SuspendedResult,
  type SuspendReason,
  type UnchangedResult,
} from "./transfer.js";
// The Lambda's durable record of its transfers, and what it announces (implemented in adapters/).
export type { TransferEvent, TransferEvents, TransferEventType } from "./transfer-events.js";
export type {
  ClaimAnswer,
  HeldLeg,
  IdempotencyRecord,
  LedgerError,
  LedgerRequest,
  LedgerResult,
  LegClaim,
  ProgressUpdate,
  RecentPage,
  TransferLedger,
  TransferRecord,
  TransferState,
} from "./transfer-ledger.js";
// Values the core trusts: made only by the checks above (objectKey, resolveKey, remoteFilePath,
// normaliseRemotePath, resolveAllowedFile, resolveAllowedDirectory, partSize).
export type { ObjectKey, ObjectTarget, PartSize, RemoteFilePath, RemotePath } from "./values.js";
