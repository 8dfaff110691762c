import type { SQSBatchResponse } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import {
  bucket,
  fakeServerConnection,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { objectExists, randomFile } from "../support/objects.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const MiB = 1024 * 1024;

describe("a queued copy that makes no progress is not continued invocation after invocation", () => {
  let fake: FakeFtpServer;
  let rig: LambdaRig;

  beforeAll(async () => {
    // About 320 KB/s: above any minimum rate set here (0), but a 2.3 s leg suspends after 0.8 s, long
    // before a whole 5 MiB part: no leg ever keeps anything.
    fake = await startFakeFtpServer({
      files: { "/outbox/crawl.bin": randomFile(12 * MiB) },
      retr: retrScripts.slow(64 * 1024, 200),
    });
    rig = await startLambdaRig({
      s3: "s3rver",
      connections: { scripted: { ...fakeServerConnection(fake.port), minBytesPerSecond: 0 } },
      transfer: { deadlineMarginSeconds: 1, suspendLeadSeconds: 0.5, maxContinuations: 20 },
    });
  });
  afterAll(async () => {
    await rig.close();
    await fake.close();
  });

  it("the first continuation without progress fails the copy: RESUME_LIMIT, no third leg queued, no upload left open", async () => {
    const first = sqsRecord(JSON.stringify({ connection: "scripted", path: "/outbox/crawl.bin" }));
    const firstLeg = (await rig.invoke(sqsEvent(first), 2300)) as SQSBatchResponse;
    expect(firstLeg.batchItemFailures).toEqual([]);
    const [continuation, ...others] = await rig.receive();
    expect(others).toEqual([]);
    expect(JSON.parse(continuation?.body ?? "{}").continuation).toMatchObject({ number: 1, resumeAt: null });

    const secondLeg = (await rig.invoke(sqsEvent(continuation as never), 2300)) as SQSBatchResponse;

    expect(secondLeg.batchItemFailures).toHaveLength(1);
    expect(await rig.receive()).toEqual([]);
    const failed = rig.logs().filter((l) => l.message === "transfer failed");
    expect(failed).toEqual([
      expect.objectContaining({
        code: "RESUME_LIMIT",
        continuation: 1,
        error: expect.stringMatching(
          /continuation 1 made no progress .*; the copy was given up and its upload aborted$/,
        ),
      }),
    ]);
    expect(await objectExists(rig.s3, bucket, "landing/scripted/outbox/crawl.bin")).toBe(false);
    expect(rig.recorder.openUploads()).toEqual([]);
  });
});
