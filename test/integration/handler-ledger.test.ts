import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import {
  bucket,
  callApi,
  fakeServerConnection,
  type HttpResult,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
  urlRequest,
} from "../support/lambda-rig.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const MiB = 1024 * 1024;
// As in handler-continuation: about 12 MB/s from the fake server, 5 MiB parts; with 3 s left and a
// 1 s margin a leg suspends after 1.5 s, with a part or two kept.
const SHORT_LEG_MS = 3000;

/** The API as a caller sees it, with headers and a query string. */
async function call(
  rig: LambdaRig,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; query?: string; remainingMs?: number } = {},
): Promise<HttpResult> {
  const event = urlRequest(method, path, options.body);
  const request = {
    ...event,
    rawQueryString: options.query ?? "",
    headers: { ...event.headers, ...options.headers },
  };
  const response = (await rig.invoke(request, options.remainingMs)) as HttpResult & { body: string };
  return { ...response, body: JSON.parse(response.body) as Record<string, unknown> };
}

// The ledger is DynamoDB's API on loopback (dynalite, one table per rig); the FTP server is the
// scripted fake, counting RETR; S3 is s3rver behind the recorder, counting UploadPart.
describe("the transfer ledger: status, one leg at a time, idempotent requests, events", () => {
  let fake: FakeFtpServer;
  let rig: LambdaRig;
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    fake = await startFakeFtpServer({ files, retr: retrScripts.slow(256 * 1024, 20) });
    rig = await startLambdaRig({
      s3: "s3rver", // ListParts, for continuations
      connections: { scripted: fakeServerConnection(fake.port) },
      transfer: { deadlineMarginSeconds: 1, suspendLeadSeconds: 0.5 },
      ledger: { progressIntervalSeconds: 0.1 },
    });
  });
  afterAll(async () => {
    await rig.close();
    await fake.close();
  });
  afterEach(async () => {
    await rig.receive(); // nothing left over for the next test
    rig.clearLogs();
    rig.events.length = 0;
  });

  const retrCount = (name: string) => fake.commands.filter((c) => c === `RETR /outbox/${name}`).length;
  const uploadParts = (name: string) =>
    rig.recorder.requests.filter(
      (r) => r.operation === "UploadPart" && r.path === `/${bucket}/landing/scripted/outbox/${name}`,
    );

  it("an async request goes queued → running (bytes growing) → committed, and puts one Object Ingested", async () => {
    // Arrange
    const data = randomFile(12 * MiB);
    files["/outbox/polled.bin"] = data;
    const accepted = await callApi(rig, "POST", "/transfers", {
      connection: "scripted",
      path: "/outbox/polled.bin",
      async: true,
    });
    const id = String(accepted.body.id);
    const queued = await callApi(rig, "GET", `/transfers/${id}`);
    const [message] = await rig.receive();

    // Act: the queue's leg runs while the caller polls
    const seen: { state: unknown; bytes: unknown }[] = [];
    let done = false;
    const leg = rig.invoke(sqsEvent(message as SQSRecord)).finally(() => {
      done = true;
    });
    while (!done) {
      const status = await callApi(rig, "GET", `/transfers/${id}`);
      seen.push({ state: status.body.state, bytes: status.body.bytes });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await leg;
    const committed = await callApi(rig, "GET", `/transfers/${id}`);

    // Assert
    expect(accepted.statusCode).toBe(202);
    expect(queued.body).toMatchObject({ id, state: "queued", legs: 0, bytes: 0, connection: "scripted" });
    const running = seen.filter((s) => s.state === "running").map((s) => s.bytes as number);
    expect(new Set(running.filter((b) => b > 0)).size).toBeGreaterThanOrEqual(2);
    expect(running).toEqual([...running].sort((a, b) => a - b));
    expect(committed.statusCode).toBe(200);
    expect(committed.body).toMatchObject({
      id,
      state: "committed",
      legs: 1,
      bytes: data.length,
      totalBytes: data.length,
      percent: 100,
      etaSeconds: null,
      trigger: "api",
      result: { bucket, key: "landing/scripted/outbox/polled.bin", bytes: data.length, sha256: sha256(data) },
    });
    expect(rig.events).toHaveLength(1);
    expect(rig.events[0]).toMatchObject({
      detailType: "Object Ingested",
      detail: {
        transferId: id,
        connection: "scripted",
        path: "/outbox/polled.bin",
        trigger: "api",
        bucket,
        key: "landing/scripted/outbox/polled.bin",
        bytes: data.length,
        sha256: sha256(data),
        legs: 1,
        source: { size: data.length },
      },
    });
    expect(rig.events[0]?.detail.durationMs).toEqual(expect.any(Number));
  });

  it("two deliveries of one continuation at the same moment make one leg of work", async () => {
    // Arrange: an API copy too long for its invocation, which hands over to continuation 1
    const data = randomFile(24 * MiB);
    files["/outbox/doubled.bin"] = data;
    const first = await callApi(
      rig,
      "POST",
      "/transfers",
      { connection: "scripted", path: "/outbox/doubled.bin" },
      SHORT_LEG_MS,
    );
    const [continuation] = await rig.receive();
    const retrBefore = retrCount("doubled.bin");
    const partsBefore = uploadParts("doubled.bin").length;

    // Act: both deliveries at once
    const results = (await Promise.all([
      rig.invoke(sqsEvent(continuation as SQSRecord)),
      rig.invoke(sqsEvent(continuation as SQSRecord)),
    ])) as SQSBatchResponse[];

    // Assert: one RETR and one part per 5 MiB left, the other delivery said so and did nothing
    expect(first.statusCode).toBe(202);
    expect(results).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(retrCount("doubled.bin") - retrBefore).toBe(1);
    // Where leg 1 goes on: after the parts leg 0 kept, or byte 0 when it kept none (a slow machine).
    const offset = (JSON.parse((continuation as SQSRecord).body).continuation.resumeAt?.offset ??
      0) as number;
    expect(uploadParts("doubled.bin").length - partsBefore).toBe(
      Math.ceil((data.length - offset) / (5 * MiB)),
    );
    const skipped = rig.logs().filter((l) => String(l.message).startsWith("leg 1 skipped"));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ transferId: first.body.id, ledgerState: "running", ledgerLeg: 1 });
    expect(sha256(await readObject(rig.s3, bucket, "landing/scripted/outbox/doubled.bin"))).toBe(
      sha256(data),
    );
    const status = await callApi(rig, "GET", `/transfers/${first.body.id}`);
    expect(status.body).toMatchObject({ state: "committed", legs: 2, bytes: data.length });
  });

  it("a crashed leg's transfer is taken over once its lease ran out, and not before", async () => {
    // Arrange: two transfers whose leg 0 crashed (claimed, never ended): one long ago, one just now
    files["/outbox/crashed.bin"] = randomFile(1000);
    files["/outbox/busy.bin"] = randomFile(1000);
    const request = { connection: "scripted", trigger: "queue" };
    const now = Date.now();
    await rig.ledger.claim({
      transferId: "t-crashed",
      leg: 0,
      claimId: "dead-invocation",
      request: { ...request, path: "/outbox/crashed.bin" },
      at: now - 20 * 60_000,
      leaseUntil: now - 4 * 60_000,
    });
    await rig.ledger.claim({
      transferId: "t-busy",
      leg: 0,
      claimId: "live-invocation",
      request: { ...request, path: "/outbox/busy.bin" },
      at: now,
      leaseUntil: now + 16 * 60_000,
    });
    const message = (name: string, transferId: string) =>
      sqsRecord(JSON.stringify({ connection: "scripted", path: `/outbox/${name}`, transferId }));

    // Act: SQS delivers both messages again
    const response = await rig.invoke(
      sqsEvent(message("crashed.bin", "t-crashed"), message("busy.bin", "t-busy")),
    );

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    expect(retrCount("crashed.bin")).toBe(1);
    expect(retrCount("busy.bin")).toBe(0);
    expect(await objectExists(rig.s3, bucket, "landing/scripted/outbox/busy.bin")).toBe(false);
    expect(await rig.ledger.get("t-crashed")).toMatchObject({ state: "committed", leg: 0 });
    expect(await rig.ledger.get("t-busy")).toMatchObject({ state: "running", leg: 0 });
    expect(rig.logs().find((l) => l.transferId === "t-busy")).toMatchObject({
      message: "leg 0 skipped: the transfer is running at leg 0 in the ledger; nothing was read or written",
    });
  });

  it("a repeated POST with the same Idempotency-Key answers with the first transfer; another body is a 422", async () => {
    // Arrange
    files["/outbox/once.bin"] = randomFile(3000);
    const body = { connection: "scripted", path: "/outbox/once.bin" };
    const headers = { "idempotency-key": "order-4711" };

    // Act
    const first = await call(rig, "POST", "/transfers", { body, headers });
    const repeat = await call(rig, "POST", "/transfers", { body, headers });
    const other = await call(rig, "POST", "/transfers", {
      body: { ...body, key: "elsewhere.bin" },
      headers,
    });
    const badKey = await call(rig, "POST", "/transfers", { body, headers: { "idempotency-key": "a b" } });

    // Assert
    expect(first.statusCode).toBe(200);
    expect(repeat.statusCode).toBe(200);
    expect(repeat.headers["idempotent-replayed"]).toBe("true");
    expect(repeat.body).toMatchObject({ id: first.body.id, state: "committed", result: { bytes: 3000 } });
    expect(retrCount("once.bin")).toBe(1);
    expect(other.statusCode).toBe(422);
    expect(other.body.error).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
    expect(badKey.statusCode).toBe(400);
  });

  it("answers 404 for an unknown or malformed id", async () => {
    for (const id of ["3f1c1b7e-0000-4000-8000-000000000000", "%00", "%E0%A4%A", "x".repeat(1100)]) {
      const response = await callApi(rig, "GET", `/transfers/${id}`);
      expect(response.statusCode, id.slice(0, 40)).toBe(404);
      expect(response.body.error).toMatchObject({ code: "NOT_FOUND" });
    }
  });

  it("lists a connection's recent transfers, newest first, a page at a time; refuses a bad token", async () => {
    // Arrange: three transfers of a connection
    const ids: string[] = [];
    for (const name of ["l1.bin", "l2.bin", "l3.bin"]) {
      files[`/outbox/${name}`] = randomFile(100);
      const response = await callApi(rig, "POST", "/transfers", {
        connection: "scripted",
        path: `/outbox/${name}`,
      });
      ids.push(String(response.body.id));
      await new Promise((resolve) => setTimeout(resolve, 5)); // distinct creation times
    }
    const since = new Date(Date.now() - 60_000).toISOString();

    // Act
    const page1 = await call(rig, "GET", "/transfers", {
      query: `connection=scripted&since=${since}&limit=2`,
    });
    const page2 = await call(rig, "GET", "/transfers", {
      query: `connection=scripted&since=${since}&limit=2&next=${page1.body.next}`,
    });
    const forged = await call(rig, "GET", "/transfers", { query: "connection=scripted&next=eyJwayI6MX0" });
    const unknown = await call(rig, "GET", "/transfers", { query: "connection=nobody" });

    // Assert
    const listed = [
      ...(page1.body.transfers as { id: string }[]),
      ...(page2.body.transfers as { id: string }[]),
    ];
    expect(listed.map((t) => t.id).slice(0, 3)).toEqual([...ids].reverse());
    expect(page1.body.transfers).toHaveLength(2);
    expect(forged.statusCode).toBe(400);
    expect(unknown.statusCode).toBe(400);
  });

  it("a failed copy ends 'failed' with its code and FTP reply, and puts one Transfer Failed", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "scripted",
      path: "/outbox/missing.bin",
    });

    expect(response.statusCode).toBe(404);
    const [id] = rig.events.map((e) => e.detail.transferId);
    const status = await callApi(rig, "GET", `/transfers/${id}`);
    expect(status.body).toMatchObject({ state: "failed", error: { code: "FTP_REPLY", ftpCode: 550 } });
    expect(rig.events).toEqual([
      {
        detailType: "Transfer Failed",
        detail: expect.objectContaining({
          connection: "scripted",
          path: "/outbox/missing.bin",
          code: "FTP_REPLY",
          ftpCode: 550,
          message: expect.stringContaining("550"),
          legs: 1,
        }),
      },
    ]);
  });

  it("a mirror run puts one Mirror Completed with its counts", async () => {
    await rig.serve("outbox/run/a.csv", randomFile(100));
    await rig.serve("outbox/run/b.csv", randomFile(200));

    const summary = await rig.invoke({
      mirror: { connection: "partner", remoteDir: "/outbox/run", prefix: "run/" },
    });

    expect(summary).toMatchObject({ copied: 2, failed: [] });
    expect(rig.events).toEqual([
      {
        detailType: "Mirror Completed",
        detail: expect.objectContaining({
          connection: "partner",
          remoteDir: "/outbox/run",
          bucket,
          prefix: "landing/partner/run/",
          listed: 2,
          copied: 2,
          unchanged: 0,
          failed: 0,
          failedFiles: [],
          bytes: 300,
        }),
      },
    ]);
  });
});
