import { randomBytes } from "node:crypto";
/**
 * The real Lambda handler on one machine: an FTP server (ftp-srv) playing the partner, s3rver as S3
 * (objects in a folder), fauxqs as the SQS ingestion queue, dynalite as the ledger's DynamoDB, all on
 * loopback. The password store differs from AWS (the connection's secret is answered from memory
 * instead of Secrets Manager), and the events are kept in memory instead of put on EventBridge.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { SQSClient } from "@aws-sdk/client-sqs";
import { sqsTransferQueue } from "../functions/adapters/transfer-queue.js";
import { parseConfig } from "../functions/contracts/index.js";
import { createHandler } from "../functions/lambda/create-handler.js";
import { startEmbeddedFtp } from "../test/support/embedded-ftp.js";
import { startFauxqsS3, startS3rver } from "../test/support/embedded-s3.js";
import { fakeContext, sqsEvent, takeQueuedRecords } from "../test/support/lambda-events.js";
import { recordingEvents, startLocalLedger } from "../test/support/local-ledger.js";

export const LOCAL_BUCKET = "landing-bucket";

/** The partner's files, matching the sample events in events/. */
const sampleFiles: Record<string, number> = {
  "outbox/report.csv": 1_259_161,
  "outbox/archive.zip": 6 * 1024 * 1024 + 7,
  "shared/reports/2026/jan.csv": 4096,
  "shared/reports/2026/feb.csv": 8192,
  "shared/reports/2026/notes.txt": 100,
  "shared/reports/summary.csv": 2048,
};

export async function startLocalLambda(dataDir: string) {
  const ftp = await startEmbeddedFtp({
    root: join(dataDir, "ftp"),
    user: "partner",
    password: "partner-password",
  });
  for (const [path, size] of Object.entries(sampleFiles)) {
    const local = join(ftp.root, path);
    await mkdir(dirname(local), { recursive: true });
    await writeFile(local, Buffer.alloc(size, path.length));
  }
  const s3 = await startS3rver(join(dataDir, "s3"));
  await s3.createBucket(LOCAL_BUCKET).catch(() => {}); // already there from an earlier run
  const sqsServer = await startFauxqsS3();
  const queueUrl = await sqsServer.createQueue("ingest");
  const sqs = new SQSClient({
    endpoint: sqsServer.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });

  const config = parseConfig({
    bucket: LOCAL_BUCKET,
    prefix: "landing/",
    queueUrl,
    connections: {
      partner: {
        host: "127.0.0.1",
        port: ftp.port,
        user: ftp.user,
        secure: false,
        passwordSecretArn: "arn:aws:secretsmanager:local:000000000000:secret:partner",
        roots: ["/outbox", "/shared"],
        allowPrivateAddresses: true, // the local partner listens on loopback
      },
    },
  });
  const continuationKey = randomBytes(32);
  const ledger = await startLocalLedger();
  const events = recordingEvents();
  const handler = createHandler({
    config,
    s3: s3.client(),
    queue: sqsTransferQueue(sqs, queueUrl),
    passwords: async () => ftp.password,
    // A key of this run's own, as the stack generates one: continuations are signed locally too.
    continuationKey: async () => continuationKey,
    logger: new Logger({ serviceName: "ftp2s3" }),
    metrics: new Metrics({ namespace: "ftp2s3", serviceName: "ftp2s3" }),
    ledger: ledger.ledger,
    events: events.events,
  });

  return {
    s3,
    /** The events the function put (EventBridge's stand-in). */
    events: events.put,
    invoke: (event: unknown) => handler(event as never, fakeContext(15 * 60 * 1000)),
    /** What the SQS trigger would receive next, as an SQS event; undefined when the queue is empty. */
    async takeQueued() {
      const records = await takeQueuedRecords(sqs, queueUrl);
      return records.length === 0 ? undefined : sqsEvent(...records);
    },
    async close() {
      await ftp.close();
      await s3.close();
      await sqsServer.close();
      await ledger.close();
    },
  };
}
