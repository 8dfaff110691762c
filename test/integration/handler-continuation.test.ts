import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import {
  bucket,
  callApi,
  fakeServerConnection,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";
import { crc } from "../support/s3-checksum-check.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const MiB = 1024 * 1024;
// About 12 MB/s from the fake server; 5 MiB parts. With 2.3 s left and a 1 s margin, a leg suspends
// after 0.8 s (half its working time, the floor): one or two parts a leg.
const SHORT_LEG_MS = 2300;
const LONG_LEG_MS = 60_000;

interface Leg {
  response: SQSBatchResponse;
  next: SQSRecord | undefined;
}

describe("copies longer than one invocation go on in the next (queue trigger)", () => {
  let fake: FakeFtpServer;
  let rig: LambdaRig;
  const files: Record<string, Buffer> = {};
  let refuseRest = false;
  let failWith426 = false;
  let refuseLogin = false;

  beforeAll(async () => {
    fake = await startFakeFtpServer({
      files,
      handlers: {
        REST: (ctx) => (refuseRest ? ctx.reply("502 REST not implemented") : ctx.fallback()),
        PASS: (ctx) => (refuseLogin ? ctx.reply("530 Login incorrect.") : ctx.fallback()),
        RETR: async (ctx) => {
          if (failWith426)
            return retrScripts.fullDataThen("426 Connection closed; transfer aborted.")(ctx as never);
          return retrScripts.slow(256 * 1024, 20)(ctx as never);
        },
      },
    });
    rig = await startLambdaRig({
      s3: "s3rver", // ListParts
      connections: {
        scripted: fakeServerConnection(fake.port),
      },
      transfer: {
        deadlineMarginSeconds: 1,
        suspendLeadSeconds: 0.5,
        maxContinuations: 12,
        tagWithSha256: true,
      },
    });
  });
  afterAll(async () => {
    await rig.close();
    await fake.close();
  });
  afterEach(async () => {
    refuseRest = false;
    failWith426 = false;
    refuseLogin = false;
    await rig.receive(); // nothing left over for the next test
    rig.clearLogs();
  });

  async function runLeg(record: SQSRecord, remainingMs: number): Promise<Leg> {
    const response = (await rig.invoke(sqsEvent(record), remainingMs)) as SQSBatchResponse;
    const queued = await rig.receive();
    expect(queued.length).toBeLessThanOrEqual(1);
    return { response, next: queued[0] };
  }

  /** Runs legs until one queues no continuation; returns the continuation of each leg after the first. */
  async function runToEnd(first: SQSRecord, remainingMs = SHORT_LEG_MS) {
    const continuations: Record<string, unknown>[] = [];
    let record: SQSRecord | undefined = first;
    for (let leg = 1; record !== undefined && leg <= 15; leg++) {
      const { response, next } = await runLeg(record, remainingMs);
      expect(response.batchItemFailures).toEqual([]);
      if (next !== undefined) continuations.push(JSON.parse(next.body).continuation);
      record = next;
    }
    expect(record).toBeUndefined();
    return continuations;
  }

  const keyOf = (name: string) => `landing/scripted/outbox/${name}`;
  const requestFor = (name: string) =>
    sqsRecord(JSON.stringify({ connection: "scripted", path: `/outbox/${name}` }));
  /** POST /transfers of that file, with too little time to finish it in one invocation. */
  const shortApiCall = (name: string) =>
    callApi(rig, "POST", "/transfers", { connection: "scripted", path: `/outbox/${name}` }, SHORT_LEG_MS);

  it("copies a file in three or more legs, byte-exact, through one multipart upload", async () => {
    const data = randomFile(21 * MiB + 12345);
    files["/outbox/legs.bin"] = data;

    const continuations = await runToEnd(requestFor("legs.bin"));

    expect(continuations.length).toBeGreaterThanOrEqual(2);
    const object = await readObject(rig.s3, bucket, keyOf("legs.bin"));
    expect(sha256(object)).toBe(sha256(data));
    const creates = rig.recorder.requests.filter((r) => r.operation === "CreateMultipartUpload");
    expect(creates).toHaveLength(1); // every leg went on with the same upload
    expect(rig.recorder.openUploads()).toEqual([]);
    // Each continuation names its leg, the size and the offset; progress counts the whole file.
    const offsets = continuations.map((c) => (c.resumeAt as { offset: number }).offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    const messages = rig.logs().map((l) => l.message);
    expect(messages).toContain(`continuation 1 of a copy of ${data.length} bytes, from offset ${offsets[0]}`);
    expect(messages).toContain(`continuation 2 of a copy of ${data.length} bytes, from offset ${offsets[1]}`);
    const completed = rig.logs().find((l) => l.message === "transfer completed");
    // The CRC64NVME S3 checked crossed the legs in the signed continuation, as the SHA-256 state did.
    expect(completed).toMatchObject({
      bytes: data.length,
      sha256: sha256(data),
      crc64nvme: await crc(data),
      tagged: true,
    });
    const lastProgress = rig
      .logs()
      .filter((l) => l.message === "transfer progress")
      .at(-1);
    expect(lastProgress).toMatchObject({ bytes: data.length, totalBytes: data.length, percent: 100 });
  });

  it("a continuation delivered twice stores one object; the second delivery finds the transfer ended in the ledger", async () => {
    const data = randomFile(16 * MiB);
    files["/outbox/twice.bin"] = data;
    // From the API, so the copy refuses to overwrite: the duplicate must not fail on its own object.
    const response = await shortApiCall("twice.bin");
    expect(response.statusCode).toBe(202);
    const [continuation] = await rig.receive();
    const finished = await runLeg(continuation as SQSRecord, LONG_LEG_MS);
    expect(finished.next).toBeUndefined();
    rig.clearLogs();
    rig.recorder.requests.length = 0;
    const connections = fake.connections;

    const duplicate = await runLeg(continuation as SQSRecord, LONG_LEG_MS);

    expect(duplicate.response.batchItemFailures).toEqual([]);
    expect(duplicate.next).toBeUndefined();
    // The ledger says leg 1 ran to the end: neither FTP nor S3 hears of the duplicate.
    const messages = rig.logs().map((l) => String(l.message));
    expect(messages).toContain(
      "leg 1 skipped: the transfer is committed at leg 1 in the ledger; nothing was read or written",
    );
    expect(fake.connections).toBe(connections);
    expect(rig.recorder.requests).toEqual([]);
    expect(sha256(await readObject(rig.s3, bucket, keyOf("twice.bin")))).toBe(sha256(data));
    expect(rig.recorder.openUploads()).toEqual([]);
  });

  it("starts over when the source changed between legs, and stores the new file", async () => {
    files["/outbox/changing.bin"] = randomFile(21 * MiB);
    const first = await runLeg(requestFor("changing.bin"), SHORT_LEG_MS);
    expect(first.next).toBeDefined();
    const oldUpload = JSON.parse(first.next?.body ?? "{}").continuation.resumeAt.uploadId as string;
    const replaced = randomFile(8 * MiB);
    files["/outbox/changing.bin"] = replaced;

    await runToEnd(first.next as SQSRecord, LONG_LEG_MS);

    const object = await readObject(rig.s3, bucket, keyOf("changing.bin"));
    expect(sha256(object)).toBe(sha256(replaced));
    expect(
      rig.logs().find((l) => String(l.message).startsWith("the source changed since the copy started")),
    ).toBeDefined();
    const abort = rig.recorder.requests.find(
      (r) => r.operation === "AbortMultipartUpload" && r.uploadId === oldUpload,
    );
    expect(abort?.status).toBe(204);
    expect(rig.recorder.openUploads()).toEqual([]);
  });

  it("restarts from byte 0 in a fresh invocation when the server refuses REST, and says so", async () => {
    const data = randomFile(16 * MiB);
    files["/outbox/norest.bin"] = data;
    const first = await runLeg(requestFor("norest.bin"), SHORT_LEG_MS);
    expect(first.next).toBeDefined();
    refuseRest = true;

    const second = await runLeg(first.next as SQSRecord, SHORT_LEG_MS);
    expect(second.response.batchItemFailures).toEqual([]);
    const restart = JSON.parse(second.next?.body ?? "{}").continuation;
    expect(restart).toMatchObject({ number: 2, resumeAt: null, noRestart: true });
    expect(rig.recorder.openUploads()).toEqual([]); // the first leg's parts are gone
    const warning = rig.logs().find((l) => String(l.message).includes("(REST): 502"));
    expect(warning?.message).toMatch(
      /refused to start at byte \d+ \(REST\): 502 REST not implemented; the copy starts over from byte 0 in the next leg$/,
    );

    // The restart never suspends (it could not go on): it gets a whole invocation.
    const third = await runLeg(second.next as SQSRecord, LONG_LEG_MS);
    expect(third.response.batchItemFailures).toEqual([]);
    expect(third.next).toBeUndefined();
    expect(rig.logs().map((l) => l.message)).toContain(
      "continuation 2 of a copy, from byte 0 (the previous leg kept nothing)",
    );
    expect(sha256(await readObject(rig.s3, bucket, keyOf("norest.bin")))).toBe(sha256(data));
  });

  it("a 426 in the last leg aborts everything: no object, no open upload, the message fails", async () => {
    files["/outbox/late-426.bin"] = randomFile(16 * MiB);
    const first = await runLeg(requestFor("late-426.bin"), SHORT_LEG_MS);
    expect(first.next).toBeDefined();
    failWith426 = true;

    const last = await runLeg(first.next as SQSRecord, LONG_LEG_MS);

    expect(last.response.batchItemFailures).toHaveLength(1);
    expect(last.next).toBeUndefined();
    expect(await objectExists(rig.s3, bucket, keyOf("late-426.bin"))).toBe(false);
    expect(rig.recorder.openUploads()).toEqual([]);
    expect(rig.logs().find((l) => l.message === "transfer failed")).toMatchObject({
      code: "FTP_REPLY",
      ftpCode: 426,
    });
  });

  it("a leg that cannot even log in fails like any other: the upload is aborted, the message fails", async () => {
    files["/outbox/no-login.bin"] = randomFile(16 * MiB);
    const first = await runLeg(requestFor("no-login.bin"), SHORT_LEG_MS);
    expect(first.next).toBeDefined();
    refuseLogin = true;

    const second = await runLeg(first.next as SQSRecord, LONG_LEG_MS);

    expect(second.response.batchItemFailures).toHaveLength(1);
    expect(rig.logs().find((l) => l.message === "transfer failed")).toMatchObject({ code: "FTP_LOGIN" });
    expect(rig.recorder.openUploads()).toEqual([]);
    expect(await objectExists(rig.s3, bucket, keyOf("no-login.bin"))).toBe(false);
  });

  it("an API copy that runs out of time answers 202 continuing, and the queue finishes it", async () => {
    const data = randomFile(16 * MiB);
    files["/outbox/api-big.bin"] = data;

    const response = await shortApiCall("api-big.bin");

    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({
      status: "continuing",
      key: keyOf("api-big.bin"),
      size: data.length,
    });
    const next = await rig.receive();
    expect(next).toHaveLength(1);
    await runToEnd(next[0] as SQSRecord);
    expect(sha256(await readObject(rig.s3, bucket, keyOf("api-big.bin")))).toBe(sha256(data));
  });
});

describe("a copy that needs more continuations than allowed", () => {
  it("is stopped at the limit with its upload aborted", async () => {
    const files = { "/outbox/endless.bin": randomFile(21 * MiB) };
    const fake = await startFakeFtpServer({ files, retr: retrScripts.slow(256 * 1024, 20) });
    const rig = await startLambdaRig({
      s3: "s3rver",
      connections: {
        scripted: fakeServerConnection(fake.port),
      },
      transfer: { deadlineMarginSeconds: 1, suspendLeadSeconds: 0.5, maxContinuations: 1 },
    });
    try {
      const first = (await rig.invoke(
        sqsEvent(sqsRecord(JSON.stringify({ connection: "scripted", path: "/outbox/endless.bin" }))),
        SHORT_LEG_MS,
      )) as SQSBatchResponse;
      expect(first.batchItemFailures).toEqual([]);
      const [continuation] = await rig.receive();
      const second = (await rig.invoke(
        sqsEvent(continuation as SQSRecord),
        SHORT_LEG_MS,
      )) as SQSBatchResponse;

      expect(second.batchItemFailures).toHaveLength(1);
      expect(await rig.receive()).toEqual([]);
      expect(rig.recorder.openUploads()).toEqual([]);
      const failed = rig.logs().find((l) => l.message === "transfer failed");
      expect(failed).toMatchObject({ code: "RESUME_LIMIT" });
      expect(String(failed?.error)).toMatch(
        /was not copied after 1 continuation \(\d+ of 22020096 bytes uploaded\); the upload was aborted$/,
      );
    } finally {
      await rig.close();
      await fake.close();
    }
  });
});
