import { HeadObjectCommand, ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { afterEach, describe, expect, it } from "vitest";
import {
  bucket,
  callApi,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { randomFile, readObject, sha256 } from "../support/objects.js";

// The Lambda's two completions (one invocation's copy, and the commit of a file fanned out over
// range legs) when S3 commits a Complete and its answer is lost: the SDK sends it again and meets
// NoSuchUpload; the object at the key is the upload's own, so the transfer is committed.
const MiB = 1024 * 1024;
const lostWarning =
  /^upload \S+ to s3:\/\/\S+ was gone when its completion was asked again \(the answer to an earlier CompleteMultipartUpload was lost\): the object at the key is this upload's \(\d+ bytes, CRC64NVME \S+ as sent\), so it counts as committed$/;

describe("the Lambda: a Complete whose answer was lost", () => {
  let rig: LambdaRig;
  afterEach(async () => {
    await rig?.close();
  });
  const completes = () => rig.recorder.requests.filter((r) => r.operation === "CompleteMultipartUpload");
  // Asked of S3 itself: the recorder, which saw no 2xx to the Complete, counts the upload as open.
  const openUploads = async () =>
    (await rig.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  const warnings = () => rig.logs().filter((l) => l.level === "WARN" && lostWarning.test(l.message));

  it("answers 200 with the object's ETag for a copy in one invocation", async () => {
    // Arrange
    rig = await startLambdaRig({ s3: "s3rver", lostAnswers: true });
    const data = randomFile(7 * MiB);
    await rig.serve("outbox/lost.bin", data);
    rig.lostAnswers?.loseNextComplete();

    // Act
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/lost.bin",
    });

    // Assert
    expect(response.statusCode).toBe(200);
    const head = await rig.s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: "landing/partner/outbox/lost.bin" }),
    );
    expect(response.body).toMatchObject({
      bytes: data.length,
      sha256: sha256(data),
      etag: head.ETag?.replaceAll('"', ""),
    });
    expect(sha256(await readObject(rig.s3, bucket, "landing/partner/outbox/lost.bin"))).toBe(sha256(data));
    expect(completes().map((r) => r.status)).toEqual([502, 404]); // the recorder's 502: no answer came
    expect(warnings()).toHaveLength(1);
    expect(await openUploads()).toEqual([]);
  });

  it("commits a file fanned out over range legs", async () => {
    // Arrange
    rig = await startLambdaRig({
      s3: "s3rver",
      lostAnswers: true,
      partner: { rangeFanout: { minMiB: 5, ranges: 4, maxSessions: 4 } },
    });
    const data = randomFile(4 * 5 * MiB + 1234);
    await rig.serve("outbox/big.bin", data);
    await rig.invoke(
      sqsEvent(sqsRecord(JSON.stringify({ connection: "partner", path: "/outbox/big.bin" }), "t-lost")),
    );
    const ranges = await rig.receive();
    rig.lostAnswers?.loseNextComplete();

    // Act
    const answers = await Promise.all(ranges.map((message) => rig.invoke(sqsEvent(message))));

    // Assert
    expect(answers).toEqual(ranges.map(() => ({ batchItemFailures: [] })));
    expect(sha256(await readObject(rig.s3, bucket, "landing/partner/outbox/big.bin"))).toBe(sha256(data));
    expect((await rig.ledger.get("t-lost"))?.state).toBe("committed");
    expect(rig.events.map((e) => e.detailType)).toEqual(["Object Ingested"]);
    expect(warnings()).toHaveLength(1);
    expect(await openUploads()).toEqual([]);
  });
});
