import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeFtpServer, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { callApi, fakeServerConnection, type LambdaRig, startLambdaRig } from "../support/lambda-rig.js";

const GiB = 1024 * 1024 * 1024;

describe("API trigger within the memory budget (transfer.memoryBudgetMiB)", () => {
  let rig: LambdaRig;
  let fake: FakeFtpServer;
  beforeAll(async () => {
    // A server announcing 100 GiB: S3 takes it in 11 MiB parts, more than an 8 MiB budget holds.
    fake = await startFakeFtpServer({
      user: "u",
      password: "partner-secret-pw",
      files: { "/outbox/huge.bin": Buffer.from("far less than announced") },
      handlers: { SIZE: (ctx) => ctx.reply(`213 ${100 * GiB}`) },
    });
    rig = await startLambdaRig({
      connections: { scripted: fakeServerConnection(fake.port) },
      transfer: { memoryBudgetMiB: 8 },
    });
  });
  afterAll(async () => {
    await rig.close();
    await fake.close();
  });

  it("answers 507 TOO_LARGE before RETR, with one transfer failed line, and creates no upload", async () => {
    // Act
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "scripted",
      path: "/outbox/huge.bin",
    });

    // Assert
    expect(response.statusCode).toBe(507);
    expect(response.body).toEqual({
      error: {
        code: "TOO_LARGE",
        message: expect.stringMatching(
          /huge\.bin needs 11 MiB of memory for one part buffer .*budget of 8 MiB/,
        ),
      },
    });
    expect(fake.commands.filter((line) => line.startsWith("RETR"))).toEqual([]);
    expect(rig.recorder.requests.map((r) => r.operation)).not.toContain("CreateMultipartUpload");
    const failed = rig.logs().filter((line) => line.message === "transfer failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ code: "TOO_LARGE" });
  });
});
