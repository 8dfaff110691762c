/**
 * Every shape that crosses a process boundary, imported by the function and the stack alike: the
 * function's configuration, the messages its triggers receive, the metrics it writes. The command
 * line imports only `settings.js` and (when it resumes) `resume-point.js`, so it does not load zod
 * on every start.
 */
export { afterCopySchema } from "./after-copy.js";
export {
  CONFIG_ENV,
  type Config,
  configSchema,
  isStateKey,
  keySpaceOf,
  loadConfig,
  parseConfig,
} from "./config.js";
export {
  absolutePath,
  type ConnectionConfig,
  connectionFields,
  connectionName,
  connectionSchema,
  MAX_FANOUT_RANGES,
  rangeFanoutSchema,
  userOrAnonymous,
} from "./connection.js";
export { describeIssues, parseInput } from "./issues.js";
export { keyEscapeReason, keyPrefix, nonEmptyKeyPrefix } from "./key-rules.js";
export { LEDGER_TABLE, LEDGER_TABLE_ENV, ledgerTableName, transferIdSchema } from "./ledger-table.js";
export {
  METRICS_NAMESPACE,
  type MirrorMetricName,
  SERVICE_NAME,
  type SourceActionMetricName,
  TRIGGERS,
  type TransferMetricName,
  type Trigger,
} from "./metric-names.js";
export {
  type MirrorJob,
  mirrorJobSchema,
  type ScheduledMirror,
  scheduledMirrorSchema,
  scheduleInputOf,
} from "./mirror-job.js";
export {
  kmsKeyArn,
  type ObjectOverrides,
  type ObjectSettingsConfig,
  objectOverridesSchema,
  objectSettingsOf,
  objectSettingsSchema,
} from "./object-settings.js";
export { isRangeMessage, type RangeMessage, rangeMessageSchema } from "./range-message.js";
export { resumePointSchema } from "./resume-point.js";
export { SESSION_LEASE_TABLE } from "./session-leases.js";
export {
  type ConnectionSettings,
  connectionSettingsOf,
  type LedgerSettings,
  ledgerSettingsOf,
  type MirrorSettings,
  mirrorSettingsOf,
  type RangeFanoutSettings,
  type TransferSettings,
  transferSettingsOf,
} from "./settings.js";
export { continuationSchema, type TransferRequest, transferRequestSchema } from "./transfer-request.js";
