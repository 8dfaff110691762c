import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  bucket,
  callApi,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { objectExists, objectMetadata, objectTags, randomFile } from "../support/objects.js";

/**
 * Object settings through the function: the connection's from the config, a mirror job's and a
 * request's over them (most specific wins, metadata and tags name by name), as S3 receives them.
 */
const MiB = 1024 * 1024;
const KEY = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("the function's object settings", () => {
  let rig: LambdaRig;

  beforeAll(async () => {
    rig = await startLambdaRig({
      s3: "s3rver",
      mirror: { inlineFiles: 1 },
      partnerObject: {
        storageClass: "STANDARD_IA",
        kmsKeyId: KEY,
        retention: { mode: "GOVERNANCE", days: 7 },
        metadata: { origin: "{connection}" },
        tags: { team: "data", file: "{path}" },
      },
    });
  });
  afterAll(() => rig.close());
  beforeEach(() => {
    rig.recorder.requests.length = 0;
  });

  function requestsOf(operation: string) {
    return rig.recorder.requests.filter((r) => r.operation === operation);
  }

  it("an API copy sends the connection's settings with the request's over them, on its PutObject", async () => {
    // Arrange
    await rig.serve("outbox/api/a.csv", randomFile(100));

    // Act
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/api/a.csv",
      object: { storageClass: "INTELLIGENT_TIERING", tags: { file: "{name}" }, metadata: { kind: "report" } },
    });

    // Assert
    expect(response.statusCode).toBe(200);
    const [put] = requestsOf("PutObject");
    expect(put?.headers).toMatchObject({
      "content-type": "text/csv",
      "x-amz-storage-class": "INTELLIGENT_TIERING",
      "x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-aws-kms-key-id": KEY,
      "x-amz-server-side-encryption-bucket-key-enabled": "true",
      "x-amz-object-lock-mode": "GOVERNANCE",
      "x-amz-meta-origin": "partner",
      "x-amz-meta-kind": "report",
    });
    expect(Object.fromEntries(new URLSearchParams(put?.headers["x-amz-tagging"]))).toEqual({
      team: "data",
      file: "a.csv",
    });
    const key = "landing/partner/outbox/api/a.csv";
    expect(await objectMetadata(rig.s3, bucket, key)).toMatchObject({ origin: "partner", kind: "report" });
    expect(await objectTags(rig.s3, bucket, key)).toEqual({ team: "data", file: "a.csv" });
  });

  it("a queued copy of a multipart file sends them on CreateMultipartUpload", async () => {
    await rig.serve("outbox/queue/big.bin", randomFile(6 * MiB));

    const batch = await rig.invoke(
      sqsEvent(sqsRecord(JSON.stringify({ connection: "partner", path: "/outbox/queue/big.bin" }))),
    );

    expect(batch).toEqual({ batchItemFailures: [] });
    const [create] = requestsOf("CreateMultipartUpload");
    expect(create?.headers).toMatchObject({
      "content-type": "application/octet-stream",
      "x-amz-storage-class": "STANDARD_IA",
      "x-amz-server-side-encryption-aws-kms-key-id": KEY,
      "x-amz-object-lock-mode": "GOVERNANCE",
      "x-amz-tagging": "team=data&file=%2Foutbox%2Fqueue%2Fbig.bin",
    });
    expect(requestsOf("PutObject")).toHaveLength(0);
  });

  it("a mirror job's settings apply to the files it copies and travel with those it queues", async () => {
    await rig.serve("outbox/job/one.csv", randomFile(10));
    await rig.serve("outbox/job/two.csv", randomFile(10));
    const object = { storageClass: "ONEZONE_IA", tags: { job: "nightly" } };

    const summary = await rig.invoke({
      mirror: { connection: "partner", remoteDir: "/outbox/job", prefix: "job/", object },
    });
    const messages = await rig.receive();
    // The mirror's manifest is a PutObject too, below the state prefix: only the files count here.
    const files = () =>
      requestsOf("PutObject").filter((r) => r.path.startsWith(`/${bucket}/landing/partner/job/`));
    const inline = files().length;
    await rig.invoke(sqsEvent(...messages));

    expect(summary).toMatchObject({ copied: 1, enqueued: 1, failed: [] });
    expect(messages.map((m) => JSON.parse(m.body).object)).toEqual([object]);
    const puts = files();
    expect(inline).toBe(1);
    expect(puts).toHaveLength(2);
    for (const put of puts) {
      expect(put.headers["x-amz-storage-class"]).toBe("ONEZONE_IA");
      expect(put.headers["x-amz-server-side-encryption-aws-kms-key-id"]).toBe(KEY);
      expect(new URLSearchParams(put.headers["x-amz-tagging"]).get("job")).toBe("nightly");
    }
  });

  it("refuses a request that names a key or a retention: they are the connection's", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/api/a.csv",
      object: { kmsKeyId: KEY },
    });

    expect(response.statusCode).toBe(400);
    expect(response.body).toMatchObject({ error: { code: "INVALID_INPUT" } });
    expect(JSON.stringify(response.body)).toContain("kmsKeyId");
    expect(rig.recorder.requests).toHaveLength(0);
  });

  it("refuses a file whose path is too long for its tag with one line (400), nothing stored", async () => {
    const path = `/outbox/long/${`${"d".repeat(60)}/`.repeat(4)}file.bin`;
    await rig.serve(path.slice(1), randomFile(100));

    const response = await callApi(rig, "POST", "/transfers", { connection: "partner", path });

    expect(response.statusCode).toBe(400);
    const { code, message } = response.body.error as { code: string; message: string };
    expect(code).toBe("INVALID_INPUT");
    expect(message).toMatch(/tag "file" would be 265 characters, more than S3's 256; nothing was stored$/);
    expect(message).not.toContain("\n");
    expect(requestsOf("PutObject")).toHaveLength(0);
    expect(await objectExists(rig.s3, bucket, `landing/partner${path}`)).toBe(false);
  });
});
