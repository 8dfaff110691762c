import { utimes } from "node:fs/promises";
import { join } from "node:path";
import type { SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucket, type LambdaRig, sqsEvent, sqsRecord, startLambdaRig } from "../support/lambda-rig.js";
import { randomFile, readObject, sha256 } from "../support/objects.js";

// Fan-out with several invocations at once, as Lambda runs them: the queue drained by concurrent
// consumers, one message delivered twice at the same moment, two schedule runs overlapping. The rig's
// S3 plays S3's conditional writes (If-None-Match: *), which fauxqs alone ignores.
describe("fan-out under concurrency", () => {
  let rig: LambdaRig;
  const names = ["a.csv", "b.csv", "c.csv", "d.csv", "e.csv", "f.csv"];
  const contents = new Map<string, Buffer>();

  async function serveAll(dir: string, at: Date) {
    for (const name of names) {
      const data = randomFile(1000);
      contents.set(`${dir}/${name}`, data);
      await rig.serve(`outbox/${dir}/${name}`, data);
      await utimes(join(rig.ftp.root, `outbox/${dir}/${name}`), at, at);
    }
  }

  async function receiveAll(): Promise<SQSRecord[]> {
    const all: SQSRecord[] = [];
    for (let batch = await rig.receive(); batch.length > 0; batch = await rig.receive()) all.push(...batch);
    return all;
  }

  /** The messages split over `consumers` invocations running at once, as the queue's trigger does. */
  async function drain(messages: SQSRecord[], consumers: number) {
    const batches = Array.from({ length: consumers }, (_, n) =>
      messages.filter((_m, i) => i % consumers === n),
    );
    return Promise.all(batches.map((batch) => rig.invoke(sqsEvent(...batch))));
  }

  const retrievedNow = () => new Map(rig.ftp.retrievedPaths);
  function retrievedSince(before: Map<string, number>): Record<string, number> {
    const delta: Record<string, number> = {};
    for (const [path, n] of rig.ftp.retrievedPaths) {
      const d = n - (before.get(path) ?? 0);
      if (d > 0) delta[path] = d;
    }
    return delta;
  }

  async function expectMirrored(dir: string, prefix: string) {
    for (const name of names) {
      const object = await readObject(rig.s3, bucket, `landing/partner/${prefix}${name}`);
      expect(sha256(object)).toBe(sha256(contents.get(`${dir}/${name}`) as Buffer));
    }
  }

  beforeAll(async () => {
    rig = await startLambdaRig({
      mirror: { inlineFiles: 2, concurrency: 2 },
      conditionalWrites: true,
    });
  });
  afterAll(() => rig.close());

  it("holds the inline budget when every file was rewritten at the same size; three consumers read each queued file once", async () => {
    // Arrange: a first mirror, drained.
    const mirror = { connection: "partner", remoteDir: "/outbox/budget", prefix: "budget/" };
    await serveAll("budget", new Date("2026-01-01T00:00:00Z"));
    await rig.invoke({ mirror });
    await drain(await receiveAll(), 3);
    await expectMirrored("budget", "budget/");
    // Every file rewritten, each at its old size, at a later time.
    await serveAll("budget", new Date("2026-03-01T00:00:00Z"));
    const before = retrievedNow();

    // Act
    const summary = await rig.invoke({ mirror });
    const inline = retrievedSince(before);
    const messages = await receiveAll();
    const afterRun = retrievedNow();
    const results = await drain(messages, 3);

    // Assert: the schedule copied its budget (2 files) and queued the other 4, each read once.
    expect(summary).toMatchObject({ copied: 2, enqueued: 4, failed: [] });
    expect(Object.values(inline)).toEqual([1, 1]);
    expect(messages).toHaveLength(4);
    expect(results).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    const queued = retrievedSince(afterRun);
    expect(Object.keys(queued)).toHaveLength(4);
    expect(Object.values(queued).every((n) => n === 1)).toBe(true);
    expect(Object.keys(queued).some((path) => path in inline)).toBe(false);
    await expectMirrored("budget", "budget/");
  });

  it("two deliveries of one message at the same moment: both read the file, one object is written, the other counts it unchanged", async () => {
    // Arrange: a mirror's queued copy and an event's copy, each delivered twice.
    await rig.serve("outbox/twice/m.csv", randomFile(2000));
    await rig.serve("outbox/twice/e.csv", randomFile(2000));
    const mirrored = JSON.stringify({
      connection: "partner",
      path: "/outbox/twice/m.csv",
      key: "twice/m.csv",
      mirrored: true,
    });
    const event = JSON.stringify({ connection: "partner", path: "/outbox/twice/e.csv", key: "twice/e.csv" });
    // Both HEADs answer before either copy writes: the deliveries overlap completely.
    let release: () => void = () => {};
    const bothChecked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let heads = 0;
    rig.recorder.fault = ({ operation }) => {
      if (operation !== "HeadObject" || heads >= 4) return undefined;
      heads += 1;
      if (heads === 4) release();
      return { until: bothChecked };
    };
    rig.recorder.requests.length = 0;
    rig.clearLogs();
    const before = retrievedNow();

    // Act: four invocations at once, each with one delivery.
    const results = await Promise.all(
      [mirrored, mirrored, event, event].map((body) => rig.invoke(sqsEvent(sqsRecord(body)))),
    );
    rig.recorder.fault = undefined;

    // Assert: no failure, the reads doubled (as the README says), one write each, the other refused.
    expect(results).toEqual(Array(4).fill({ batchItemFailures: [] }));
    expect(retrievedSince(before)).toEqual({ "/outbox/twice/m.csv": 2, "/outbox/twice/e.csv": 2 });
    for (const key of ["twice/m.csv", "twice/e.csv"]) {
      const writes = rig.recorder.requests.filter(
        (r) => r.operation === "PutObject" && r.path === `/${bucket}/landing/partner/${key}`,
      );
      expect(writes.map((w) => w.status).sort()).toEqual([200, 412]);
    }
    const messages = rig.logs().map((l) => l.message);
    expect(messages.filter((m) => m === "transfer completed")).toHaveLength(2);
    expect(messages.filter((m) => m === "transfer skipped: unchanged")).toHaveLength(2);
    expect(messages.filter((m) => m === "transfer failed")).toEqual([]);
    expect(rig.recorder.openUploads()).toEqual([]);
  });

  it("an overlapping schedule run writes no key it listed as absent once the queue stored it", async () => {
    // Arrange: run 1 copies its budget and queues the rest.
    const mirror = { connection: "partner", remoteDir: "/outbox/overlap", prefix: "overlap/" };
    await serveAll("overlap", new Date("2026-01-01T00:00:00Z"));
    expect(await rig.invoke({ mirror })).toMatchObject({ copied: 2, enqueued: 4 });
    const firstMessages = await receiveAll();
    // Run 2 lists the bucket (2 objects), then its writes of 2 absent keys are held back...
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let heldWrites = 0;
    rig.recorder.fault = ({ operation }) => {
      if (operation !== "PutObject" || heldWrites >= 2) return undefined;
      heldWrites += 1;
      return { until: held };
    };
    rig.recorder.requests.length = 0;
    const run2 = rig.invoke({ mirror });
    while (heldWrites < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const run2Writes = rig.recorder.requests.filter((r) => r.operation === "PutObject");

    // Act: ...while the queue's consumers store every file run 1 queued.
    const drained = await drain(firstMessages, 2);
    release();
    const summary = await run2;
    rig.recorder.fault = undefined;

    // Assert: run 2's two writes were refused (412), it counted those files unchanged, and queued
    // the two beyond its budget, which find their objects unchanged.
    expect(drained).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(run2Writes.map((w) => w.status)).toEqual([412, 412]);
    expect(summary).toMatchObject({ copied: 0, unchanged: 4, enqueued: 2, failed: [] });
    await expectMirrored("overlap", "overlap/");
    const before = retrievedNow();
    expect(await drain(await receiveAll(), 2)).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    expect(retrievedSince(before)).toEqual({});
  });
});
