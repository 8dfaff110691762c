import type { Socket } from "node:net";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CommandContext, type FakeFtpServer, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { bucket, fakeServerConnection, type LambdaRig, startLambdaRig } from "../support/lambda-rig.js";
import { objectExists, randomFile } from "../support/objects.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Scheduled mirrors that would delete on doubtful knowledge fail with a code of their own.
describe("scheduled mirror: deletion rules, state and deadline", () => {
  let rig: LambdaRig;
  let slow: FakeFtpServer;

  beforeAll(async () => {
    // Every LIST takes 1.5 s and shows one more directory: planning outlives a short deadline.
    slow = await startFakeFtpServer({
      handlers: {
        LIST: async (ctx: CommandContext) => {
          ctx.reply("150 Here comes the listing");
          await sleep(1500);
          const data: Socket = await (ctx as CommandContext & { dataSocket(): Promise<Socket> }).dataSocket();
          await new Promise<void>((resolve) =>
            data.end("drwxr-xr-x   2 ftp ftp 4096 Jan 02 03:04 deeper\r\n", () => resolve()),
          );
          ctx.reply("226 Listing sent");
        },
      },
    });
    rig = await startLambdaRig({ connections: { scripted: fakeServerConnection(slow.port) } });
    await rig.serve("outbox/cap/keep.csv", randomFile(10));
    await rig.serve("outbox/old/keep.csv", randomFile(10));
  });
  afterAll(async () => {
    await rig?.close();
    await slow?.close();
  });

  async function seed(keys: string[]) {
    for (const key of keys) {
      await rig.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "stale" }));
    }
  }

  it("fails with DELETE_LIMIT and deletes nothing above the cap; below it, logs each deleted key", async () => {
    const stale = Array.from({ length: 120 }, (_, i) => `landing/partner/cap/stale-${i}.csv`);
    await seed(stale);
    const mirror = {
      connection: "partner",
      remoteDir: "/outbox/cap",
      prefix: "cap/",
      deleteExtraneous: true,
    };

    const capped = rig.invoke({ mirror });

    await expect(capped).rejects.toMatchObject({ code: "DELETE_LIMIT" });
    await expect(capped).rejects.toThrow(/120 objects lost their source, more than the limit of 100/);
    for (const key of stale.slice(0, 3)) expect(await objectExists(rig.s3, bucket, key)).toBe(true);
    const refusal = rig.logs().find((l) => l.message === "mirror refused to delete");
    expect(refusal?.deleteRefused).toMatchObject({ reason: "DELETE_LIMIT", wouldDelete: 120 });

    rig.clearLogs();
    const summary = await rig.invoke({ mirror: { ...mirror, maxDelete: 120 } });

    expect(summary).toMatchObject({ deleted: 120, copied: 0, unchanged: 1 });
    const deletedLines = rig.logs().filter((l) => l.message === "object deleted");
    expect(deletedLines.map((l) => l.key).sort()).toEqual([...stale].sort());
    expect(await objectExists(rig.s3, bucket, stale[0] as string)).toBe(false);
    expect(await objectExists(rig.s3, bucket, "landing/partner/cap/keep.csv")).toBe(true);
  });

  it("keeps its manifest under the state prefix, moving an old one out of the mirrored prefix", async () => {
    await seed(["landing/partner/old/.ftp2s3-manifest.json"]);

    await rig.invoke({ mirror: { connection: "partner", remoteDir: "/outbox/old", prefix: "old/" } });

    expect(await objectExists(rig.s3, bucket, "ftp2s3-state/landing/partner/old/manifest.json")).toBe(true);
    expect(await objectExists(rig.s3, bucket, "landing/partner/old/.ftp2s3-manifest.json")).toBe(false);
  });

  it("sends no LIST once the deadline fired: planning stops with the invocation", async () => {
    // 30 s margin: the deadline signal fires 1 s in, during the first LIST.
    const invocation = rig.invoke(
      { mirror: { connection: "scripted", remoteDir: "/outbox", prefix: "slow/", recursive: true } },
      31_000,
    );

    await expect(invocation).rejects.toMatchObject({ code: "TIMEOUT" });
    const listsAtReturn = slow.commands.filter((c) => c.startsWith("LIST")).length;
    await sleep(4000); // long enough for two more LISTs, had planning gone on
    expect(slow.commands.filter((c) => c.startsWith("LIST")).length).toBe(listsAtReturn);
    expect(listsAtReturn).toBeLessThanOrEqual(1);
  });
});
