import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { secretsManagerPasswords } from "./adapters/passwords.js";
import { sqsTransferQueue } from "./adapters/transfer-queue.js";
import { loadConfig } from "./config.js";
import { createHandler } from "./lambda/create-handler.js";

// Built once per container and shared by every invocation: clients keep their connections warm,
// and the config is validated at cold start, where a mistake fails loudly.
const config = loadConfig();
const logger = new Logger({ serviceName: "ftp2s3" });
const metrics = new Metrics({ namespace: "ftp2s3", serviceName: "ftp2s3" });

export const handler = createHandler({
  config,
  s3: new S3Client({}),
  queue: config.queueUrl === undefined ? undefined : sqsTransferQueue(new SQSClient({}), config.queueUrl),
  passwords: secretsManagerPasswords(new SecretsManagerClient({})),
  logger,
  metrics,
});
