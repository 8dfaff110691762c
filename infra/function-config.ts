import { CONFIG_ENV, type Config, parseConfig } from "../functions/contracts/index.js";
import { type StackConfig, StackConfigError } from "./config.js";

/**
 * The FTP2S3_CONFIG document the stack writes into the function's environment, built from the stack
 * config and the names CloudFormation gives the bucket, the queue and the secrets. Those names are
 * tokens at synth time, so the document is also built once with long sample values and validated
 * with the function's own `parseConfig`: the function cannot cold-start on a document the stack
 * itself wrote wrong, and the size check uses realistic lengths.
 */

export interface FunctionConfigRefs {
  /** The landing bucket's name. */
  bucket: string;
  /** The ingestion queue's URL. */
  queueUrl: string;
  /** Secret ARN per connection name, for the connections that log in with a password. */
  secretArns: Readonly<Record<string, string>>;
  /** The secret holding the key continuations are signed with. */
  continuationKeySecretArn: string;
  /** The session lease table's name, when a connection sets maxSessions. */
  sessionTable?: string;
}

/** Lambda allows 4 KB for all environment variables together, names included. */
export const ENVIRONMENT_LIMIT_BYTES = 4096;

/** Room kept for the other variables (POWERTOOLS_*, NODE_OPTIONS and the names). */
const OTHER_VARIABLES_BYTES = 256;

export function buildFunctionConfig(config: StackConfig, refs: FunctionConfigRefs): Record<string, unknown> {
  // Every connection field goes through as the stack config has it (both read the same
  // connectionFields), but the secret: the stack's own, or the existing one the config named.
  const connections = Object.fromEntries(
    Object.entries(config.connections).map(([name, c]) => [
      name,
      dropUndefined({ ...c, passwordSecretArn: refs.secretArns[name] }),
    ]),
  );
  return {
    bucket: refs.bucket,
    prefix: config.bucket.prefix,
    queueUrl: refs.queueUrl,
    continuationKeySecretArn: refs.continuationKeySecretArn,
    ...(refs.sessionTable === undefined ? {} : { sessionTable: refs.sessionTable }),
    connections,
    transfer: config.transfer,
    mirror: config.mirror,
    ledger: config.ledger,
    events: config.events,
  };
}

/**
 * Builds the document with the longest names AWS could give, validates it with the function's
 * schema and checks it fits the environment. Returns the validated sample.
 */
export function checkFunctionConfig(config: StackConfig): Config {
  const sample = buildFunctionConfig(config, {
    bucket: config.bucket.name ?? "x".repeat(63),
    queueUrl: `https://sqs.ap-southeast-2.amazonaws.com/123456789012/${"q".repeat(80)}`,
    continuationKeySecretArn: `arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:${"k".repeat(64)}-AbCdEf`,
    ...(needsSessionLeases(config) ? { sessionTable: `Ftp2s3-SessionLeasesTable${"T".repeat(40)}` } : {}),
    secretArns: Object.fromEntries(
      Object.entries(config.connections)
        .filter(([, c]) => !c.anonymous)
        .map(([name, c]) => [
          name,
          c.passwordSecretArn ??
            `arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:${"s".repeat(64)}-AbCdEf`,
        ]),
    ),
  });
  let parsed: Config;
  try {
    parsed = parseConfig(sample);
  } catch (error) {
    throw new StackConfigError(
      `the ${CONFIG_ENV} document built from the stack config is invalid: ${(error as Error).message}`,
    );
  }
  const bytes = Buffer.byteLength(JSON.stringify(sample), "utf8") + CONFIG_ENV.length;
  if (bytes > ENVIRONMENT_LIMIT_BYTES - OTHER_VARIABLES_BYTES) {
    throw new StackConfigError(
      `the ${CONFIG_ENV} document would take up to ${bytes} bytes, and Lambda allows ${ENVIRONMENT_LIMIT_BYTES} bytes for all environment variables: shorten it (a caPem certificate chain is the usual culprit)`,
    );
  }
  return parsed;
}

/**
 * A lease table only where a connection has a session budget to keep: its maxSessions, or the
 * sessions of each fanned-out file (rangeFanout.maxSessions).
 */
export function needsSessionLeases(config: StackConfig): boolean {
  return Object.values(config.connections).some(
    (c) => c.maxSessions !== undefined || c.rangeFanout !== undefined,
  );
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
