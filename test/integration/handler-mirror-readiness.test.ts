import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucket, type LambdaRig, startLambdaRig } from "../support/lambda-rig.js";
import { objectExists, randomFile } from "../support/objects.js";

// A scheduled mirror job carries the readiness fields to the run: the function copies only what is ready.
describe("scheduled mirror: files still being written wait", () => {
  let rig: LambdaRig;

  beforeAll(async () => {
    rig = await startLambdaRig();
    await rig.serve("outbox/ready/a.csv", randomFile(10));
    await rig.serve("outbox/ready/a.csv.done", Buffer.alloc(0));
    await rig.serve("outbox/ready/b.csv", randomFile(10));
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("copies the file whose marker is listed, not the marker, and logs the one that waits with why", async () => {
    const summary = await rig.invoke({
      mirror: {
        connection: "partner",
        remoteDir: "/outbox/ready",
        prefix: "ready/",
        doneMarker: "{name}.done",
      },
    });

    const waiting = [{ path: "/outbox/ready/b.csv", reason: "no done marker: b.csv.done is not listed" }];
    expect(summary).toMatchObject({ copied: 1, failed: [], waiting });
    expect(await objectExists(rig.s3, bucket, "landing/partner/ready/a.csv")).toBe(true);
    expect(await objectExists(rig.s3, bucket, "landing/partner/ready/a.csv.done")).toBe(false);
    expect(await objectExists(rig.s3, bucket, "landing/partner/ready/b.csv")).toBe(false);
    expect(rig.logs().find((l) => l.message === "mirror completed")).toMatchObject({ waiting });
    expect(rig.logs().find((l) => "_aws" in l)).toMatchObject({
      trigger: "schedule",
      MirrorFilesCopied: 1,
      MirrorFilesWaiting: 1,
      MirrorFilesChanged: 0,
    });
  });
});
