import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbLedger } from "../../functions/adapters/dynamodb-ledger.js";
import { LEDGER_TABLE } from "../../functions/contracts/index.js";
import type { FanOutPlan, TransferLedger } from "../../functions/core/index.js";
import { type EmbeddedDynamoDb, startDynalite } from "../support/embedded-dynamodb.js";
import { createLedgerTable } from "../support/ledger-table.js";

const request = { connection: "partner", path: "/outbox/big.bin", trigger: "queue" };
const T0 = Date.parse("2026-12-07T10:00:00Z");
const MINUTE = 60_000;
const MiB = 1024 * 1024;

const plan: FanOutPlan = {
  uploadId: "upload-1",
  bucket: "landing",
  key: "partner/big.bin",
  size: 20 * MiB,
  modifiedAt: "2026-12-07T09:00:00.000Z",
  partSize: 5 * MiB,
  ifNoneMatch: true,
  maxSessions: 2,
  ranges: [
    { start: 0, end: 10 * MiB, firstPart: 1 },
    { start: 10 * MiB, end: 20 * MiB, firstPart: 3 },
  ],
};

// The ranges' conditional writes on the transfer's item, against DynamoDB's API (dynalite).
describe("the DynamoDB ledger's ranges", () => {
  let dynamo: EmbeddedDynamoDb;
  let client: DynamoDBClient;
  let ledger: TransferLedger;

  beforeAll(async () => {
    dynamo = await startDynalite();
    client = dynamo.client();
    await createLedgerTable(client, "ledger");
    ledger = dynamoDbLedger(client, { name: "ledger", ...LEDGER_TABLE }, { historyMs: 90 * 86_400_000 });
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  /** A transfer whose leg 0 claimed it and wrote the plan. */
  async function fannedOut(transferId: string) {
    const leg = { transferId, leg: 0, claimId: `leg0-${transferId}` };
    await ledger.claim({ ...leg, request, at: T0, leaseUntil: T0 + 16 * MINUTE });
    expect(await ledger.fanOut(leg, plan, T0)).toBe(true);
  }
  const held = (transferId: string, index: number, claimId: string) => ({ transferId, index, claimId });
  const claimRange = (transferId: string, index: number, claimId: string, at = T0, leaseMs = 16 * MINUTE) =>
    ledger.claimRange({ ...held(transferId, index, claimId), at, leaseUntil: at + leaseMs });

  it("keeps the plan and every range queued in the transfer's item", async () => {
    await fannedOut("t-plan");

    const record = await ledger.get("t-plan");

    expect(record).toMatchObject({
      state: "ranging",
      totalBytes: 20 * MiB,
      plan,
      rangesDone: 0,
      ranges: [
        { state: "queued", bytes: 0, attempts: 0 },
        { state: "queued", bytes: 0, attempts: 0 },
      ],
    });
  });

  it("lets one of two claims of a range win, and a lapsed claim be taken over", async () => {
    await fannedOut("t-race");

    const answers = await Promise.all([claimRange("t-race", 0, "a"), claimRange("t-race", 0, "b")]);
    const early = await claimRange("t-race", 0, "c", T0 + MINUTE);
    const late = await claimRange("t-race", 0, "d", T0 + 17 * MINUTE);

    expect(answers.map((a) => a.claimed).sort()).toEqual([false, true]);
    expect(early.claimed).toBe(false);
    expect(late.claimed).toBe(true);
    const winner = answers.find((a) => a.claimed) === answers[0] ? "a" : "b";
    // The leg that lost its claim can no longer end the range; the taker can.
    expect(
      await ledger.rangeDone(held("t-race", 0, winner), { bytes: 1, crc64nvme: null }, T0),
    ).toBeUndefined();
    expect(
      await ledger.rangeDone(held("t-race", 0, "d"), { bytes: 10 * MiB, crc64nvme: "AAAA" }, T0),
    ).toMatchObject({
      rangesDone: 1,
      ranges: [{ state: "done", bytes: 10 * MiB, crc64nvme: "AAAA" }, { state: "queued" }],
    });
  });

  it("counts failed attempts, not busy returns, and lets a failed range be claimed again", async () => {
    await fannedOut("t-fail");
    const error = { code: "DATA_CONNECTION", message: "ended early" };

    await claimRange("t-fail", 1, "a");
    const busy = await ledger.rangeStopped(held("t-fail", 1, "a"), { state: "queued", error }, T0);
    await claimRange("t-fail", 1, "b");
    const failed = await ledger.rangeStopped(held("t-fail", 1, "b"), { state: "failed", error }, T0);
    const again = await claimRange("t-fail", 1, "c");

    expect(busy?.ranges?.[1]).toMatchObject({ state: "queued", attempts: 0 });
    expect(failed?.ranges?.[1]).toMatchObject({ state: "failed", attempts: 1, error });
    expect(again.claimed).toBe(true);
  });

  it("gives the completion to one leg once every range is done, and ends the transfer once", async () => {
    await fannedOut("t-done");
    await claimRange("t-done", 0, "a");
    await claimRange("t-done", 1, "b");
    await ledger.rangeDone(held("t-done", 0, "a"), { bytes: 10 * MiB, crc64nvme: null }, T0);

    const tooEarly = await ledger.claimCompletion("t-done", 2, T0, T0 + MINUTE);
    await ledger.rangeDone(held("t-done", 1, "b"), { bytes: 10 * MiB, crc64nvme: null }, T0);
    const first = await ledger.claimCompletion("t-done", 2, T0, T0 + MINUTE);
    const second = await ledger.claimCompletion("t-done", 2, T0 + 1000, T0 + MINUTE);
    const afterCrash = await ledger.claimCompletion("t-done", 2, T0 + 2 * MINUTE, T0 + 3 * MINUTE);
    const failed = { state: "failed" as const, error: { code: "SOURCE_CHANGED", message: "changed" } };
    const ends = [
      await ledger.rangedFinished("t-done", failed, T0),
      await ledger.rangedFinished("t-done", failed, T0),
    ];

    expect([tooEarly, first, second, afterCrash]).toEqual([false, true, false, true]);
    expect(ends).toEqual([true, false]);
    // A range of a transfer that ended can no longer be claimed.
    expect((await claimRange("t-done", 0, "late", T0 + 60 * MINUTE)).claimed).toBe(false);
  });

  it("starts a range's wait for a session once, ends it once as a failed attempt, and a claim clears it", async () => {
    await fannedOut("t-wait");
    const updatedAt = (await ledger.get("t-wait"))?.updatedAt;

    const first = await ledger.rangeWaits("t-wait", 0, T0 + MINUTE);
    const again = await ledger.rangeWaits("t-wait", 0, T0 + 2 * MINUTE);
    await claimRange("t-wait", 1, "holder", T0 + MINUTE);
    const running = await ledger.rangeWaits("t-wait", 1, T0 + 2 * MINUTE);
    const error = { code: "FTP_BUSY" as const, message: "waited" };
    const ended = await ledger.rangeWaitedTooLong(
      "t-wait",
      0,
      { since: T0 + MINUTE, error },
      T0 + 40 * MINUTE,
    );
    const endedAgain = await ledger.rangeWaitedTooLong(
      "t-wait",
      0,
      { since: T0 + MINUTE, error },
      T0 + 41 * MINUTE,
    );
    await ledger.rangeWaits("t-wait", 0, T0 + 42 * MINUTE);
    const claimed = await claimRange("t-wait", 0, "later", T0 + 43 * MINUTE);

    expect(first?.ranges?.[0]?.waitingSince).toBe(T0 + MINUTE);
    expect(first?.updatedAt).toBe(updatedAt); // a wait is not progress
    expect(again?.ranges?.[0]?.waitingSince).toBe(T0 + MINUTE);
    expect(running).toBeUndefined(); // range 1 runs under a live lease: nothing to wait for
    expect(ended?.ranges?.[0]).toMatchObject({ state: "failed", attempts: 1, error });
    expect(ended?.ranges?.[0]?.waitingSince).toBeUndefined();
    expect(endedAgain).toBeUndefined();
    expect(claimed.claimed && claimed.record.ranges?.[0]?.waitingSince).toBeUndefined();
  });

  it("releases a completion that failed for a while and counts it: the next leg takes it again", async () => {
    await fannedOut("t-again");
    await claimRange("t-again", 0, "a");
    await claimRange("t-again", 1, "b");
    await ledger.rangeDone(held("t-again", 0, "a"), { bytes: 10 * MiB, crc64nvme: null }, T0);
    await ledger.rangeDone(held("t-again", 1, "b"), { bytes: 10 * MiB, crc64nvme: null }, T0);

    await ledger.claimCompletion("t-again", 2, T0, T0 + MINUTE);
    const notHeld = await ledger.completionFailed("t-again", T0 + 2 * MINUTE, T0);
    const once = await ledger.completionFailed("t-again", T0 + MINUTE, T0);
    const retaken = await ledger.claimCompletion("t-again", 2, T0 + 1000, T0 + 5 * MINUTE);
    const twice = await ledger.completionFailed("t-again", T0 + 5 * MINUTE, T0 + 2000);

    expect([notHeld, once, retaken, twice]).toEqual([undefined, 1, true, 2]);
  });
});
