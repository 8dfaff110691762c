import { Arn, Stack } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type IRole, Policy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { acknowledge, nagResource } from "./nag.js";

export interface TransferAccessPolicyProps {
  /** The function's role. */
  readonly role: IRole;
  /** The landing bucket. */
  readonly bucket: IBucket;
  /** The key prefix the function may write under ("" or ending in "/"). Default "". */
  readonly prefix?: string;
  /** Where the function keeps its own state (from the bucket root, ending in "/"). Default: none. */
  readonly statePrefix?: string;
  /** The secret continuations are signed with. Default: none. */
  readonly continuationKey?: ISecret;
  /** The bucket's KMS key, when objects are encrypted with SSE-KMS. Default: none (SSE-S3). */
  readonly encryptionKey?: IKey;
  /** The secrets holding connection passwords. Default: none. */
  readonly secrets?: readonly ISecret[];
  /** The ingestion queue: the function sends to it (async API calls, mirror fan-out) and consumes it. */
  readonly queue: IQueue;
  /** Where Lambda puts scheduled runs that failed. */
  readonly failedEventsQueue: IQueue;
  /** The transfer ledger's table: the function reads and writes its items and queries its index. Default: none. */
  readonly ledgerTable?: ITable;
  /** The ledger table's index by connection. Required with `ledgerTable`. */
  readonly ledgerIndexName?: string;
  /** The EventBridge bus (name or ARN) the function puts its events on. Default: none. */
  readonly eventBus?: string;
  /** The session lease table, when a connection sets maxSessions. Default: none. */
  readonly sessionLeases?: ITable;
  /** Grant s3:DeleteObject under the prefix, for mirrors that delete what their source lost. Default false. */
  readonly allowDelete?: boolean;
  /** The KMS keys connections encrypt their objects with (`object.kmsKeyId`). Default: none. */
  readonly objectKeyArns?: readonly string[];
  /** Grant s3:PutObjectRetention under the prefix, for connections with Object Lock retention. Default false. */
  readonly allowRetention?: boolean;
}

/** What the connections' object settings need granted: their keys, and retention when any sets one. */
export function objectGrantsOf(config: {
  connections: Record<string, { object?: { kmsKeyId?: string; retention?: unknown } | undefined }>;
}): Pick<TransferAccessPolicyProps, "objectKeyArns" | "allowRetention"> {
  const settings = Object.values(config.connections).map((c) => c.object ?? {});
  const keys = [...new Set(settings.flatMap((o) => (o.kmsKeyId === undefined ? [] : [o.kmsKeyId])))].sort();
  return {
    ...(keys.length === 0 ? {} : { objectKeyArns: keys }),
    allowRetention: settings.some((o) => o.retention !== undefined),
  };
}

/**
 * Every permission of the transfer function except its logs, written out in one place so a
 * reviewer reads the whole grant here. No managed policy, no `grant*()` helper, no `*` resource
 * beyond the prefix.
 */
export class TransferAccessPolicy extends Construct {
  readonly policy: Policy;

  constructor(scope: Construct, id: string, props: TransferAccessPolicyProps) {
    super(scope, id);
    const prefix = props.prefix ?? "";
    // The state prefix needs grants of its own only where the prefix does not already cover it.
    const statePrefix =
      props.statePrefix === undefined || props.statePrefix.startsWith(prefix) ? undefined : props.statePrefix;
    const statements = [
      new PolicyStatement({
        sid: "ObjectsUnderPrefix",
        // GetObject covers HeadObject (the does-it-exist check); PutObject covers
        // CreateMultipartUpload, UploadPart and CompleteMultipartUpload; ListMultipartUploadParts is
        // ListParts, how a continuation recovers what earlier legs uploaded.
        actions: [
          "s3:AbortMultipartUpload",
          "s3:GetObject",
          "s3:ListMultipartUploadParts",
          "s3:PutObject",
          "s3:PutObjectTagging",
        ],
        resources: [props.bucket.arnForObjects(`${prefix}*`)],
      }),
      ...(props.allowDelete
        ? [
            new PolicyStatement({
              sid: "DeleteUnderPrefix",
              // Only when a mirror job sets deleteExtraneous: objects whose source file is gone.
              actions: ["s3:DeleteObject"],
              resources: [props.bucket.arnForObjects(`${prefix}*`)],
            }),
          ]
        : []),
      ...(props.allowRetention
        ? [
            new PolicyStatement({
              sid: "RetentionUnderPrefix",
              // Only when a connection sets Object Lock retention: S3 asks for it on an upload that
              // carries x-amz-object-lock-* headers.
              actions: ["s3:PutObjectRetention"],
              resources: [props.bucket.arnForObjects(`${prefix}*`)],
            }),
          ]
        : []),
      ...(statePrefix === undefined
        ? []
        : [
            new PolicyStatement({
              sid: "StateUnderStatePrefix",
              // The function's own state (a mirror's manifest): read and written, never a caller's key.
              actions: ["s3:GetObject", "s3:PutObject"],
              resources: [props.bucket.arnForObjects(`${statePrefix}*`)],
            }),
          ]),
      new PolicyStatement({
        sid: "ListUnderPrefix",
        // Mirroring lists what the bucket holds; and without ListBucket a HeadObject of a missing
        // key answers 403 instead of 404, so the no-overwrite check could not tell "absent".
        actions: ["s3:ListBucket"],
        resources: [props.bucket.bucketArn],
        ...(prefix === ""
          ? {}
          : {
              conditions: {
                StringLike: {
                  "s3:prefix": [`${prefix}*`, ...(statePrefix === undefined ? [] : [`${statePrefix}*`])],
                },
              },
            }),
      }),
      new PolicyStatement({
        sid: "SendToIngestionQueue",
        actions: ["sqs:SendMessage"],
        resources: [props.queue.queueArn],
      }),
      new PolicyStatement({
        sid: "ConsumeIngestionQueue",
        // What the event source mapping does with the function's role.
        actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        resources: [props.queue.queueArn],
      }),
      new PolicyStatement({
        sid: "ReportFailedScheduledRuns",
        actions: ["sqs:SendMessage"],
        resources: [props.failedEventsQueue.queueArn],
      }),
    ];
    const secrets = props.secrets ?? [];
    if (secrets.length > 0) {
      statements.push(
        new PolicyStatement({
          sid: "ReadConnectionPasswords",
          actions: ["secretsmanager:GetSecretValue"],
          resources: secrets.map((secret) => secret.secretArn),
        }),
      );
    }
    if (props.continuationKey !== undefined) {
      statements.push(
        new PolicyStatement({
          sid: "ReadContinuationKey",
          actions: ["secretsmanager:GetSecretValue"],
          resources: [props.continuationKey.secretArn],
        }),
      );
    }
    if (props.ledgerTable !== undefined) {
      statements.push(
        new PolicyStatement({
          sid: "TransferLedger",
          // Claims and ends are conditional updates and puts; GetItem reads a transfer; Query pages
          // a connection's transfers through the index. No Scan, no Delete (TTL removes history).
          actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
          resources: [
            props.ledgerTable.tableArn,
            `${props.ledgerTable.tableArn}/index/${props.ledgerIndexName ?? "*"}`,
          ],
        }),
      );
    }
    if (props.eventBus !== undefined) {
      statements.push(
        new PolicyStatement({
          sid: "PutTransferEvents",
          actions: ["events:PutEvents"],
          resources: [eventBusArn(this, props.eventBus)],
        }),
      );
    }
    if (props.sessionLeases !== undefined) {
      statements.push(
        new PolicyStatement({
          sid: "TakeAndReleaseSessionSlots",
          // A slot is taken with a conditional PutItem and released with a conditional DeleteItem.
          actions: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
          resources: [props.sessionLeases.tableArn],
        }),
      );
    }
    if (props.encryptionKey !== undefined) {
      statements.push(
        new PolicyStatement({
          sid: "UseBucketKeyThroughS3",
          // SSE-KMS: GenerateDataKey for new objects and parts, Decrypt to complete a multipart
          // upload. Only through S3, never directly.
          actions: ["kms:Decrypt", "kms:GenerateDataKey"],
          resources: [props.encryptionKey.keyArn],
          conditions: { StringEquals: { "kms:ViaService": `s3.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    const objectKeys = props.objectKeyArns ?? [];
    if (objectKeys.length > 0) {
      statements.push(
        new PolicyStatement({
          sid: "UseObjectKeysThroughS3",
          // The keys connections name for SSE-KMS, and no other: GenerateDataKey for new objects and
          // parts, Decrypt to complete a multipart upload. Only through S3, never directly.
          actions: ["kms:Decrypt", "kms:GenerateDataKey"],
          resources: [...objectKeys],
          conditions: { StringEquals: { "kms:ViaService": `s3.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    this.policy = new Policy(this, "Policy", { statements });
    this.policy.attachToRole(props.role);
    acknowledge(
      this.policy,
      `AwsSolutions-IAM5[${nagResource(this, props.bucket.arnForObjects(`${prefix}*`))}]`,
      "The function writes objects whose keys come from callers, events and FTP listings, so the grant covers every key under the configured prefix (the narrowest fixed scope), and only the object actions a transfer needs.",
    );
    if (statePrefix !== undefined) {
      acknowledge(
        this.policy,
        `AwsSolutions-IAM5[${nagResource(this, props.bucket.arnForObjects(`${statePrefix}*`))}]`,
        "The function's own state objects (one per mirror job and prefix) are named at run time, so the grant covers the state prefix, with only GetObject and PutObject; callers' keys can never land there (the function refuses them).",
      );
    }
  }
}

/** A bus given by name (the default bus, say) as its ARN in this stack's account and region. */
function eventBusArn(scope: Construct, bus: string): string {
  if (bus.startsWith("arn:")) return bus;
  return Arn.format({ service: "events", resource: "event-bus", resourceName: bus }, Stack.of(scope));
}
