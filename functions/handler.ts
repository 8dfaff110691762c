import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { secretsManagerContinuationKey } from "./adapters/continuation-key.js";
import { dynamoDbLedger } from "./adapters/dynamodb-ledger.js";
import { dynamoSessionBudgets } from "./adapters/dynamodb-session-budget.js";
import { eventBridgeEvents } from "./adapters/eventbridge-events.js";
import { secretsManagerPasswords } from "./adapters/passwords.js";
import { s3ClientForParts } from "./adapters/s3-client.js";
import { sqsTransferQueue, sqsTransferQueueBatch } from "./adapters/transfer-queue.js";
import {
  LEDGER_TABLE,
  ledgerSettingsOf,
  ledgerTableName,
  loadConfig,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  SESSION_LEASE_TABLE,
} from "./contracts/index.js";
import { createHandler } from "./lambda/create-handler.js";

// Built once per container and shared by every invocation: clients keep their connections warm,
// and the config is validated at cold start, where a mistake fails loudly.
const config = loadConfig();
const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
const secretsManager = new SecretsManagerClient({});
const dynamoDb = new DynamoDBClient({});
// A session lease outlives any invocation (15 minutes at most): only a killed holder's slot lapses,
// a minute after Lambda ended it.
const SESSION_LEASE_MS = 16 * 60_000;

/** The ingestion queue for single messages and for a fanned-out file's batch of ranges, on one client. */
function queues(queueUrl: string | undefined) {
  if (queueUrl === undefined) return { queue: undefined };
  const sqs = new SQSClient({});
  return { queue: sqsTransferQueue(sqs, queueUrl), queueBatch: sqsTransferQueueBatch(sqs, queueUrl) };
}

export const handler = createHandler({
  config,
  s3: s3ClientForParts(),
  ...queues(config.queueUrl),
  passwords: secretsManagerPasswords(secretsManager),
  ...(config.continuationKeySecretArn === undefined
    ? {}
    : { continuationKey: secretsManagerContinuationKey(secretsManager, config.continuationKeySecretArn) }),
  ...(config.sessionTable === undefined
    ? {}
    : {
        sessionBudgets: dynamoSessionBudgets(
          dynamoDb,
          { name: config.sessionTable, ...SESSION_LEASE_TABLE },
          {
            leaseMs: SESSION_LEASE_MS,
          },
        ),
      }),
  logger,
  metrics,
  ledger: dynamoDbLedger(dynamoDb, { name: ledgerTableName(), ...LEDGER_TABLE }, ledgerSettingsOf(config)),
  events: eventBridgeEvents(new EventBridgeClient({}), config.events.busName, SERVICE_NAME),
});
