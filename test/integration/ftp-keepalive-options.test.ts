import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { KEEPALIVE_TIMER, type KernelTcpTimer, timerOfConnectionTo } from "../support/kernel-tcp.js";
import { callApi, fakeServerConnection, type LambdaRig, startLambdaRig } from "../support/lambda-rig.js";
import { randomFile } from "../support/objects.js";

// The command's --keepalive and a connection's keepAliveSeconds, followed to where they matter: the
// kernel's keepalive timer of the control connection, read from /proc/net/tcp while the copy runs.

const bucket = "keepalive";
const path = "/outbox/slow.bin";

let fake: FakeFtpServer;
let s3: EmbeddedS3Server;
let rig: LambdaRig;

beforeAll(async () => {
  // About 2 s a copy (1 MiB in 64 KiB chunks 120 ms apart): time to read the timer mid-transfer.
  fake = await startFakeFtpServer({
    files: { [path]: randomFile(1024 * 1024) },
    retr: retrScripts.slow(64 * 1024, 120),
  });
  s3 = await startFauxqsS3();
  await s3.createBucket(bucket);
  rig = await startLambdaRig({
    connections: { scripted: { ...fakeServerConnection(fake.port), keepAliveSeconds: 45 } },
  });
});

afterAll(async () => {
  await rig?.close();
  await s3?.close();
  await fake?.close();
});

/**
 * Runs `copy` while watching the control connection; the last keepalive timer seen, which is the
 * one of the transfer (basic-ftp arms the system's while it connects, before the session sets its own).
 */
async function keepAliveTimerDuring<T>(copy: Promise<T>): Promise<{ result: T; timer?: KernelTcpTimer }> {
  let done = false;
  const finished = copy.finally(() => {
    done = true;
  });
  let timer: KernelTcpTimer | undefined;
  while (!done) {
    const seen = await timerOfConnectionTo(fake.port);
    if (seen?.timer === KEEPALIVE_TIMER) timer = seen;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { result: await finished, ...(timer === undefined ? {} : { timer }) };
}

describe("the keepalive options reach the control connection", () => {
  it("the command's --keepalive", async () => {
    const copying = runInProcess(
      [
        `ftp://u@127.0.0.1:${fake.port}${path}`,
        `s3://${bucket}/cli.bin`,
        "--keepalive",
        "45",
        "--progress",
        "none",
      ],
      { ...s3.env, FTP_PASSWORD: "p" },
    );

    const { result: run, timer } = await keepAliveTimerDuring(copying);

    expect(run.exitCode).toBe(0);
    expect(timer?.seconds).toBeGreaterThan(40);
    expect(timer?.seconds).toBeLessThanOrEqual(45);
  });

  it("refuses a --keepalive the kernel cannot take", async () => {
    const run = await runInProcess(
      [`ftp://u@127.0.0.1:${fake.port}${path}`, `s3://${bucket}/cli.bin`, "--keepalive", "0.5"],
      { ...s3.env, FTP_PASSWORD: "p" },
    );

    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(/--keepalive.*expected a whole number of seconds from 0 to 32767/);
  });

  it("a Lambda connection's keepAliveSeconds", async () => {
    const calling = callApi(rig, "POST", "/transfers", { connection: "scripted", path });

    const { result: response, timer } = await keepAliveTimerDuring(calling);

    expect(response.statusCode).toBe(200);
    expect(timer?.seconds).toBeGreaterThan(40);
    expect(timer?.seconds).toBeLessThanOrEqual(45);
  });
});
