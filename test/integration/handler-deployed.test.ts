import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  bucket,
  callApi,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

const MiB = 1024 * 1024;

/** What a deployed function meets that a single test invocation does not: warm containers, and IAM. */
describe("the function as deployed: warm invocations and a forbidden existence check", () => {
  let rig: LambdaRig;
  beforeAll(async () => {
    // Lambda sets this; without it Powertools reports every invocation as warm (cold_start false).
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = "on-demand";
    // s3rver stores objects on disk and keeps the ones a refused copy must not replace.
    rig = await startLambdaRig({ s3: "s3rver" });
  });
  afterAll(async () => {
    await rig?.close();
    delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  });
  beforeEach(() => {
    rig.recorder.fault = undefined;
    rig.recorder.requests.length = 0;
    rig.clearLogs();
  });

  it("logs cold_start true on the first invocation's transfer lines only, false on a warm one's", async () => {
    // Arrange: two files, copied by two invocations of the same function instance
    await rig.serve("outbox/warm-1.bin", randomFile(1000));
    await rig.serve("outbox/warm-2.bin", randomFile(1000));
    const coldStarts = (path: string) =>
      rig
        .logs()
        .filter((line) => line.path === path)
        .map((line) => [line.message, line.cold_start]);

    // Act: an API copy, then an SQS batch
    const first = await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/warm-1.bin",
    });
    const second = await rig.invoke(
      sqsEvent(sqsRecord(JSON.stringify({ connection: "partner", path: "/outbox/warm-2.bin" }))),
    );

    // Assert: every line of a transfer carries its own invocation's cold start, and its keys
    expect(first.statusCode).toBe(200);
    expect(second).toEqual({ batchItemFailures: [] });
    const cold = coldStarts("/outbox/warm-1.bin");
    expect(cold[0]).toEqual(["transfer started", true]);
    expect(cold.at(-1)).toEqual(["transfer completed", true]);
    expect(cold.every(([, coldStart]) => coldStart === true)).toBe(true);
    const warm = coldStarts("/outbox/warm-2.bin");
    expect(warm[0]).toEqual(["transfer started", false]);
    expect(warm.at(-1)).toEqual(["transfer completed", false]);
    expect(warm.every(([, coldStart]) => coldStart === false)).toBe(true);
    const completed = rig
      .logs()
      .find((l) => l.message === "transfer completed" && l.path === "/outbox/warm-2.bin");
    expect(completed).toMatchObject({
      trigger: "queue",
      connection: "partner",
      bucket,
      key: "landing/partner/outbox/warm-2.bin",
    });
  });

  it("copies to a free key when S3 answers 403 to the existence check, with a conditional write", async () => {
    // Arrange: HeadObject forbidden, as for a role without s3:ListBucket on the key
    const data = randomFile(6 * MiB); // two parts: the conditional write is CompleteMultipartUpload
    await rig.serve("outbox/forbidden-free.bin", data);
    rig.recorder.fault = ({ operation }) => (operation === "HeadObject" ? 403 : undefined);

    // Act
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/forbidden-free.bin",
    });

    // Assert: stored whole; the commit carried If-None-Match: *; the log says who decided
    expect(response.statusCode).toBe(200);
    rig.recorder.fault = undefined;
    const stored = await readObject(rig.s3, bucket, "landing/partner/outbox/forbidden-free.bin");
    expect(sha256(stored)).toBe(sha256(data));
    const commit = rig.recorder.requests.filter((r) => r.operation === "CompleteMultipartUpload");
    expect(commit.map((r) => r.ifNoneMatch)).toEqual(["*"]);
    const warning = rig.logs().find((l) => l.level === "WARN" && l.path === "/outbox/forbidden-free.bin");
    expect(warning?.message).toMatch(
      /^cannot check whether s3:\/\/landing-bucket\/landing\/partner\/outbox\/forbidden-free\.bin exists .*HTTP 403.*; the conditional write \(If-None-Match: \*\) decides instead/,
    );
    expect(rig.recorder.openUploads()).toEqual([]);
  });

  it("refuses with OBJECT_EXISTS and replaces nothing when the key is taken and the check met 403", async () => {
    // Arrange: an object at the key; HeadObject forbidden. s3rver ignores If-None-Match on writes
    // (it honours it on GET only), so the recorder answers the conditional write as S3 does: 412.
    const key = "landing/partner/outbox/forbidden-taken.bin";
    await rig.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "the partner's earlier file" }));
    await rig.serve("outbox/forbidden-taken.bin", randomFile(1000));
    rig.recorder.fault = ({ operation }) =>
      (({ HeadObject: 403, PutObject: 412 }) as Record<string, number>)[operation];

    // Act
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/forbidden-taken.bin",
    });

    // Assert: 409 OBJECT_EXISTS; the write that S3 refused was the conditional one; the object is the old one
    expect(response.statusCode).toBe(409);
    expect(response.body.error).toMatchObject({ code: "OBJECT_EXISTS" });
    const writes = rig.recorder.requests.filter((r) => r.operation === "PutObject");
    expect(writes.map((r) => [r.ifNoneMatch, r.status])).toEqual([["*", 412]]);
    rig.recorder.fault = undefined;
    expect((await readObject(rig.s3, bucket, key)).toString()).toBe("the partner's earlier file");
    expect(rig.recorder.openUploads()).toEqual([]);
    expect(await objectExists(rig.s3, bucket, key)).toBe(true);
  });
});
