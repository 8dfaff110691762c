import {
  CreateMultipartUploadCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { SQSBatchResponse } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { signContinuation } from "../../functions/lambda/continuation-signature.js";
import { type FakeFtpServer, startFakeFtpServer } from "../support/fake-ftp-server.js";
import {
  bucket,
  callApi,
  continuationKey,
  fakeServerConnection,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { randomFile, readObject } from "../support/objects.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const MiB = 1024 * 1024;

// What a caller, a queue sender or an EventBridge producer says is checked where it enters: the
// caller's overwrite choice holds on the queue, only the function's own continuations are trusted,
// and keys stay in the connection's key space.
describe("trust boundaries of the Lambda's entry points", () => {
  let rig: LambdaRig;
  let fake: FakeFtpServer;
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    fake = await startFakeFtpServer({ user: "u", password: "partner-secret-pw", files });
    rig = await startLambdaRig({
      s3: "s3rver", // ListParts: the forged continuation tests look at an open upload's parts
      connections: { scripted: fakeServerConnection(fake.port) },
    });
  });
  afterAll(async () => {
    await rig.close();
    await fake.close();
  });
  afterEach(async () => {
    await rig.receive();
    rig.clearLogs();
    rig.recorder.requests.length = 0;
  });

  /** An object already at the key that is not the file the request names (someone else's report). */
  async function existingObject(key: string): Promise<Buffer> {
    const bytes = Buffer.from("an older, different object that must survive");
    await rig.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    return bytes;
  }

  function failureMetric(): unknown {
    const emf = rig.logs().find((l) => l._aws !== undefined && "TransferFailed" in l);
    return emf?.TransferFailed;
  }

  it("an async request with overwrite false leaves a different object alone: OBJECT_EXISTS, not retried", async () => {
    files["/outbox/async-keep.bin"] = randomFile(3000);
    const before = await existingObject("landing/scripted/outbox/async-keep.bin");

    const response = await callApi(rig, "POST", "/transfers", {
      connection: "scripted",
      path: "/outbox/async-keep.bin",
      overwrite: false,
      async: true,
    });
    expect(response.statusCode).toBe(202);
    const batch = (await rig.invoke(sqsEvent(...(await rig.receive())))) as SQSBatchResponse;

    expect(batch).toEqual({ batchItemFailures: [] });
    expect(await readObject(rig.s3, bucket, "landing/scripted/outbox/async-keep.bin")).toEqual(before);
    expect(rig.logs().filter((l) => l.message === "transfer failed")).toEqual([
      expect.objectContaining({ level: "ERROR", code: "OBJECT_EXISTS", transferId: response.body.id }),
    ]);
    expect(rig.logs().find((l) => l.message.startsWith("message failed permanently"))).toMatchObject({
      level: "ERROR",
      transferId: response.body.id,
      code: "OBJECT_EXISTS",
    });
    expect(failureMetric()).toBe(1);
  });

  it("an 'FTP File Available' event without overwrite leaves a different object alone too", async () => {
    files["/outbox/event-keep.bin"] = randomFile(2000);
    const before = await existingObject("landing/scripted/outbox/event-keep.bin");
    const event = {
      "detail-type": "FTP File Available",
      source: "partner.producer",
      detail: { connection: "scripted", path: "/outbox/event-keep.bin" },
    };

    const batch = await rig.invoke(sqsEvent(sqsRecord(JSON.stringify(event), "m-event")));

    expect(batch).toEqual({ batchItemFailures: [] });
    expect(await readObject(rig.s3, bucket, "landing/scripted/outbox/event-keep.bin")).toEqual(before);
    expect(rig.logs().find((l) => l.message === "transfer failed")).toMatchObject({ code: "OBJECT_EXISTS" });
    expect(failureMetric()).toBe(1);
  });

  it("a queued request with overwrite true replaces the object, as the sender asked", async () => {
    const data = randomFile(1500);
    files["/outbox/replace.bin"] = data;
    await existingObject("landing/scripted/outbox/replace.bin");
    const body = JSON.stringify({ connection: "scripted", path: "/outbox/replace.bin", overwrite: true });

    const batch = await rig.invoke(sqsEvent(sqsRecord(body)));

    expect(batch).toEqual({ batchItemFailures: [] });
    expect(await readObject(rig.s3, bucket, "landing/scripted/outbox/replace.bin")).toEqual(data);
  });

  it("answers 400 to an async API body carrying a continuation, and queues nothing", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "scripted",
      path: "/outbox/x.bin",
      async: true,
      continuation: { number: 1, resumeAt: null, ifExists: "replace" },
    });

    expect(response.statusCode).toBe(400);
    expect(response.body.error).toMatchObject({
      code: "INVALID_INPUT",
      message: '"continuation" is set by ftp2s3 on its own queue messages, not by callers',
    });
    expect(await rig.receive()).toEqual([]);
  });

  it("drops an 'FTP File Available' event carrying a continuation, before any S3 or FTP request", async () => {
    const event = {
      "detail-type": "FTP File Available",
      detail: {
        connection: "scripted",
        path: "/outbox/x.bin",
        continuation: { number: 1, resumeAt: null, ifExists: "replace" },
      },
    };
    const connectionsBefore = fake.connections;

    const batch = await rig.invoke(sqsEvent(sqsRecord(JSON.stringify(event), "m-cont")));

    expect(batch).toEqual({ batchItemFailures: [] });
    expect(rig.logs().find((l) => l.messageId === "m-cont")).toMatchObject({
      level: "ERROR",
      code: "INVALID_INPUT",
      error: 'an "FTP File Available" event may not carry a "continuation"',
    });
    expect(fake.connections).toBe(connectionsBefore);
    expect(rig.recorder.requests).toEqual([]);
  });

  describe("a continuation the function did not sign", () => {
    const keyA = "landing/scripted/outbox/file-a.bin";
    let uploadId: string;
    let resumeAt: Record<string, unknown>;

    beforeAll(async () => {
      // A suspended copy of file A: its upload holds one 5 MiB part.
      files["/outbox/file-a.bin"] = randomFile(12 * MiB);
      files["/outbox/file-b.bin"] = randomFile(12 * MiB);
      const created = await rig.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: keyA }));
      uploadId = created.UploadId as string;
      await rig.s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: keyA,
          UploadId: uploadId,
          PartNumber: 1,
          Body: (files["/outbox/file-a.bin"] as Buffer).subarray(0, 5 * MiB),
        }),
      );
      resumeAt = {
        uploadId,
        offset: 5 * MiB,
        partSize: 5 * MiB,
        size: 12 * MiB,
        modifiedAt: "2024-01-02T03:04:05.000Z",
        hashState: "AAAA",
      };
    });

    async function partsOfA(): Promise<number> {
      const listed = await rig.s3.send(
        new ListPartsCommand({ Bucket: bucket, Key: keyA, UploadId: uploadId }),
      );
      return listed.Parts?.length ?? 0;
    }

    async function expectRefusedUntouched(message: Record<string, unknown>, error: string) {
      const connectionsBefore = fake.connections;

      const batch = await rig.invoke(sqsEvent(sqsRecord(JSON.stringify(message), "m-forged")));

      expect(batch).toEqual({ batchItemFailures: [] }); // dropped: no retry can make it genuine
      expect(rig.logs().find((l) => l.messageId === "m-forged")).toMatchObject({
        level: "ERROR",
        message: "message failed permanently; it is dropped, not retried",
        code: "NOT_ALLOWED",
        error: `a continuation was refused: ${error}`,
        transferId: "t-a",
      });
      expect(fake.connections).toBe(connectionsBefore); // no FTP connection
      expect(rig.recorder.requests).toEqual([]); // no S3 request: nothing aborted, nothing written
      expect(await partsOfA()).toBe(1); // the victim's upload is still open with its part
    }

    it("is refused when unsigned: the upload it names stays open, nothing is fetched", async () => {
      await expectRefusedUntouched(
        {
          connection: "scripted",
          path: "/outbox/file-a.bin",
          transferId: "t-a",
          continuation: { number: 1, resumeAt, ifExists: "replace" },
        },
        "it is not signed",
      );
    });

    it("is refused with a forged signature", async () => {
      await expectRefusedUntouched(
        {
          connection: "scripted",
          path: "/outbox/file-a.bin",
          transferId: "t-a",
          continuation: { number: 1, resumeAt, ifExists: "replace", signature: "A".repeat(43) },
        },
        "its signature does not match",
      );
    });

    it("is refused when A's signed continuation is sent with B's path (a mixed object)", async () => {
      const genuine = {
        connection: "scripted",
        path: "/outbox/file-a.bin",
        transferId: "t-a",
        continuation: { number: 1, resumeAt, ifExists: "replace", noRestart: false },
      } as const;
      const signature = signContinuation(genuine as never, continuationKey);

      await expectRefusedUntouched(
        {
          ...genuine,
          path: "/outbox/file-b.bin",
          key: "outbox/file-a.bin",
          continuation: { ...genuine.continuation, signature },
        },
        "its signature does not match",
      );
    });
  });

  it.each([
    ["../partner/outbox/x.bin", "leaves connection"],
    ["/abs.bin", "leaves connection"],
    ["a\\..\\..\\partner\\x.bin", "leaves connection"],
    ["a/./b.bin", "leaves connection"],
  ])(
    "answers 403 to a key that escapes the connection's key space (%s), before any FTP command",
    async (key, message) => {
      files["/outbox/fenced.bin"] = randomFile(10);
      const connectionsBefore = fake.connections;

      for (const async of [false, true]) {
        const response = await callApi(rig, "POST", "/transfers", {
          connection: "scripted",
          path: "/outbox/fenced.bin",
          key,
          async,
        });

        expect(response.statusCode).toBe(403);
        expect(response.body.error).toMatchObject({
          code: "NOT_ALLOWED",
          message: expect.stringContaining(message),
        });
      }
      expect(fake.connections).toBe(connectionsBefore);
      expect(await rig.receive()).toEqual([]);
    },
  );

  it("drops a queued request whose key escapes the key space, before any FTP command", async () => {
    const connectionsBefore = fake.connections;
    const body = JSON.stringify({ connection: "scripted", path: "/outbox/fenced.bin", key: "../partner/x" });

    const batch = await rig.invoke(sqsEvent(sqsRecord(body, "m-escape")));

    expect(batch).toEqual({ batchItemFailures: [] });
    expect(rig.logs().find((l) => l.messageId === "m-escape")).toMatchObject({ code: "NOT_ALLOWED" });
    expect(fake.connections).toBe(connectionsBefore);
  });

  it("writes a caller's key below the connection's key space", async () => {
    const data = randomFile(10);
    files["/outbox/spaced.bin"] = data;

    const response = await callApi(rig, "POST", "/transfers", {
      connection: "scripted",
      path: "/outbox/spaced.bin",
      key: "in/spaced.bin",
    });

    expect(response.body).toMatchObject({ key: "landing/scripted/in/spaced.bin" });
    expect(await readObject(rig.s3, bucket, "landing/scripted/in/spaced.bin")).toEqual(data);
  });
});
