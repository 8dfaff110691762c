import { Readable } from "node:stream";
import { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { S3Sink } from "../../functions/adapters/s3-sink.js";
import { ObjectExistsError, S3Error } from "../../functions/core/index.js";

/**
 * An S3 client whose HTTP handler answers the writes with the given statuses in turn (S3's XML error
 * for the failures), then 200: the SDK parses each answer as it would S3's, and retries as it would.
 */
function answering(...statuses: number[]): { sink: S3Sink; writes: () => number } {
  let writes = 0;
  const errorCode: Record<number, string> = { 409: "ConditionalRequestConflict", 412: "PreconditionFailed" };
  const requestHandler = {
    handle: async (request: { method: string }) => {
      const respond = (statusCode: number, body: string, headers: Record<string, string> = {}) => ({
        response: { statusCode, headers, body: Readable.from([Buffer.from(body)]) },
      });
      if (request.method === "GET") return respond(200, "");
      const status = statuses[writes++] ?? 200;
      if (status !== 200) {
        return respond(
          status,
          `<Error><Code>${errorCode[status]}</Code><Message>answer ${writes}</Message></Error>`,
          { "content-type": "application/xml" },
        );
      }
      return request.method === "PUT"
        ? respond(200, "", { etag: '"put"' })
        : respond(200, '<CompleteMultipartUploadResult><ETag>"whole"</ETag></CompleteMultipartUploadResult>');
    },
  };
  const client = new S3Client({
    region: "us-east-1",
    endpoint: "https://127.0.0.1:9",
    forcePathStyle: true,
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
    requestHandler,
  });
  return { sink: new S3Sink(client), writes: () => writes };
}

const target = { bucket: "b", key: "k.bin" };
const put = (sink: S3Sink) =>
  sink.putObject(target, Buffer.from("bytes"), { metadata: {}, ifNoneMatch: true });
const complete = (sink: S3Sink) =>
  sink.completeMultipartUpload(target, "U1", [{ partNumber: 1, etag: "p1" }], { ifNoneMatch: true });

describe("a conditional write that raced another request (409 ConditionalRequestConflict) is sent again", () => {
  it("PutObject: the second attempt lands", async () => {
    // Arrange
    const s3 = answering(409);

    // Act
    const committed = await put(s3.sink);

    // Assert
    expect(committed.etag).toBe("put");
    expect(s3.writes()).toBe(2);
  });

  it("CompleteMultipartUpload: the second attempt completes the object", async () => {
    // Arrange
    const s3 = answering(409);

    // Act
    const committed = await complete(s3.sink);

    // Assert
    expect(committed.etag).toBe("whole");
    expect(s3.writes()).toBe(2);
  });

  it("gives up after three conflicts with the S3 error, naming the conflict", async () => {
    // Arrange
    const s3 = answering(409, 409, 409, 409);

    // Act
    const failure = await put(s3.sink).catch((error: unknown) => error);

    // Assert
    expect(failure).toBeInstanceOf(S3Error);
    expect((failure as S3Error).httpStatus).toBe(409);
    expect((failure as Error).message).toContain("ConditionalRequestConflict");
    expect(s3.writes()).toBe(3);
  });

  it("a conflict then the other writer's object (412): OBJECT_EXISTS, the first one stays", async () => {
    // Arrange
    const s3 = answering(409, 412);

    // Act
    const failure = await put(s3.sink).catch((error: unknown) => error);

    // Assert
    expect(failure).toBeInstanceOf(ObjectExistsError);
    expect(s3.writes()).toBe(2);
  });

  it("other refusals are not sent again (412 alone: one request)", async () => {
    // Arrange
    const s3 = answering(412);

    // Act
    const failure = await complete(s3.sink).catch((error: unknown) => error);

    // Assert
    expect(failure).toBeInstanceOf(ObjectExistsError);
    expect(s3.writes()).toBe(1);
  });
});
