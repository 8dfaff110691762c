import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  bucket,
  callApi,
  type LambdaRig,
  sqsEvent,
  sqsRecord,
  startLambdaRig,
} from "../support/lambda-rig.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

let rig: LambdaRig;
beforeAll(async () => {
  rig = await startLambdaRig();
});
afterAll(() => rig.close());
afterEach(() => rig.clearLogs());

const listed = (dir: string) => readdir(join(rig.ftp.root, dir)).catch(() => [] as string[]);

describe("afterCopy through the handler", () => {
  it("a queued request with afterCopy delete: the object holds the file, then the file is gone", async () => {
    // Arrange
    const data = randomFile(3000);
    await rig.serve("outbox/queued.csv", data);
    const body = { connection: "partner", path: "/outbox/queued.csv", afterCopy: "delete" };

    // Act
    const response = await rig.invoke(sqsEvent(sqsRecord(JSON.stringify(body), "m-1")));

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sha256(await readObject(rig.s3, bucket, "landing/partner/outbox/queued.csv"))).toBe(sha256(data));
    expect(await listed("outbox")).not.toContain("queued.csv");
    expect(rig.logs().find((l) => l.message === "source file deleted")).toBeDefined();
    expect(rig.logs().find((l) => "TransferSourceActionFailed" in l)).toMatchObject({
      TransferSourceActionFailed: 0,
    });
  });

  it("a redelivered message finds this very version committed: it only runs the action, reading nothing", async () => {
    // Arrange: the first delivery committed the object and stopped before its action
    await rig.serve("outbox/redelivered.csv", randomFile(2000));
    const request = { connection: "partner", path: "/outbox/redelivered.csv" };
    await rig.invoke(sqsEvent(sqsRecord(JSON.stringify(request), "first")));
    const retrieved = rig.ftp.retrieved;

    // Act
    const body = JSON.stringify({ ...request, afterCopy: { moveTo: "/outbox/done/{yyyy}/" } });
    const response = await rig.invoke(sqsEvent(sqsRecord(body, "again")));

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rig.ftp.retrieved).toBe(retrieved);
    expect(await listed("outbox")).not.toContain("redelivered.csv");
    expect(await listed(`outbox/done/${new Date().getUTCFullYear()}`)).toContain("redelivered.csv");
  });

  it("the API refuses a move target outside the connection's roots before anything is copied (400)", async () => {
    // Arrange
    await rig.serve("outbox/api.csv", randomFile(100));

    // Act
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "partner",
      path: "/outbox/api.csv",
      afterCopy: { moveTo: "/etc/{yyyy}" },
    });

    // Assert
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatchObject({
      error: {
        code: "INVALID_INPUT",
        message:
          'the move target "/etc/{yyyy}" lies outside the roots of connection "partner" (/outbox, /shared/reports)',
      },
    });
    expect(await objectExists(rig.s3, bucket, "landing/partner/outbox/api.csv")).toBe(false);
    expect(await listed("outbox")).toContain("api.csv");
  });

  it("a scheduled mirror that deletes extraneous objects keeps those whose source it took away", async () => {
    // Arrange
    await rig.serve("shared/reports/daily/r1.csv", randomFile(1000));
    await rig.serve("shared/reports/daily/r2.csv", randomFile(1000));
    const job = {
      connection: "partner",
      remoteDir: "/shared/reports/daily",
      prefix: "reports/",
      deleteExtraneous: true,
      afterCopy: "delete",
    };

    // Act
    const first = await rig.invoke({ mirror: job });
    const second = await rig.invoke({ mirror: job });

    // Assert
    expect(first).toMatchObject({ copied: 2, afterCopy: { done: 2, failed: [] } });
    expect(second).toMatchObject({ copied: 0, deleted: 0 });
    expect(await listed("shared/reports/daily")).toEqual([]);
    for (const name of ["r1.csv", "r2.csv"]) {
      expect(await objectExists(rig.s3, bucket, `landing/partner/reports/${name}`)).toBe(true);
    }
  });
});
