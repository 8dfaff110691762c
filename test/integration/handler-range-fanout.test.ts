import { utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import type { SQSRecord } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import { inProcessSessionBudgets, type SessionBudgets } from "../../functions/app/session-budget.js";
import {
  bucket,
  callApi,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

// One big file over many invocations, through the real handler: leg 0 plans and queues the ranges,
// four range legs run at once, the last one done commits. ftp-srv, s3rver (it lists parts), SQS on
// fauxqs, the ledger on dynalite.
const MiB = 1024 * 1024;
const size = 4 * 5 * MiB + 1234; // five parts (the last of 1234 bytes): ranges of 2, 1, 1 and 1 parts
const key = "landing/partner/outbox/big.bin";

describe("a big file fanned out over range legs", () => {
  let rig: LambdaRig;
  afterEach(async () => {
    await rig?.close();
  });

  async function fannedOut(
    rangeFanout: Record<string, unknown>,
    transferId: string,
    rigOptions: Parameters<typeof startLambdaRig>[0] = {},
  ) {
    rig = await startLambdaRig({ s3: "s3rver", partner: { rangeFanout }, ...rigOptions });
    const data = randomFile(size);
    await rig.serve("outbox/big.bin", data);
    const leg0 = await rig.invoke(
      sqsEvent(sqsRecord(JSON.stringify({ connection: "partner", path: "/outbox/big.bin" }), transferId)),
    );
    if (rigOptions.queueBatch === undefined) expect(leg0).toEqual({ batchItemFailures: [] });
    const ranges = await rig.receive();
    return { data, ranges };
  }
  const run = (message: SQSRecord) => rig.invoke(sqsEvent(message));
  /** Another file fanned out on the same rig. */
  async function fannedOutAgain(transferId: string) {
    await rig.serve("outbox/other.bin", randomFile(size));
    const body = JSON.stringify({ connection: "partner", path: "/outbox/other.bin", overwrite: true });
    expect(await run(sqsRecord(body, transferId))).toEqual({ batchItemFailures: [] });
    return rig.receive();
  }
  // Counted where the function sends them: ftp-srv notices a read cut on purpose only later.
  const retrs = () => rig.rangedReads;
  const completes = () => rig.recorder.requests.filter((r) => r.operation === "CompleteMultipartUpload");

  it("copies the file in 4 ranges by 4 concurrent invocations, byte-exact, with one Complete", async () => {
    // Arrange
    const { data, ranges } = await fannedOut({ minMiB: 5, ranges: 4, maxSessions: 4 }, "t-four");

    // Act
    const answers = await Promise.all(ranges.map(run));

    // Assert
    expect(ranges.map((m) => JSON.parse(m.body))).toEqual(
      [0, 1, 2, 3].map((range) => ({ transferId: "t-four", range, signature: expect.any(String) })),
    );
    expect(answers).toEqual(ranges.map(() => ({ batchItemFailures: [] })));
    expect(sha256(await readObject(rig.s3, bucket, key))).toBe(sha256(data));
    expect(completes()).toHaveLength(1);
    expect(retrs()).toBe(4);
    expect(rig.peakSessions).toBe(4);
    expect(rig.events.map((e) => e.detailType)).toEqual(["Object Ingested"]);
    const status = await callApi(rig, "GET", "/transfers/t-four");
    expect(status.body).toMatchObject({
      state: "committed",
      bytes: size,
      totalBytes: size,
      ranges: [
        { range: 0, state: "done", start: 0, end: 10 * MiB, bytes: 10 * MiB },
        { range: 1, state: "done", bytes: 5 * MiB },
        { range: 2, state: "done", bytes: 5 * MiB },
        { range: 3, state: "done", start: 20 * MiB, end: size, bytes: 1234 },
      ],
    });
    const progress = rig
      .logs()
      .filter((l) => /^range 0 of 4: received \d+ of 10485760 bytes \([\d.]+%\)$/.test(l.message));
    expect(progress.length).toBeGreaterThan(0);
  });

  it("a range message delivered again, or forged, reads nothing and stores nothing", async () => {
    // Arrange: the file copied, then the same messages again and one with its signature changed.
    const { data, ranges } = await fannedOut({ minMiB: 5, ranges: 4, maxSessions: 4 }, "t-again");
    await Promise.all(ranges.map(run));
    const first = ranges[0] as SQSRecord;
    const forged = { ...first, body: JSON.stringify({ ...JSON.parse(first.body), range: 9 }) };
    const resigned = {
      ...first,
      body: JSON.stringify({ ...JSON.parse(first.body), signature: "A".repeat(43) }),
    };

    // Act
    const answers = [];
    for (const message of [...ranges, forged, resigned]) answers.push(await run(message));

    // Assert
    // Nothing is retried: duplicates are skipped as done, forged ones dropped as permanent failures.
    expect(answers).toEqual(answers.map(() => ({ batchItemFailures: [] })));
    const messages = rig.logs().map((l) => `${l.level} ${l.message}`);
    for (const range of [0, 1, 2, 3]) {
      expect(messages).toContain(
        `INFO range ${range} skipped: the transfer is committed; nothing was read or written`,
      );
    }
    expect(
      messages.filter((m) => m === "ERROR message failed permanently; it is dropped, not retried"),
    ).toHaveLength(2);
    expect(retrs()).toBe(4);
    expect(completes()).toHaveLength(1);
    expect(sha256(await readObject(rig.s3, bucket, key))).toBe(sha256(data));
    expect(rig.events.map((e) => e.detailType)).toEqual(["Object Ingested"]);
  });

  it("retries a range that failed mid-way alone: the other ranges are not read again", async () => {
    // Arrange: S3 refuses part 3 (range 1's) once.
    const { data, ranges } = await fannedOut({ minMiB: 5, ranges: 4, maxSessions: 4 }, "t-retry");
    let refused = false;
    rig.recorder.fault = ({ operation, partNumber }) => {
      if (operation !== "UploadPart" || partNumber !== 3 || refused) return undefined;
      refused = true;
      return 400;
    };

    // Act
    const answers = await Promise.all(ranges.map(run));
    const failed = ranges.filter(
      (_, i) => (answers[i] as { batchItemFailures: unknown[] }).batchItemFailures.length,
    );
    const retried = await Promise.all(failed.map(run));

    // Assert
    expect(failed.map((m) => JSON.parse(m.body).range)).toEqual([1]);
    expect(retried).toEqual([{ batchItemFailures: [] }]);
    expect(retrs()).toBe(5);
    expect(sha256(await readObject(rig.s3, bucket, key))).toBe(sha256(data));
    expect(completes()).toHaveLength(1);
    const record = await rig.ledger.get("t-retry");
    expect(record?.ranges?.map((r) => [r.state, r.attempts])).toEqual([
      ["done", 0],
      ["done", 1],
      ["done", 0],
      ["done", 0],
    ]);
  });

  it("aborts the whole upload when the source changes during the fan-out", async () => {
    // Arrange
    const { ranges } = await fannedOut({ minMiB: 5, ranges: 4, maxSessions: 4 }, "t-changed");
    const [first, second, ...rest] = ranges as [SQSRecord, SQSRecord, ...SQSRecord[]];
    await run(first);
    const local = join(rig.ftp.root, "outbox/big.bin");
    await writeFile(local, randomFile(size));
    await utimes(local, new Date(), new Date(Date.now() + 60_000));

    // Act
    const changed = await run(second);
    const later = await Promise.all(rest.map(run));

    // Assert
    expect(changed).toEqual({ batchItemFailures: [] }); // given up, not retried
    expect(later).toEqual(rest.map(() => ({ batchItemFailures: [] })));
    expect(await objectExists(rig.s3, bucket, key)).toBe(false);
    const uploads = await rig.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
    expect(completes()).toHaveLength(0);
    expect(rig.events).toMatchObject([{ detailType: "Transfer Failed", detail: { code: "SOURCE_CHANGED" } }]);
    expect(retrs()).toBe(1);
    expect((await rig.ledger.get("t-changed"))?.state).toBe("failed");
    expect(rig.logs().map((l) => l.message)).toContain(
      "range 2 skipped: the transfer is failed; nothing was read or written",
    );
  });

  it("holds the file's session cap: maxSessions 2 with 4 ranges, the others come back later", async () => {
    // Arrange
    const { data, ranges } = await fannedOut({ minMiB: 5, ranges: 4, maxSessions: 2 }, "t-cap");

    // Act: all four at once; two find no session and come back later (delayed on the queue), and
    // their messages, delivered again, then copy them.
    await Promise.all(ranges.map(run));
    const waited = rig
      .logs()
      .filter((l) => / waits: all 2 sessions for this file are in use/.test(l.message))
      .map((l) => l.range);
    await Promise.all(ranges.filter((m) => waited.includes(JSON.parse(m.body).range)).map(run));

    // Assert
    expect(waited).toHaveLength(2);
    expect(rig.peakSessions).toBe(2);
    expect(sha256(await readObject(rig.s3, bucket, key))).toBe(sha256(data));
    expect(completes()).toHaveLength(1);
  });

  it("copies the file as one when the server does not announce REST STREAM in FEAT", async () => {
    // Arrange: ftp-srv as it is (it takes REST, but its FEAT does not say so).
    const { data, ranges } = await fannedOut({ minMiB: 5, ranges: 4, maxSessions: 4 }, "t-no-rest", {
      restStream: false,
    });

    // Assert
    expect(ranges).toEqual([]);
    expect(retrs()).toBe(0);
    expect(sha256(await readObject(rig.s3, bucket, key))).toBe(sha256(data));
    expect(rig.logs().map((l) => l.message)).toContain(
      "the file is copied as one, not by ranges: the server does not announce REST STREAM in FEAT, so a range could not start mid-file",
    );
    expect(rig.events.map((e) => e.detailType)).toEqual(["Object Ingested"]);
    expect((await rig.ledger.get("t-no-rest"))?.state).toBe("committed");
  });

  it("fails the transfer, saying why, when the range messages cannot be sent", async () => {
    // Arrange: SQS refuses the batch of range messages.
    const { ranges } = await fannedOut({ minMiB: 5, ranges: 4, maxSessions: 4 }, "t-unsent", {
      queueBatch: async () => {
        throw new Error("SQS is unavailable");
      },
    });

    // Assert
    expect(ranges).toEqual([]);
    const messages = rig.logs().map((l) => `${l.level} ${l.message}`);
    expect(messages).toContain(
      "ERROR the range messages could not be sent: the transfer fails and its upload is aborted",
    );
    expect(messages.filter((m) => m.includes("taken over"))).toEqual([]);
    expect(rig.events).toMatchObject([{ detailType: "Transfer Failed", detail: { transferId: "t-unsent" } }]);
    expect((await rig.ledger.get("t-unsent"))?.state).toBe("failed");
    const uploads = await rig.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it("ends a range's wait for a session of its file after two leases without progress: an attempt each, then the transfer", async () => {
    // Arrange: every session slot of the file held, by a leg that crashed, say.
    const heldForever: SessionBudgets = (name, max) =>
      name.includes("#file-") ? { tryTake: async () => undefined } : inProcessSessionBudgets()(name, max);
    const { ranges } = await fannedOut({ minMiB: 5, ranges: 4, maxSessions: 2 }, "t-starved", {
      sessionBudgets: heldForever,
    });
    const first = ranges[0] as SQSRecord;
    const clock = Date.now();

    // Act: the message comes back later, then again past 32 minutes, three times over.
    const answers = [await run(first)];
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      for (const minutes of [33, 34, 67, 68, 101, 102]) {
        vi.setSystemTime(clock + minutes * 60_000);
        answers.push(await run(first));
      }
    } finally {
      vi.useRealTimers();
    }

    // Assert
    const failed = { batchItemFailures: [{ itemIdentifier: first.messageId }] };
    const none = { batchItemFailures: [] };
    expect(answers).toEqual([none, failed, none, failed, none, none, none]);
    const messages = rig.logs().map((l) => `${l.level} ${l.message}`);
    expect(messages.filter((m) => m.startsWith("ERROR range 0 failed (attempt"))).toEqual([
      "ERROR range 0 failed (attempt 1 of 3)",
      "ERROR range 0 failed (attempt 2 of 3)",
      "ERROR range 0 failed (attempt 3 of 3)",
    ]);
    expect(rig.events).toMatchObject([{ detailType: "Transfer Failed", detail: { code: "FTP_BUSY" } }]);
    const record = await rig.ledger.get("t-starved");
    expect(record?.state).toBe("failed");
    expect(record?.ranges?.[0]).toMatchObject({ state: "failed", attempts: 3 });
    expect(retrs()).toBe(0);
  });

  it("tries the completion again when S3 fails it for a while (503), and fails the transfer on a refusal (403)", async () => {
    // Arrange: S3 answers 503 to CompleteMultipartUpload until told otherwise (past the SDK's own retries).
    const { data, ranges } = await fannedOut({ minMiB: 5, ranges: 4, maxSessions: 4 }, "t-complete");
    let status: number | undefined = 503;
    rig.recorder.fault = ({ operation }) => (operation === "CompleteMultipartUpload" ? status : undefined);

    // Act: the last range done takes the completion and fails; its message comes back, S3 recovered.
    const answers = await Promise.all(ranges.map(run));
    const returned = ranges.filter(
      (_, i) => (answers[i] as { batchItemFailures: unknown[] }).batchItemFailures.length,
    );
    const stateBetween = (await rig.ledger.get("t-complete"))?.state;
    status = undefined;
    const again = await Promise.all(returned.map(run));

    // Assert
    expect(returned).toHaveLength(1);
    expect(stateBetween).toBe("ranging");
    expect(again).toEqual([{ batchItemFailures: [] }]);
    expect(sha256(await readObject(rig.s3, bucket, key))).toBe(sha256(data));
    expect(retrs()).toBe(4);
    expect(rig.events.map((e) => e.detailType)).toEqual(["Object Ingested"]);
    expect(rig.logs().map((l) => l.message)).toContain(
      "the ranged transfer could not be committed (attempt 1 of 3); the completion is tried again when this message returns",
    );

    // A refusal is no passing failure: the next fan-out fails at once, its upload aborted.
    const second = await fannedOutAgain("t-refused");
    status = 403;
    const refused = await Promise.all(second.map(run));
    expect(refused).toEqual(second.map(() => ({ batchItemFailures: [] })));
    expect((await rig.ledger.get("t-refused"))?.state).toBe("failed");
    expect(rig.events.map((e) => e.detailType)).toEqual(["Object Ingested", "Transfer Failed"]);
  });

  it("copies the file as one when the server takes REST but sends from byte 0 (the probe of its last bytes)", async () => {
    // Arrange: ftp-srv answers REST 350 and forgets it.
    const { data, ranges } = await fannedOut({ minMiB: 5, ranges: 4, maxSessions: 4 }, "t-rest-ignored", {
      ignoreRest: true,
    });

    // Assert
    expect(ranges).toEqual([]);
    expect(retrs()).toBe(0);
    expect(sha256(await readObject(rig.s3, bucket, key))).toBe(sha256(data));
    expect(rig.logs().map((l) => l.message)).toContain(
      `the file is copied as one, not by ranges: the server sent more than the 16 bytes after REST ${size - 16}: it ignores REST and sends from byte 0`,
    );
    expect((await rig.ledger.get("t-rest-ignored"))?.state).toBe("committed");
  });
});
