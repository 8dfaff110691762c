import { CfnOutput, Duration, Fn, Stack, type StackProps } from "aws-cdk-lib";
import type { IDestination } from "aws-cdk-lib/aws-lambda";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { LEDGER_TABLE } from "../functions/contracts/index.js";
import type { StackConfig } from "./config.js";
import { objectGrantsOf, TransferAccessPolicy } from "./constructs/access-policy.js";
import { OperationsAlarms } from "./constructs/alarms.js";
import { TransferApi } from "./constructs/api.js";
import { ConnectionSecrets } from "./constructs/connection-secrets.js";
import { ContinuationKey } from "./constructs/continuation-key.js";
import { OperationsDashboard } from "./constructs/dashboard.js";
import { EgressNetwork } from "./constructs/egress-network.js";
import { Ingestion } from "./constructs/ingestion.js";
import { LandingBucket } from "./constructs/landing-bucket.js";
import { acknowledge } from "./constructs/nag.js";
import { deadLetterQueue } from "./constructs/queues.js";
import { MirrorSchedules } from "./constructs/schedules.js";
import { SessionLeases } from "./constructs/session-leases.js";
import { FUNCTION_TIMEOUT, TransferFunction } from "./constructs/transfer-function.js";
import { TransferLedgerTable } from "./constructs/transfer-ledger-table.js";
import { buildFunctionConfig, checkFunctionConfig, needsSessionLeases } from "./function-config.js";

export interface Ftp2s3StackProps extends StackProps {
  /** The validated stack configuration (see infra/config.ts). */
  readonly config: StackConfig;
}

/**
 * The deployable stack: the landing bucket, the transfer function and its three triggers (a
 * signed Function URL, one schedule per mirror job, a queue fed by EventBridge), the connection
 * secrets, the function's written-out permissions, alarms and a dashboard; optionally a VPC whose
 * NAT gives the function fixed egress addresses.
 */
export class Ftp2s3Stack extends Stack {
  readonly landing: LandingBucket;
  readonly transfer: TransferFunction;
  readonly ingestion: Ingestion;
  readonly failedEventsQueue: Queue;
  readonly accessPolicy: TransferAccessPolicy;
  readonly continuationKey: ContinuationKey;
  readonly ledger: TransferLedgerTable;
  readonly api: TransferApi;
  readonly schedules: MirrorSchedules;
  readonly alarms: OperationsAlarms;
  readonly dashboard: OperationsDashboard;
  /** Present with the config's `network`. */
  readonly network?: EgressNetwork;
  /** Present when a connection sets `maxSessions`. */
  readonly sessionLeases?: SessionLeases;

  constructor(scope: Construct, id: string, props: Ftp2s3StackProps) {
    super(scope, id, { description: "ftp2s3: stream files from FTP servers into S3", ...props });
    const { config } = props;
    // The document the function will parse at cold start, checked now with the function's schema.
    const { statePrefix } = checkFunctionConfig(config);

    this.landing = new LandingBucket(this, "Landing", {
      bucketName: config.bucket.name,
      existing: config.bucket.existing,
      encryption: config.bucket.encryption,
      kmsKeyArn: config.bucket.kmsKeyArn,
      versioned: config.bucket.versioned,
      accessLogs: config.bucket.accessLogs,
      retain: config.bucket.retain,
    });
    const secrets = new ConnectionSecrets(this, "Connections", { connections: config.connections });
    this.continuationKey = new ContinuationKey(this, "ContinuationKey");
    const continuationKey = this.continuationKey;
    // Events nobody could deliver: Scheduler's and EventBridge's delivery failures, and scheduled
    // runs the function failed.
    this.failedEventsQueue = deadLetterQueue(this, "FailedEventsQueue");
    acknowledge(
      this.failedEventsQueue,
      "AwsSolutions-SQS3",
      "This queue is itself a dead-letter queue: of Scheduler, of the EventBridge rule's target and of the function's asynchronous invocations, which cdk-nag cannot see since only an SQS redrive policy marks a queue as a DLQ.",
    );
    this.ingestion = new Ingestion(this, "Ingestion", {
      functionTimeout: FUNCTION_TIMEOUT,
      batchSize: config.ingestion.batchSize,
      maxConcurrency: config.ingestion.maxConcurrency,
      maxReceiveCount: config.ingestion.maxReceiveCount,
      retentionPeriod: Duration.days(config.ingestion.retentionDays),
      eventSources: config.ingestion.eventSources,
      failedEventsQueue: this.failedEventsQueue,
    });

    if (needsSessionLeases(config)) this.sessionLeases = new SessionLeases(this, "SessionLeases");
    const functionConfig = buildFunctionConfig(config, {
      bucket: this.landing.bucket.bucketName,
      queueUrl: this.ingestion.queue.queueUrl,
      secretArns: Object.fromEntries(
        Object.entries(secrets.byConnection).map(([name, secret]) => [name, secret.secretArn]),
      ),
      continuationKeySecretArn: continuationKey.secret.secretArn,
      ...(this.sessionLeases === undefined ? {} : { sessionTable: this.sessionLeases.table.tableName }),
    });
    if (config.network !== undefined) {
      this.network = new EgressNetwork(this, "Network", {
        network: config.network,
        flowLogRetention: config.function.logRetentionDays as RetentionDays,
      });
    }
    this.transfer = new TransferFunction(this, "Transfer", {
      config: this.toJsonString(functionConfig),
      memoryMiB: config.function.memoryMiB,
      reservedConcurrency: config.function.reservedConcurrency,
      logRetention: config.function.logRetentionDays as RetentionDays,
      logLevel: config.function.logLevel,
      network: this.network?.placement,
    });
    const fn = this.transfer.function;
    this.ledger = new TransferLedgerTable(this, "Ledger");
    this.ledger.nameIn(fn);

    this.accessPolicy = new TransferAccessPolicy(this, "TransferAccess", {
      role: this.transfer.role,
      bucket: this.landing.bucket,
      prefix: config.bucket.prefix,
      statePrefix,
      continuationKey: continuationKey.secret,
      encryptionKey: this.landing.encryptionKey,
      secrets: Object.values(secrets.byConnection),
      queue: this.ingestion.queue,
      failedEventsQueue: this.failedEventsQueue,
      ...(this.sessionLeases === undefined ? {} : { sessionLeases: this.sessionLeases.table }),
      allowDelete: config.mirrors.some((m) => m.deleteExtraneous === true),
      ...objectGrantsOf(config),
      ledgerTable: this.ledger.table,
      ledgerIndexName: LEDGER_TABLE.byConnectionIndex,
      eventBus: config.events.busName,
    });
    // Lambda checks the role can read the queue when it creates the mapping.
    this.ingestion.consumeWith(fn).node.addDependency(this.accessPolicy);

    // Scheduler invokes asynchronously: a run that fails is reported, not retried by default (the
    // next run catches up, and each transfer skips what is already there).
    const onFailure: IDestination = { bind: () => ({ destination: this.failedEventsQueue.queueArn }) };
    fn.configureAsyncInvoke({ retryAttempts: config.schedules.invocationRetryAttempts, onFailure });
    // Lambda checks the role may send to the destination when the configuration is created.
    fn.node.findChild("EventInvokeConfig").node.addDependency(this.accessPolicy);

    this.api = new TransferApi(this, "Api", { function: fn });
    this.schedules = new MirrorSchedules(this, "Mirrors", {
      function: fn,
      mirrors: config.mirrors,
      timeZone: config.schedules.timeZone,
      deadLetterQueue: this.failedEventsQueue,
      retryAttempts: config.schedules.retryAttempts,
      maxEventAge: Duration.minutes(config.schedules.maxEventAgeMinutes),
    });

    const deadLetterQueues = {
      IngestionDLQ: this.ingestion.deadLetterQueue,
      FailedEvents: this.failedEventsQueue,
    };
    const period = Duration.minutes(config.alarms.periodMinutes);
    this.alarms = new OperationsAlarms(this, "Alarms", {
      function: fn,
      deadLetterQueues,
      emails: config.alarms.emails,
      topicArn: config.alarms.topicArn,
      errorThreshold: config.alarms.errorThreshold,
      period,
    });
    this.dashboard = new OperationsDashboard(this, "Operations", {
      function: fn,
      queue: this.ingestion.queue,
      deadLetterQueues,
      period,
    });

    new CfnOutput(this, "FunctionUrl", {
      value: this.api.url.url,
      description: "POST {url}transfers, SigV4-signed",
    });
    new CfnOutput(this, "ApiCallerPolicyArn", {
      value: this.api.callerPolicy.managedPolicyArn,
      description: "Attach to the roles that may call the API",
    });
    new CfnOutput(this, "FunctionName", { value: fn.functionName });
    new CfnOutput(this, "LedgerTableName", { value: this.ledger.table.tableName });
    new CfnOutput(this, "BucketName", { value: this.landing.bucket.bucketName });
    new CfnOutput(this, "IngestionQueueUrl", { value: this.ingestion.queue.queueUrl });
    new CfnOutput(this, "FailedEventsQueueUrl", { value: this.failedEventsQueue.queueUrl });
    new CfnOutput(this, "DashboardName", { value: this.dashboard.dashboard.dashboardName });
    if (this.network !== undefined) this.outputEgress(this.network);
    for (const [name, secret] of Object.entries(secrets.byConnection)) {
      new CfnOutput(this, `PasswordSecret${name.replace(/[^A-Za-z0-9]/g, "")}`, {
        value: secret.secretArn,
        description: `Password secret of connection "${name}"`,
      });
    }
  }

  /** What an operator sends the FTP partner: the addresses to allow (see README, Networks). */
  private outputEgress(network: EgressNetwork): void {
    if (network.egressAddresses.length > 0) {
      new CfnOutput(this, "EgressAddresses", {
        value: Fn.join(",", network.egressAddresses),
        description: "The function's FTP connections come from these addresses: the partner allows them",
      });
    }
    if (network.eipAllocationIds.length > 0) {
      new CfnOutput(this, "EgressAllocationIds", {
        value: Fn.join(",", network.eipAllocationIds),
        description: "The Elastic IP allocations behind the egress addresses",
      });
    }
  }
}
