import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { vi } from "vitest";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";
import { secretsManagerPasswords } from "../../functions/adapters/passwords.js";
import {
  sqsTransferQueue,
  sqsTransferQueueBatch,
  type TransferQueueBatch,
} from "../../functions/adapters/transfer-queue.js";
import type { SessionBudgets, SlotWait } from "../../functions/app/session-budget.js";
import { wrapSource } from "../../functions/app/wrapped-source.js";
import { parseConfig } from "../../functions/contracts/index.js";
import { createHandler } from "../../functions/lambda/create-handler.js";
import type { HandlerDeps } from "../../functions/lambda/transfers.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "./embedded-ftp.js";
import { startFauxqsS3, startS3rver } from "./embedded-s3.js";
import { fakeContext, takeQueuedRecords, urlRequest } from "./lambda-events.js";
import { recordingEvents, startLocalLedger } from "./local-ledger.js";
import { startLostAnswerS3 } from "./lost-answer-s3.js";
import { type S3Recorder, startS3Recorder } from "./s3-recorder.js";

export { fakeContext, sqsEvent, sqsRecord, urlRequest } from "./lambda-events.js";

export const bucket = "landing-bucket";
export const secretArn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:partner-ftp";
/** The key the rig's function signs continuations with (the stack generates one in Secrets Manager). */
export const continuationKey = Buffer.from("test-continuation-key-of-32-bytes!!", "utf8");
const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const region = "us-east-1";

export interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

/**
 * The real handler over real servers on loopback: ftp-srv as the partner's FTP server, fauxqs as S3
 * and SQS (behind a recording proxy for S3), dynalite as the ledger's DynamoDB (a table per rig), and
 * Secrets Manager mocked and EventBridge recorded (they cannot run here).
 */
export async function startLambdaRig(
  options: {
    connections?: Record<string, unknown>;
    transfer?: Record<string, unknown>;
    mirror?: Record<string, unknown>;
    ledger?: Record<string, unknown>;
    /**
     * The S3 behind the recorder: fauxqs (the default, which is also the SQS) or s3rver, which lists
     * an upload's parts (ListParts), as resumed copies need.
     */
    s3?: "fauxqs" | "s3rver";
    /** S3's conditional writes (If-None-Match: *), played by the recorder: see startS3Recorder. */
    conditionalWrites?: boolean;
    /** A proxy between the recorder and S3 that can lose a Complete's answer: see startLostAnswerS3. */
    lostAnswers?: boolean;
    /** The "partner" connection's object settings (storage class, key, templates, retention). */
    partnerObject?: Record<string, unknown>;
    /** More fields of the "partner" connection (rangeFanout, maxSessions, ...). */
    partner?: Record<string, unknown>;
    /** Where connections with maxSessions keep their budget (a lease table); default per container. */
    sessionBudgets?: SessionBudgets;
    slotWait?: SlotWait;
    /** Sends the range messages instead of SQS (a failing one, say). */
    queueBatch?: TransferQueueBatch;
    /** The partner's FEAT lists REST STREAM (default true). */
    restStream?: boolean;
    /** The partner takes REST and sends from byte 0 anyway. */
    ignoreRest?: boolean;
    /** The partner is this server (the interop suite's), not an ftp-srv of the rig's; the caller stops it. */
    ftp?: OutsideFtp;
  } = {},
) {
  const work = await mkdtemp(join(tmpdir(), "ftp2s3-lambda-"));
  const ftp: EmbeddedFtpServer =
    options.ftp === undefined
      ? await startEmbeddedFtp({
          root: join(work, "ftp"),
          password: "partner-secret-pw",
          ...(options.restStream === undefined ? {} : { restStream: options.restStream }),
          ...(options.ignoreRest === undefined ? {} : { ignoreRest: options.ignoreRest }),
        })
      : outsideFtp(options.ftp);
  const aws = await startFauxqsS3();
  const objectStore = options.s3 === "s3rver" ? await startS3rver(join(work, "s3")) : aws;
  const lostAnswers = options.lostAnswers ? await startLostAnswerS3(objectStore.endpoint) : undefined;
  const recorder: S3Recorder = await startS3Recorder(lostAnswers?.endpoint ?? objectStore.endpoint, {
    conditionalWrites: options.conditionalWrites === true,
  });
  const s3 = objectStore.client();
  await objectStore.createBucket(bucket);
  const queueUrl = await aws.createQueue("ingest");
  const sqs = new SQSClient({ endpoint: aws.endpoint, region, credentials });

  const ledger = await startLocalLedger();
  const events = recordingEvents();
  const secrets = mockClient(SecretsManagerClient);
  secrets.on(GetSecretValueCommand, { SecretId: secretArn }).resolves({ SecretString: ftp.password });

  // Powertools writes INFO and EMF to stdout and WARN/ERROR to stderr: collect both, in order, and
  // keep the JSON lines out of the test report (set FTP2S3_TEST_LOGS=1 to see them).
  const lines: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) => {
    const write = stream.write.bind(stream);
    return vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      const json = text.split("\n").filter((line) => line.startsWith("{"));
      lines.push(...json);
      if (json.length === 0 || process.env.FTP2S3_TEST_LOGS) return write(chunk, ...(rest as []));
      return true;
    });
  });

  const config = parseConfig({
    bucket,
    prefix: "landing/",
    queueUrl,
    connections: {
      partner: {
        host: "127.0.0.1",
        port: ftp.port,
        user: ftp.user,
        secure: false,
        passwordSecretArn: secretArn,
        roots: ["/outbox", "/shared/reports"],
        timeoutSeconds: 5,
        allowPrivateAddresses: true, // the partner is on loopback here
        ...(options.partnerObject === undefined ? {} : { object: options.partnerObject }),
        ...options.partner,
      },
      ...options.connections,
    },
    // fauxqs takes PutObjectTagging for a PutObject (see README), so no tag here.
    transfer: { tagWithSha256: false, progressIntervalSeconds: 0.001, partSizeMiB: 5, ...options.transfer },
    mirror: { ...options.mirror },
    ledger: { ...options.ledger },
  });
  // The function's own FTP sessions, counted where it opens and closes them: a server may keep a
  // session whose read was cut open a while longer (ftp-srv does), and would count it still.
  const sessions = { open: 0, peak: 0, rangedReads: 0 };
  const deps: HandlerDeps = {
    connect: async (connectOptions) => {
      const source = await connectFtpSource(connectOptions);
      sessions.open += 1;
      sessions.peak = Math.max(sessions.peak, sessions.open);
      let closed = false;
      return wrapSource(source, {
        ...(source.downloadRange === undefined
          ? {}
          : {
              downloadRange: (...args: Parameters<NonNullable<typeof source.downloadRange>>) => {
                sessions.rangedReads += 1;
                return (source.downloadRange as NonNullable<typeof source.downloadRange>)(...args);
              },
            }),
        close: () => {
          if (!closed) sessions.open -= 1;
          closed = true;
          source.close();
        },
      });
    },
    config,
    s3: new S3Client({
      endpoint: recorder.endpoint,
      forcePathStyle: true,
      region,
      // s3rver checks signatures with its own keys; fauxqs takes any.
      credentials: {
        accessKeyId: objectStore.env.AWS_ACCESS_KEY_ID ?? credentials.accessKeyId,
        secretAccessKey: objectStore.env.AWS_SECRET_ACCESS_KEY ?? credentials.secretAccessKey,
      },
    }),
    queue: sqsTransferQueue(sqs, queueUrl),
    queueBatch: options.queueBatch ?? sqsTransferQueueBatch(sqs, queueUrl),
    passwords: secretsManagerPasswords(new SecretsManagerClient({ region, credentials })),
    continuationKey: async () => continuationKey,
    logger: new Logger({ serviceName: "ftp2s3" }),
    metrics: new Metrics({ namespace: "ftp2s3", serviceName: "ftp2s3", logger: quietMetricsLogger }),
    ledger: ledger.ledger,
    events: events.events,
    ...(options.sessionBudgets === undefined ? {} : { sessionBudgets: options.sessionBudgets }),
    ...(options.slotWait === undefined ? {} : { slotWait: options.slotWait }),
  };
  const handler = createHandler(deps);
  let otherContainer: ReturnType<typeof createHandler> | undefined;

  return {
    ftp,
    s3,
    sqs,
    queueUrl,
    recorder,
    lostAnswers,
    secrets,
    config,
    /** The most FTP sessions the function held open at once so far. */
    get peakSessions() {
      return sessions.peak;
    },
    /** Ranged reads (REST + RETR) the function started so far. */
    get rangedReads() {
      return sessions.rangedReads;
    },
    /** The function's ledger (DynamoDB on dynalite), to read or to stage a record in. */
    ledger: ledger.ledger,
    /** The events the function put, in order. */
    events: events.put,
    /** Puts a file on the partner's FTP server. */
    async serve(path: string, data: Buffer) {
      const local = join(ftp.root, path);
      await mkdir(dirname(local), { recursive: true });
      await writeFile(local, data);
    },
    /** Invokes the handler as Lambda would, with this much time left. */
    invoke(event: unknown, remainingMs = 15 * 60 * 1000): Promise<unknown> {
      return handler(event as never, fakeContext(remainingMs));
    },
    /** Invokes a second container of the same function: its own clients, counters and pacers. */
    invokeInAnotherContainer(event: unknown, remainingMs = 15 * 60 * 1000): Promise<unknown> {
      otherContainer ??= createHandler(deps);
      return otherContainer(event as never, fakeContext(remainingMs));
    },
    /** Structured log lines written so far (Powertools Logger and EMF). */
    logs(): LogLine[] {
      return lines.map((line) => JSON.parse(line) as LogLine);
    },
    /** Every raw line written, for scanning for secrets. */
    rawLines(): string[] {
      return [...lines];
    },
    clearLogs() {
      lines.length = 0;
    },
    /** Takes the messages waiting on the ingestion queue, as the SQS trigger would receive them. */
    receive(): Promise<SQSRecord[]> {
      return takeQueuedRecords(sqs, queueUrl);
    },
    async close() {
      for (const spy of spies) spy.mockRestore();
      secrets.restore();
      await recorder.close();
      await lostAnswers?.close();
      await ftp.close();
      if (objectStore !== aws) await objectStore.close();
      await aws.close();
      await ledger.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

export type LambdaRig = Awaited<ReturnType<typeof startLambdaRig>>;

/** A connection to a scripted fake FTP server on loopback, reading below /outbox, its password in Secrets Manager. */
export function fakeServerConnection(port: number) {
  return {
    host: "127.0.0.1",
    port,
    user: "u",
    secure: false,
    passwordSecretArn: secretArn,
    roots: ["/outbox"],
    timeoutSeconds: 5,
    allowPrivateAddresses: true,
  };
}

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export async function callApi(
  rig: LambdaRig,
  method: string,
  path: string,
  body?: unknown,
  remainingMs?: number,
) {
  const response = (await rig.invoke(urlRequest(method, path, body), remainingMs)) as {
    statusCode: number;
    headers: Record<string, string>;
    body: string;
  };
  return { ...response, body: JSON.parse(response.body) as Record<string, unknown> } as HttpResult;
}

/**
 * Metrics' own logger, without its notice for an invocation that recorded nothing (a test's handler
 * publishes on every invocation, and many record no metric): each other warning still goes to stderr.
 */
const quietMetricsLogger = {
  debug: () => {},
  info: () => {},
  warn: (...args: unknown[]) => {
    if (!String(args[0]).startsWith("No application metrics to publish")) console.warn(...args);
  },
  error: (...args: unknown[]) => console.error(...args),
};

/** An FTP server the rig does not run: where it is, the account, and the folder it serves. */
export interface OutsideFtp {
  port: number;
  user: string;
  password: string;
  root: string;
}

/** An outside server as the rig's partner: what ftp-srv counts for the tests is not known there. */
function outsideFtp(server: OutsideFtp): EmbeddedFtpServer {
  const uncounted = (): never => {
    throw new Error("not counted on an outside FTP server");
  };
  return {
    host: "127.0.0.1",
    ...server,
    get logins() {
      return uncounted();
    },
    get retrieved() {
      return uncounted();
    },
    get retrievedPaths() {
      return uncounted();
    },
    close: async () => {},
  };
}
