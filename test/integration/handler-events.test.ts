import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bucket, type LambdaRig, sqsEvent, sqsRecord, startLambdaRig } from "../support/lambda-rig.js";
import { objectExists, randomFile, readObject } from "../support/objects.js";

let rig: LambdaRig;
beforeAll(async () => {
  rig = await startLambdaRig();
});
afterAll(() => rig.close());
afterEach(() => {
  rig.clearLogs();
  rig.recorder.fault = undefined;
});

describe("queue trigger: an SQS batch of transfer requests", () => {
  it("copies the good message and reports only the failing one", async () => {
    const data = randomFile(3000);
    await rig.serve("outbox/good.bin", data);
    const good = sqsRecord(JSON.stringify({ connection: "partner", path: "/outbox/good.bin" }), "m-good");
    const missing = sqsRecord(
      JSON.stringify({ connection: "partner", path: "/outbox/missing.bin" }),
      "m-missing",
    );

    const response = await rig.invoke(sqsEvent(good, missing));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "m-missing" }] });
    expect(await readObject(rig.s3, bucket, "landing/partner/outbox/good.bin")).toEqual(data);
    const failure = rig.logs().find((l) => l.message === "message failed; it returns to the queue");
    expect(failure).toMatchObject({ messageId: "m-missing", code: "FTP_REPLY" });
  });

  it("takes an EventBridge 'FTP File Available' event carried in the message", async () => {
    const data = randomFile(100);
    await rig.serve("outbox/archive.zip", data);
    const event = {
      version: "0",
      id: "e-1",
      "detail-type": "FTP File Available",
      source: "partner.producer",
      account: "000000000000",
      time: new Date().toISOString(),
      region: "us-east-1",
      resources: [],
      detail: { connection: "partner", path: "/outbox/archive.zip", key: "archives/archive.zip" },
    };

    const response = await rig.invoke(sqsEvent(sqsRecord(JSON.stringify(event))));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await readObject(rig.s3, bucket, "landing/partner/archives/archive.zip")).toEqual(data);
  });

  it("a message delivered twice does not copy an unchanged file again", async () => {
    await rig.serve("outbox/twice.bin", randomFile(6 * 1024 * 1024));
    const body = JSON.stringify({ connection: "partner", path: "/outbox/twice.bin" });
    await rig.invoke(sqsEvent(sqsRecord(body, "first")));
    rig.recorder.requests.length = 0;

    const response = await rig.invoke(sqsEvent(sqsRecord(body, "again")));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(rig.recorder.requests.map((r) => r.operation)).toEqual(["HeadObject"]);
    expect(rig.logs().find((l) => l.message === "transfer skipped: unchanged")).toMatchObject({
      status: "unchanged",
      key: "landing/partner/outbox/twice.bin",
    });
  });

  it.each([
    ["not JSON", "{oops", "the message body is not JSON"],
    ["a field missing", JSON.stringify({ connection: "partner" }), "path: Invalid input"],
    [
      "another event",
      JSON.stringify({ "detail-type": "Object Created", detail: {} }),
      "unexpected event detail-type",
    ],
    [
      "outside the fence",
      JSON.stringify({ connection: "partner", path: "/etc/shadow" }),
      "outside the roots",
    ],
  ])(
    "drops a message that can never succeed (%s) with an ERROR line, rather than retry it into the DLQ",
    async (_name, body, error) => {
      const response = await rig.invoke(sqsEvent(sqsRecord(body, "poison")));

      expect(response).toEqual({ batchItemFailures: [] });
      expect(rig.logs().find((l) => l.messageId === "poison")).toMatchObject({
        level: "ERROR",
        message: "message failed permanently; it is dropped, not retried",
        error: expect.stringContaining(error),
      });
    },
  );

  it("returns the messages it could not reach before the deadline to the queue", async () => {
    await rig.serve("outbox/a.bin", randomFile(10));
    const records = ["one", "two"].map((id) =>
      sqsRecord(JSON.stringify({ connection: "partner", path: "/outbox/a.bin", key: `deadline/${id}` }), id),
    );

    // Less time left than the deadline margin (30 s): the signal fires at once.
    const response = await rig.invoke(sqsEvent(...records), 1000);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "one" }, { itemIdentifier: "two" }] });
    expect(await objectExists(rig.s3, bucket, "landing/partner/deadline/one")).toBe(false);
  });
});

describe("schedule trigger: mirror a directory", () => {
  const tree: Record<string, number> = {
    "shared/reports/2026/jan.csv": 100,
    "shared/reports/2026/feb.csv": 200,
    "shared/reports/2026/notes.txt": 50,
    "shared/reports/tmp/partial.csv": 10,
    "shared/reports/top level ü.csv": 300,
  };

  beforeAll(async () => {
    for (const [path, size] of Object.entries(tree)) await rig.serve(path, randomFile(size));
  });

  it("copies the tree under the prefix, honouring include and exclude, and says what it did", async () => {
    const input = {
      mirror: {
        connection: "partner",
        remoteDir: "/shared/reports",
        prefix: "reports/",
        include: ["**/*.csv"],
        exclude: ["tmp/**"],
        recursive: true,
      },
    };

    const summary = await rig.invoke(input);

    expect(summary).toMatchObject({
      listed: 7,
      excluded: 2,
      copied: 3,
      unchanged: 0,
      failed: [],
      bytes: 600,
    });
    for (const key of ["reports/2026/jan.csv", "reports/2026/feb.csv", "reports/top level ü.csv"]) {
      expect(await objectExists(rig.s3, bucket, `landing/partner/${key}`)).toBe(true);
    }
    expect(await objectExists(rig.s3, bucket, "landing/partner/reports/2026/notes.txt")).toBe(false);
    expect(await objectExists(rig.s3, bucket, "landing/partner/reports/tmp/partial.csv")).toBe(false);
    expect(rig.logs().find((l) => l.message === "mirror completed")).toMatchObject({ copied: 3, failed: [] });
  });

  it("reruns without copying unchanged files, also when the input comes inside an EventBridge event", async () => {
    const mirror = {
      connection: "partner",
      remoteDir: "/shared/reports",
      prefix: "again/",
      recursive: false,
    };
    await rig.invoke({ mirror });
    rig.recorder.requests.length = 0;

    const summary = await rig.invoke({
      "detail-type": "Scheduled Event",
      source: "aws.events",
      detail: { mirror },
    });

    expect(summary).toMatchObject({ copied: 0, unchanged: 1, skipped: 2, failed: [] });
    // The manifest proves it unchanged: one list page and the manifest, no HEAD, no upload, no RETR.
    expect(rig.recorder.requests.map((r) => r.operation)).toEqual(["ListObjectsV2", "GetObject"]);
  });

  it("goes on after a file fails, then fails the invocation naming it", async () => {
    rig.recorder.fault = ({ operation }) => (operation === "PutObject" ? 503 : undefined);
    const mirror = { connection: "partner", remoteDir: "/shared/reports/2026", prefix: "failing/" };

    const invocation = rig.invoke({ mirror });

    await expect(invocation).rejects.toMatchObject({ code: "MIRROR_INCOMPLETE" });
    await expect(invocation).rejects.toThrow(
      /mirror of partner:\/shared\/reports\/2026: 3 of 3 files failed: .*jan\.csv \(S3\)/,
    );
    const summaryLine = rig.logs().find((l) => l.message === "mirror finished with failures");
    expect(summaryLine?.failed).toHaveLength(3);
  });

  it("refuses a directory outside the connection's roots", async () => {
    const invocation = rig.invoke({ mirror: { connection: "partner", remoteDir: "/etc", prefix: "x/" } });

    await expect(invocation).rejects.toMatchObject({ code: "NOT_ALLOWED" });
  });

  it("refuses input that is not a mirror job, naming the field", async () => {
    const invocation = rig.invoke({ mirror: { connection: "partner", remoteDir: "/shared/reports" } });

    await expect(invocation).rejects.toThrow(/invalid schedule input: mirror\.prefix: Invalid input/);
  });
});
