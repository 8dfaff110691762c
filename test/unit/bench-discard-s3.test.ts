import { Readable } from "node:stream";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BodyReader } from "../../bench/lib/aws-chunked.js";
import { type DiscardS3, startDiscardS3 } from "../../bench/lib/discard-s3.js";

describe("the bench's aws-chunked reader", () => {
  it("takes the payload and the trailers out of a body split anywhere", () => {
    // Arrange: two chunks, the final one, a trailing checksum, as the SDK frames them.
    const wire = Buffer.from(
      "5\r\nhello\r\n6;chunk-signature=abc\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
    );
    const reader = new BodyReader(true, 1024);

    // Act: one byte at a time, the worst split a socket can give.
    for (const byte of wire) reader.write(Buffer.from([byte]));

    // Assert
    expect(reader.payload()?.toString()).toBe("hello world");
    expect(reader.size).toBe(11);
    expect(reader.trailers).toEqual({ "x-amz-checksum-crc32": "AAAAAA==" });
  });

  it("counts a body larger than it keeps, and keeps none of it", () => {
    const reader = new BodyReader(false, 4);
    reader.write(Buffer.from("abc"));
    reader.write(Buffer.from("def"));
    expect(reader.size).toBe(6);
    expect(reader.payload()).toBeUndefined();
  });
});

describe("the bench's discard S3 endpoint", () => {
  let s3: DiscardS3;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await startDiscardS3();
    client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: s3.credentials,
    });
    const keys = [
      ...Array.from({ length: 1005 }, (_, i) => `p/f${String(i).padStart(4, "0")}`),
      "p/sub/a",
      "p/sub/b",
    ];
    // 25 at a time: a thousand requests one by one take most of the hook's time on a loaded machine.
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(
        keys
          .slice(i, i + 25)
          .map((Key) => client.send(new PutObjectCommand({ Bucket: "b", Key, Body: "x" }))),
      );
    }
  }, 120_000);
  afterAll(async () => {
    client.destroy();
    await s3.close();
  });

  it("lists every key in pages of 1,000, with sizes and ETags", async () => {
    // Arrange
    const listed: { Key?: string; Size?: number; ETag?: string }[] = [];
    let ContinuationToken: string | undefined;
    let pages = 0;

    // Act
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: "b", Prefix: "p/", ContinuationToken }),
      );
      listed.push(...(page.Contents ?? []));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      pages += 1;
    } while (ContinuationToken);

    // Assert: "x" is one byte, its MD5 the ETag.
    expect(pages).toBe(2);
    expect(listed).toHaveLength(1007);
    expect(listed[0]).toMatchObject({ Key: "p/f0000", Size: 1, ETag: '"9dd4e461268c8034f5c8564e155c67a6"' });
  });

  it("groups keys below a delimiter into one common prefix, across pages", async () => {
    const prefixes: string[] = [];
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: "b",
          Prefix: "p/",
          Delimiter: "/",
          MaxKeys: 300,
          ContinuationToken,
        }),
      );
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    expect(keys).toHaveLength(1005);
    expect(prefixes).toEqual(["p/sub/"]);
  });

  it("reads a streamed (aws-chunked) body to its end and gives back a small object whole", async () => {
    const text = "y".repeat(70_000);
    await client.send(
      new PutObjectCommand({
        Bucket: "b",
        Key: "chunked",
        Body: Readable.from([Buffer.from(text)]),
        ContentLength: text.length,
      }),
    );
    const object = await client.send(new GetObjectCommand({ Bucket: "b", Key: "chunked" }));
    expect(await object.Body?.transformToString()).toBe(text);
  });
});
