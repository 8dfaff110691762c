import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucket, type LambdaRig, sqsEvent, startLambdaRig } from "../support/lambda-rig.js";
import { objectExists, randomFile } from "../support/objects.js";

// A mirror whose work exceeds one invocation's budget hands the rest to the ingestion queue, where
// the SQS trigger copies it (and Lambda spreads it over many invocations).
describe("scheduled mirror fan-out over SQS", () => {
  let rig: LambdaRig;
  const files = ["one.csv", "two.csv", "three.csv", "four.csv", "five.csv"];
  const mirror = { connection: "partner", remoteDir: "/outbox/batch", prefix: "batch/" };

  beforeAll(async () => {
    rig = await startLambdaRig({ mirror: { inlineFiles: 2, concurrency: 2 } });
    for (const name of files) await rig.serve(`outbox/batch/${name}`, randomFile(100));
  });
  afterAll(() => rig.close());

  it("copies the budget itself and queues the rest, which the queue trigger then copies", async () => {
    const summary = await rig.invoke({ mirror });

    expect(summary).toMatchObject({ copied: 2, enqueued: 3, failed: [] });
    const messages = await rig.receive();
    expect(messages).toHaveLength(3);
    const requests = messages.map(
      (m) => JSON.parse(m.body) as { connection: string; path: string; key: string },
    );
    for (const request of requests) {
      expect(request).toMatchObject({
        connection: "partner",
        key: expect.stringMatching(/^batch\/\w+\.csv$/),
      });
      expect(request.path).toBe(`/outbox/${request.key}`);
    }

    const batch = await rig.invoke(sqsEvent(...messages));

    expect(batch).toEqual({ batchItemFailures: [] });
    for (const name of files)
      expect(await objectExists(rig.s3, bucket, `landing/partner/batch/${name}`)).toBe(true);
  });

  it("next runs copy nothing: the queued files are checked once against their objects, then known", async () => {
    rig.recorder.requests.length = 0;
    const second = await rig.invoke({ mirror });
    const heads = rig.recorder.requests.filter((r) => r.operation === "HeadObject").length;
    rig.recorder.requests.length = 0;
    const third = await rig.invoke({ mirror });

    expect(second).toMatchObject({ copied: 0, unchanged: 5, enqueued: 0 });
    expect(heads).toBe(3); // the three files the manifest did not know yet
    expect(third).toMatchObject({ copied: 0, unchanged: 5, enqueued: 0 });
    expect(rig.recorder.requests.map((r) => r.operation)).toEqual(["ListObjectsV2", "GetObject"]);
    expect(await rig.receive()).toEqual([]);
  });

  it("hands the files not started yet to the queue when the invocation's time runs short", async () => {
    // Less time left than three deadline margins (90 s): nothing is started here.
    const summary = await rig.invoke({ mirror: { ...mirror, prefix: "late/" } }, 60_000);

    expect(summary).toMatchObject({ copied: 0, enqueued: 5, failed: [] });
    expect(await rig.receive()).toHaveLength(5);
  });
});
