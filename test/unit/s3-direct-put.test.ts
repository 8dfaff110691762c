import { PutObjectCommand, type PutObjectCommandInput, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { directPutHeaders, learnRoute, type SentRequest } from "../../functions/adapters/s3-direct-put.js";
import { withUnsignedPayload } from "../../functions/adapters/unsigned-payload.js";

const credentials = { accessKeyId: "AKID", secretAccessKey: "SECRET" };
const crc64nvme = "AAAAAAAAAAA=";
const body = Buffer.from("sixteen bytes!!!");

/** What the SDK itself sends for `input`: its last request, signed, caught before the network. */
async function sdkRequest(
  input: PutObjectCommandInput,
  config: { endpoint?: string; region?: string } = {},
): Promise<SentRequest> {
  let sent: SentRequest | undefined;
  const client = new S3Client({
    credentials,
    region: config.region ?? "us-east-1",
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint, forcePathStyle: true }),
    requestHandler: {
      handle: async (request: SentRequest) => {
        sent = request;
        return { response: { statusCode: 200, headers: { etag: '"e"' }, body: undefined } };
      },
    } as never,
  });
  await client.send(withUnsignedPayload(new PutObjectCommand(input)));
  if (sent === undefined) throw new Error("the SDK sent nothing");
  return sent;
}

const plain = (key: string, extra: Partial<PutObjectCommandInput> = {}): PutObjectCommandInput => ({
  Bucket: "my-bucket",
  Key: key,
  Body: body,
  ContentLength: body.length,
  Metadata: {},
  ChecksumCRC64NVME: crc64nvme,
  ...extra,
});

describe("a small PutObject sent without the SDK follows the SDK's own request", () => {
  it.each([
    "plain.txt",
    "dir/sub dir/file name.csv",
    "plus+and=equals&amp;.bin",
    "!'()*~-_.",
    "%25 percent%2F and # hash ? query",
    "ünïcødé/日本語/файл",
    "/leading//double/slash/",
    "emoji 😀.txt",
  ])("puts key %j at the path the SDK puts it, after the route's prefix", async (key) => {
    const input = plain(key);
    const sent = await sdkRequest(input, { endpoint: "https://s3.example.test:9000" });

    const route = learnRoute(input, sent);

    expect(route).toEqual({
      protocol: "https:",
      hostname: "s3.example.test",
      port: 9000,
      host: "s3.example.test:9000",
      pathPrefix: "/my-bucket/",
      signingRegion: "us-east-1",
    });
  });

  it("learns AWS's virtual-hosted address and the bucket's signing region", async () => {
    const input = plain("a/b.txt");
    const sent = await sdkRequest(input, { region: "eu-west-3" });

    expect(learnRoute(input, sent)).toMatchObject({
      protocol: "https:",
      hostname: "my-bucket.s3.eu-west-3.amazonaws.com",
      pathPrefix: "/",
      signingRegion: "eu-west-3",
    });
  });

  it("sends the same headers as the SDK for every field it takes, and over HTTP signs the payload", async () => {
    const input = plain("k", {
      ContentType: "text/csv; charset=utf-8",
      Metadata: { "source-url": "ftp://host/a b.csv", mtime: "2026-12-07T10:00:00.000Z" },
      IfNoneMatch: "*",
      Tagging: "team=data&origin=ftp%20feed",
      StorageClass: "STANDARD_IA",
      ServerSideEncryption: "aws:kms",
      SSEKMSKeyId: "arn:aws:kms:us-east-1:111122223333:key/abcd",
      BucketKeyEnabled: true,
    });
    for (const endpoint of ["https://s3.example.test", "http://127.0.0.1:4569"]) {
      const sent = await sdkRequest(input, { endpoint });

      // learnRoute keeps a route only when the request's own headers equal directPutHeaders'.
      expect(learnRoute(input, sent), endpoint).toBeDefined();
    }
  });

  it("leaves to the SDK what it does not send itself", () => {
    expect(directPutHeaders(plain("k", { ObjectLockMode: "GOVERNANCE" }))).toBeUndefined();
    expect(directPutHeaders(plain("k", { ChecksumCRC64NVME: undefined }))).toBeUndefined();
    expect(directPutHeaders(plain("k", { Body: "text" }))).toBeUndefined();
    expect(directPutHeaders(plain("k", { ContentLength: 3 }))).toBeUndefined();
    expect(directPutHeaders(plain("k"))).toEqual({
      "content-length": "16",
      "content-type": "application/octet-stream",
      "x-amz-checksum-crc64nvme": crc64nvme,
    });
  });

  it("keeps no route when the SDK's request differs from what it would send", async () => {
    const input = plain("k", { Metadata: { a: "1" } });
    const sent = await sdkRequest(input, { endpoint: "https://s3.example.test" });

    expect(learnRoute(input, { ...sent, headers: { ...sent.headers, "x-amz-meta-b": "2" } })).toBeUndefined();
    expect(learnRoute(input, { ...sent, query: { "x-id": "PutObject", versionId: "v" } })).toBeUndefined();
    expect(learnRoute(input, { ...sent, path: `${sent.path}x` })).toBeUndefined();
    const authorization = sent.headers.authorization ?? "";
    const sigv4a = authorization.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256");
    expect(
      learnRoute(input, { ...sent, headers: { ...sent.headers, authorization: sigv4a } }),
    ).toBeUndefined();
    const express = authorization.replace("/s3/aws4_request", "/s3express/aws4_request");
    expect(
      learnRoute(input, { ...sent, headers: { ...sent.headers, authorization: express } }),
    ).toBeUndefined();
  });
});
