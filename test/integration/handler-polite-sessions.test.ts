import { CreateTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dynamoSessionBudgets } from "../../functions/adapters/dynamodb-session-budget.js";
import { SESSION_LEASE_TABLE } from "../../functions/contracts/index.js";
import { type EmbeddedDynamoDb, startDynalite } from "../support/embedded-dynamodb.js";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import {
  callApi,
  fakeServerConnection,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { randomFile, readObject, sha256 } from "../support/objects.js";

// The Lambda against servers at their session limit: a queued copy comes back later instead of
// failing, an API copy answers 503, and maxSessions holds across containers with the lease table.
describe("the Lambda against a server at its session limit", () => {
  let full: FakeFtpServer;
  let rig: LambdaRig;

  beforeAll(async () => {
    full = await startFakeFtpServer({ greeting: "421 Too many users, try later" });
    rig = await startLambdaRig({ connections: { busy: fakeServerConnection(full.port) } });
  });
  afterAll(async () => {
    await rig?.close();
    await full?.close();
  });

  async function delayedMessages(): Promise<number> {
    const { Attributes } = await rig.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: rig.queueUrl,
        AttributeNames: ["ApproximateNumberOfMessagesDelayed"],
      }),
    );
    return Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0);
  }

  it("returns a queued copy that met 421 to the queue with a delay, as no failure", async () => {
    // Arrange
    rig.clearLogs();
    const record = sqsRecord(JSON.stringify({ connection: "busy", path: "/outbox/a.bin" }), "msg-1");

    // Act
    const response = await rig.invoke(sqsEvent(record));

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await rig.receive()).toEqual([]); // out of sight for its delay
    expect(await delayedMessages()).toBe(1);
    const logs = rig.logs();
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: "WARN",
        message: "the FTP server is busy: the copy returns to the queue in 30 s",
        transferId: "msg-1",
        busy: 1,
        delaySeconds: 30,
      }),
    );
    expect(logs).toContainEqual(
      expect.objectContaining({ message: "transfer deferred: the FTP server is busy", code: "FTP_BUSY" }),
    );
    expect(logs.map((l) => l.message)).not.toContain("transfer failed");
  });

  it("fails a queued copy that came back busy as often as allowed, as any failed copy", async () => {
    const record = sqsRecord(JSON.stringify({ connection: "busy", path: "/outbox/a.bin", busy: 8 }), "msg-9");

    const response = await rig.invoke(sqsEvent(record));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "msg-9" }] });
  });

  it("answers an API copy 503 FTP_BUSY with Retry-After", async () => {
    const response = await callApi(rig, "POST", "/transfers", { connection: "busy", path: "/outbox/a.bin" });

    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("30");
    expect(response.body).toMatchObject({
      error: { code: "FTP_BUSY", message: expect.stringContaining("421 Too many users, try later") },
    });
  });

  it('refuses "busy" from an API caller: only ftp2s3 sets it', async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "busy",
      path: "/outbox/a.bin",
      busy: 1,
    });

    expect(response.statusCode).toBe(400);
  });
});

describe("maxSessions across containers (the lease table)", () => {
  let dynamo: EmbeddedDynamoDb;
  let client: DynamoDBClient;
  let ftp: FakeFtpServer;
  let rig: LambdaRig | undefined;
  const mirrored: Record<string, Buffer> = Object.fromEntries(
    Array.from({ length: 6 }, (_, n) => [`/outbox/m/f${n}.bin`, randomFile(30_000 + n)]),
  );
  const queued: Record<string, Buffer> = Object.fromEntries(
    Array.from({ length: 3 }, (_, n) => [`/outbox/q/f${n}.bin`, randomFile(40_000 + n)]),
  );

  beforeAll(async () => {
    dynamo = await startDynalite();
    client = dynamo.client();
    await client.send(
      new CreateTableCommand({
        TableName: "SessionLeases",
        AttributeDefinitions: [{ AttributeName: SESSION_LEASE_TABLE.slotKey, AttributeType: "S" }],
        KeySchema: [{ AttributeName: SESSION_LEASE_TABLE.slotKey, KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    const files = { ...mirrored, ...queued };
    ftp = await startFakeFtpServer({
      features: ["SIZE", "MDTM", "EPSV", "PASV", "UTF8", "MLST type*;size*;modify*;"],
      files,
      // Slow enough that the sessions of both containers overlap.
      retr: retrScripts.slow(8000, 30),
      listings: {
        "/outbox/m": {
          mlsd: [
            "type=cdir; /outbox/m",
            ...Object.entries(mirrored).map(
              ([path, data]) => `type=file;size=${data.length};modify=20240102030405; ${path.slice(10)}`,
            ),
          ],
        },
      },
    });
  });
  afterEach(async () => {
    await rig?.close();
  });
  afterAll(async () => {
    await ftp?.close();
    client?.destroy();
    await dynamo?.close();
  });

  it("a mirror and queue consumers in two containers never hold more than maxSessions 2 sessions at once", async () => {
    // Arrange
    rig = await startLambdaRig({
      connections: { limited: { ...fakeServerConnection(ftp.port), maxSessions: 2 } },
      mirror: { concurrency: 3 },
      sessionBudgets: dynamoSessionBudgets(
        client,
        { name: "SessionLeases", ...SESSION_LEASE_TABLE },
        { leaseMs: 60_000 },
      ),
      slotWait: { waitMs: 400, pollMs: 25 },
    });
    const records = Object.keys(queued).map((path, n) =>
      sqsRecord(JSON.stringify({ connection: "limited", path, key: `q/f${n}.bin` }), `q-${n}`),
    );

    // Act
    const [summary, batch] = await Promise.all([
      rig.invoke({ mirror: { connection: "limited", remoteDir: "/outbox/m", prefix: "m/" } }),
      rig.invokeInAnotherContainer(sqsEvent(...records)),
    ]);

    // Assert: the server saw both at work, and never more than two sessions.
    expect(ftp.peakSessions).toBe(2);
    expect(summary).toMatchObject({ failed: [] });
    expect(batch).toEqual({ batchItemFailures: [] });
    // Whatever was stored is whole: each object holds its file's bytes.
    const stored = (await rig.receive()).length; // fan-out and busy returns wait on the queue
    const sources: Record<string, Buffer> = {
      ...Object.fromEntries(
        Object.entries(mirrored).map(([p, d]) => [`landing/limited/m/${p.slice(10)}`, d]),
      ),
      ...Object.fromEntries(Object.entries(queued).map(([p, d]) => [`landing/limited/q/${p.slice(10)}`, d])),
    };
    let objects = 0;
    for (const [key, data] of Object.entries(sources)) {
      const body = await readObject(rig.s3, "landing-bucket", key).catch(() => undefined);
      if (body === undefined) continue;
      objects += 1;
      expect(sha256(body)).toBe(sha256(data));
    }
    expect((summary as { copied: number }).copied).toBeGreaterThan(0);
    expect(objects + stored).toBeGreaterThanOrEqual(Object.keys(sources).length);
  });
});
