import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { buildApp } from "fauxqs";
import S3rver from "s3rver";
import { installS3rverMultipart } from "./s3rver-multipart.js";

export interface EmbeddedS3Server {
  /**
   * "s3rver" keeps objects in a folder. Of multipart uploads, s3rver itself implements Create, UploadPart
   * and Complete (which checks neither ETags nor part sizes); ListParts, AbortMultipartUpload and
   * ListMultipartUploads come from ./s3rver-multipart.ts, over the parts s3rver stored.
   * "fauxqs" keeps them in memory, and implements AbortMultipartUpload itself.
   */
  kind: "s3rver" | "fauxqs";
  endpoint: string;
  /** Environment for the SDK (and the CLI) to reach this server. */
  env: Record<string, string>;
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  close(): Promise<void>;
}

const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

function describe(
  kind: EmbeddedS3Server["kind"],
  endpoint: string,
  close: () => Promise<void>,
): EmbeddedS3Server {
  const client = () => new S3Client({ endpoint, forcePathStyle: true, region: "us-east-1", credentials });
  return {
    kind,
    endpoint,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: "us-east-1",
    },
    client,
    async createBucket(name) {
      await client().send(new CreateBucketCommand({ Bucket: name }));
    },
    close,
  };
}

/**
 * s3rver on 127.0.0.1, storing objects under `directory` where a person can look at them, with
 * ListParts, AbortMultipartUpload and ListMultipartUploads added in front of its own middleware.
 */
export async function startS3rver(directory: string): Promise<EmbeddedS3Server> {
  await mkdir(directory, { recursive: true });
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory });
  installS3rverMultipart(server); // before run(): Koa composes its middleware when it starts listening
  const address = (await server.run()) as AddressInfo;
  return describe("s3rver", `http://127.0.0.1:${address.port}`, async () => {
    await server.close();
  });
}

/**
 * fauxqs (S3, SQS, SNS in memory) listening on 127.0.0.1 only (its startFauxqs binds 0.0.0.0).
 * Queues are created through the SQS API and named by the URL fauxqs returns, which it matches exactly.
 */
export async function startFauxqsS3(): Promise<
  EmbeddedS3Server & { createQueue(name: string): Promise<string> }
> {
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ port: 0, host: "127.0.0.1" });
  const server = describe("fauxqs", endpoint, async () => {
    await app.close();
  });
  return {
    ...server,
    async createQueue(name) {
      const sqs = new SQSClient({ endpoint, region: "us-east-1", credentials });
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
      return QueueUrl ?? "";
    },
  };
}
