import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { S3Client } from "@aws-sdk/client-s3";
import { afterEach, describe, expect, it } from "vitest";
import { createS3Client } from "../../functions/adapters/s3-client.js";
import { S3Sink } from "../../functions/adapters/s3-sink.js";
import { sendBodiesInPieces, TLS_BODY_PIECE } from "../../functions/adapters/tls-body-pieces.js";
import { PartUpload } from "../../functions/core/part-upload.js";
import { fastSha256 } from "../../functions/core/sha256.js";

/** A loopback S3 stub that answers a multipart upload and counts the connections it accepts. */
async function countingS3(): Promise<{
  endpoint: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  let connections = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      const query = new URL(req.url ?? "/", "http://stub").searchParams;
      if (req.method === "POST" && query.has("uploads")) {
        res.end("<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>");
      } else if (req.method === "PUT") {
        res.setHeader("etag", `"e${query.get("partNumber")}"`);
        res.end();
      } else {
        res.end('<CompleteMultipartUploadResult><ETag>"whole"</ETag></CompleteMultipartUploadResult>');
      }
    });
  });
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let stub: Awaited<ReturnType<typeof countingS3>> | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

describe("the S3 client keeps its connections", () => {
  it("sends the parts of an upload, one after another, over one kept-alive connection", async () => {
    // Arrange: parts of 5 MiB, over the SDK's 2 MB threshold for `Expect: 100-continue`, whose requests
    // the SDK would send over a connection of their own each.
    stub = await countingS3();
    const client = createS3Client(
      { endpoint: stub.endpoint, region: "us-east-1", checksums: "when-required" },
      { AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" },
    );
    const partSize = 5 * 2 ** 20;
    const data = randomBytes(3 * partSize);
    const upload = new PartUpload(
      new S3Sink(client),
      { bucket: "b", key: "k.bin" },
      {
        partSize,
        queueSize: 1,
        metadata: {},
        ifNoneMatch: false,
        expectedBytes: data.length,
        hash: fastSha256(),
      },
    );

    // Act
    upload.end(data);
    const committed = await upload.commit();

    // Assert: Create, three parts and Complete, all on the first connection.
    expect(committed.etag).toBe("whole");
    expect(stub.connections()).toBe(1);
    client.destroy();
  });
});

describe("bodies go to TLS in pieces", () => {
  /** An S3 client over HTTPS whose handler records each body as it was handed over, failing the first PUT. */
  function recordingHttpsClient(): { client: S3Client; bodies: unknown[]; received: Buffer[] } {
    const bodies: unknown[] = [];
    const received: Buffer[] = [];
    const requestHandler = {
      handle: async (request: { method: string; body?: unknown }) => {
        bodies.push(request.body);
        const bytes = Buffer.concat(await (request.body as Readable).toArray());
        received.push(bytes);
        const status = received.length === 1 ? 500 : 200;
        return { response: { statusCode: status, headers: { etag: '"e1"' }, body: Readable.from([]) } };
      },
    };
    const client = new S3Client({
      region: "us-east-1",
      endpoint: "https://127.0.0.1:9",
      forcePathStyle: true,
      credentials: { accessKeyId: "k", secretAccessKey: "s" },
      requestHandler,
    });
    sendBodiesInPieces(client);
    return { client, bodies, received };
  }

  it("hands a part over in pieces, and a retry sends it again from its first byte", async () => {
    // Arrange: a part of several pieces; S3 answers the first attempt with a 500, which the SDK retries.
    const { client, bodies, received } = recordingHttpsClient();
    const data = randomBytes(3 * TLS_BODY_PIECE + 1000);

    // Act
    await new S3Sink(client).uploadPart({ bucket: "b", key: "k.bin" }, "U1", 1, data, {
      crc64nvme: "AAAAAAAAAAE=",
    });

    // Assert
    expect(received).toHaveLength(2);
    for (const bytes of received) expect(bytes.equals(data)).toBe(true);
    expect(bodies[0]).toBeInstanceOf(Readable);
    expect(bodies[1]).not.toBe(bodies[0]);
  });
});
