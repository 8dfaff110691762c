import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbLedger } from "../../functions/adapters/dynamodb-ledger.js";
import { LEDGER_TABLE } from "../../functions/contracts/index.js";
import type { TransferLedger } from "../../functions/core/index.js";
import { type EmbeddedDynamoDb, startDynalite } from "../support/embedded-dynamodb.js";
import { createLedgerTable } from "../support/ledger-table.js";

const request = { connection: "partner", path: "/outbox/a.bin", trigger: "queue" };
const T0 = Date.parse("2026-12-07T10:00:00Z");
const MINUTE = 60_000;

// The ledger's conditional writes against DynamoDB's API (dynalite on loopback), not a mock of it.
describe("the DynamoDB ledger", () => {
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

  let claims = 0;
  const held = (transferId: string, leg: number) => ({ transferId, leg, claimId: `claim-${claims}` });
  const claim = (transferId: string, leg: number, at: number, leaseMs = 15 * MINUTE) => {
    claims += 1;
    return ledger.claim({ ...held(transferId, leg), request, at, leaseUntil: at + leaseMs });
  };

  it("lets one of two claims of the same leg win; the other sees the running leg", async () => {
    const [first, second] = await Promise.all([claim("t-race", 0, T0), claim("t-race", 0, T0)]);

    const answers = [first, second].map((a) => a.claimed).sort();
    expect(answers).toEqual([false, true]);
    const refused = [first, second].find((a) => !a.claimed);
    expect(refused).toMatchObject({ current: { state: "running", leg: 0, transferId: "t-race" } });
  });

  it("hands a running leg's transfer to a new delivery only once its lease ran out", async () => {
    await claim("t-crash", 0, T0, MINUTE);
    const crashed = held("t-crash", 0);

    const early = await claim("t-crash", 0, T0 + MINUTE / 2);
    const late = await claim("t-crash", 0, T0 + 2 * MINUTE);
    const taker = held("t-crash", 0);

    expect(early.claimed).toBe(false);
    expect(late.claimed).toBe(true);
    // The leg that lost its claim (it was only slow) can no longer write; the taker can.
    const failed = { state: "failed" as const, error: { code: "TIMEOUT", message: "stopped" } };
    expect(await ledger.finished(crashed, failed, T0 + 3 * MINUTE)).toBe(false);
    expect(await ledger.finished(taker, failed, T0 + 3 * MINUTE)).toBe(true);
  });

  it("goes queued → running → continuing → running (next leg) → committed, refusing stale legs", async () => {
    await ledger.queued("t-legs", request, T0);
    expect(await ledger.get("t-legs")).toMatchObject({ state: "queued", leg: 0, bytes: 0 });

    expect((await claim("t-legs", 0, T0 + 1)).claimed).toBe(true);
    const leg0 = held("t-legs", 0);
    await ledger.progress(leg0, { bytes: 100, totalBytes: 300, bytesPerSecond: 50, etaSeconds: 4 }, T0 + 2);
    expect(await ledger.get("t-legs")).toMatchObject({
      state: "running",
      bytes: 100,
      totalBytes: 300,
      etaSeconds: 4,
    });
    await ledger.continuing(leg0, 200, T0 + 3);
    expect(await ledger.get("t-legs")).toMatchObject({ state: "continuing", leg: 1, bytes: 200 });

    expect((await claim("t-legs", 0, T0 + 4)).claimed).toBe(false); // leg 0 delivered again
    expect((await claim("t-legs", 1, T0 + 4)).claimed).toBe(true);
    const leg1 = held("t-legs", 1);
    const result = {
      bucket: "b",
      key: "k",
      bytes: 300,
      etag: '"e"',
      source: { size: 300, modifiedAt: null },
    };
    expect(await ledger.finished(leg1, { state: "committed", result }, T0 + 5)).toBe(true);
    expect((await claim("t-legs", 1, T0 + 6)).claimed).toBe(false); // leg 1 delivered again

    const record = await ledger.get("t-legs");
    expect(record).toMatchObject({ state: "committed", leg: 1, bytes: 300, result, request });
    expect(record?.leaseUntil).toBeUndefined();
  });

  it("pages a connection's recent transfers, newest first, and refuses a forged token", async () => {
    for (let i = 0; i < 5; i++)
      await ledger.queued(`t-page-${i}`, { ...request, connection: "pager" }, T0 + i * MINUTE);

    const first = await ledger.recent("pager", new Date(T0 + MINUTE).toISOString(), 2);
    const second = await ledger.recent("pager", new Date(T0 + MINUTE).toISOString(), 2, first.next);

    expect(first.transfers.map((t) => t.transferId)).toEqual(["t-page-4", "t-page-3"]);
    expect(second.transfers.map((t) => t.transferId)).toEqual(["t-page-2", "t-page-1"]);
    await expect(ledger.recent("other", "2026", 2, first.next)).rejects.toThrow(/next token/);
    await expect(ledger.recent("pager", "2026", 2, "not-a-token")).rejects.toThrow(/next token/);
  });

  it("keeps an idempotency key for its window only", async () => {
    const record = { transferId: "t-idem", fingerprint: "f1" };

    const first = await ledger.remember("key-1", record, T0, MINUTE);
    const repeat = await ledger.remember(
      "key-1",
      { transferId: "t-other", fingerprint: "f2" },
      T0 + 1000,
      MINUTE,
    );
    const afterWindow = await ledger.remember(
      "key-1",
      { transferId: "t-later", fingerprint: "f3" },
      T0 + 2 * MINUTE,
      MINUTE,
    );

    expect(first).toEqual({ taken: true });
    expect(repeat).toEqual({ taken: false, holder: record });
    expect(afterWindow).toEqual({ taken: true });
  });
});
