import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { S3Client } from "@aws-sdk/client-s3";
import { Crc64Nvme } from "@aws-sdk/crc64-nvme";
import { describe, expect, it } from "vitest";
import { S3Sink } from "../../functions/adapters/s3-sink.js";
import { PartUpload } from "../../functions/core/part-upload.js";
import { fastSha256 } from "../../functions/core/sha256.js";

/** What the handler is given: the request after every middleware (signing, checksums). */
interface HttpRequest {
  method: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body?: unknown;
}

/** One request as the SDK put it on the wire (after every middleware), and its body bytes. */
interface WireRequest {
  method: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body: Buffer;
}

/** An S3 client whose HTTP handler records each request and answers as S3 would, with no network. */
function recordingClient(endpoint = "https://127.0.0.1:9"): { client: S3Client; requests: WireRequest[] } {
  const requests: WireRequest[] = [];
  const answer = (status: number, headers: Record<string, string>, body = "") => ({
    response: { statusCode: status, headers, body: Readable.from([Buffer.from(body)]) },
  });
  const requestHandler = {
    handle: async (request: HttpRequest) => {
      const body = await bodyBytes(request.body);
      requests.push({ method: request.method, query: request.query, headers: request.headers, body });
      if (request.method === "POST" && "uploads" in request.query) {
        return answer(
          200,
          {},
          "<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>",
        );
      }
      if (request.method === "PUT") {
        const crc = request.headers["x-amz-checksum-crc64nvme"];
        return answer(200, {
          etag: `"e${request.query.partNumber ?? "put"}"`,
          ...(crc ? { "x-amz-checksum-crc64nvme": crc } : {}),
        });
      }
      return answer(
        200,
        {},
        '<CompleteMultipartUploadResult><ETag>"whole"</ETag></CompleteMultipartUploadResult>',
      );
    },
  };
  const client = new S3Client({
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
    requestHandler,
  });
  return { client, requests };
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === "string" || body instanceof Uint8Array) return Buffer.from(body);
  return Buffer.concat(await (body as Readable).toArray());
}

/** The SDK's own CRC64NVME, the reference ours must equal. */
async function sdkCrc(bytes: Uint8Array): Promise<string> {
  const crc = new Crc64Nvme();
  crc.update(bytes);
  return Buffer.from(await crc.digest()).toString("base64");
}

const partSize = 5 * 2 ** 20;
const target = { bucket: "b", key: "k.bin" };

async function copyThroughSink(data: Buffer, endpoint?: string): Promise<WireRequest[]> {
  const { client, requests } = recordingClient(endpoint);
  const sink = new S3Sink(client);
  const crc = await sink.fullObjectChecksum();
  const upload = new PartUpload(sink, target, {
    partSize,
    queueSize: 2,
    metadata: {},
    ifNoneMatch: false,
    expectedBytes: data.length,
    hash: fastSha256(),
    ...(crc === null ? {} : { crc }),
  });
  for (let offset = 0; offset < data.length; offset += 64 * 1024) {
    if (!upload.write(data.subarray(offset, offset + 64 * 1024))) {
      await new Promise((resolve) => upload.once("drain", resolve));
    }
  }
  await upload.commit();
  return requests;
}

describe("CRC64NVME computed once per byte: each part's own, combined for the object", () => {
  it("sends each UploadPart its part's CRC64NVME as a header, and Complete the parts' CRCs combined, as S3 computes them", async () => {
    // Arrange: two whole parts and a short last one.
    const data = randomBytes(2 * partSize + 12_345);

    // Act
    const requests = await copyThroughSink(data);

    // Assert
    const parts = requests.filter((r) => r.method === "PUT" && r.query.partNumber !== undefined);
    expect(parts).toHaveLength(3);
    for (const [index, part] of parts.entries()) {
      const bytes = data.subarray(index * partSize, (index + 1) * partSize);
      expect(part.body.equals(bytes), `part ${index + 1}'s body is the part's bytes, as they are`).toBe(true);
      expect(part.headers["x-amz-checksum-crc64nvme"]).toBe(await sdkCrc(bytes));
      // A plain body with the checksum in a header: no aws-chunked encoding with a trailing checksum.
      expect(part.headers["content-encoding"]).toBeUndefined();
      expect(part.headers["x-amz-trailer"]).toBeUndefined();
      // S3 checks the CRC against the bytes: the signature need not hash them once more.
      expect(part.headers["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
    }
    const complete = requests.find((r) => r.method === "POST" && r.query.uploadId === "U1");
    expect(complete?.headers["x-amz-checksum-crc64nvme"]).toBe(await sdkCrc(data));
    expect(complete?.headers["x-amz-checksum-type"]).toBe("FULL_OBJECT");
    expect(complete?.body.toString()).toContain(
      `<ChecksumCRC64NVME>${await sdkCrc(data.subarray(0, partSize))}</ChecksumCRC64NVME>`,
    );
  });

  it("the SDK sends the part checksum it is given, computing none of its own", async () => {
    // Arrange: a value that is not the part's CRC, so a checksum the SDK computed would show.
    const { client, requests } = recordingClient();
    const sink = new S3Sink(client);
    const given = "AAAAAAAAAAE=";

    // Act
    await sink.uploadPart(target, "U1", 1, randomBytes(1024), { crc64nvme: given });

    // Assert
    expect(requests[0]?.headers["x-amz-checksum-crc64nvme"]).toBe(given);
    expect(Object.keys(requests[0]?.headers ?? {}).filter((h) => h.startsWith("x-amz-checksum-"))).toEqual([
      "x-amz-checksum-crc64nvme",
    ]);
  });

  it("sends a one-part file's CRC64NVME with its PutObject", async () => {
    const data = randomBytes(300_000);
    const requests = await copyThroughSink(data);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers["x-amz-checksum-crc64nvme"]).toBe(await sdkCrc(data));
    expect(requests[0]?.headers["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
  });

  it("over plain HTTP a part with its CRC64NVME is still signed by its SHA-256: without TLS a CRC guards nothing against a changed body", async () => {
    const data = randomBytes(300_000);
    const requests = await copyThroughSink(data, "http://127.0.0.1:9");
    expect(requests[0]?.headers["x-amz-checksum-crc64nvme"]).toBe(await sdkCrc(data));
    expect(requests[0]?.headers["x-amz-content-sha256"]).toBe(
      createHash("sha256").update(data).digest("hex"),
    );
  });

  it("without a CRC (--checksums when-required) a part's payload stays signed by its SHA-256", async () => {
    const { client, requests } = recordingClient();
    await new S3Sink(client).uploadPart(target, "U1", 1, Buffer.alloc(100));
    expect(requests[0]?.headers["x-amz-content-sha256"]).toBe(
      "cd00e292c5970d3c5e2f0ffa5171e555bc46bfc4faddfb4a418b6840b86e79a3", // SHA-256 of 100 zero bytes
    );
  });
});
