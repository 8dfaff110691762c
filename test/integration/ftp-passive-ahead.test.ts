import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { remoteFilePath } from "../../functions/core/paths.js";
import { randomFile, sha256 } from "../support/bytes.js";
import { endAndWaitClosed } from "../support/fake-ftp/sockets.js";
import {
  commandAfter,
  type FakeFtpOptions,
  type FakeFtpServer,
  type RetrContext,
} from "../support/fake-ftp-server.js";
import { useFakeFtpSessions } from "../support/fake-ftp-session.js";

// The next transfer's EPSV goes out when a download's data ends, before the server's final reply to
// RETR (ftp-passive-ahead.ts). What a user sees: the same bytes, the same verdicts, one command sent
// early; the fake server shows when each EPSV arrived.

const files = {
  "/in/a.bin": randomFile(70_000),
  "/in/b.bin": randomFile(1),
  "/in/c.bin": randomFile(300_000),
};

const sessions = useFakeFtpSessions();

/** Whether a command came after RETR before its final reply went out, one entry per RETR. */
const earlyCommands: (string | undefined)[] = [];

/**
 * RETR as a careful server does it (150, the data, FIN, then the final reply), but before replying it
 * waits up to 300 ms for the client to send something more, and records what came.
 */
function retrWatchingForEarlyCommands(finalReplies: Record<string, string> = {}) {
  return async (ctx: RetrContext): Promise<void> => {
    if (ctx.file === undefined) return ctx.reply("550 No such file");
    const data = await ctx.dataSocket();
    ctx.reply("150 Opening BINARY mode data connection");
    const { server } = sessions.current();
    const before = server.commands.length;
    await endAndWaitClosed(data, ctx.file);
    earlyCommands.push(await commandAfter(server, before, 300));
    ctx.reply(finalReplies[ctx.arg] ?? "226 Transfer complete");
  };
}

async function connect(
  retr: (ctx: RetrContext) => Promise<void>,
  pipelining?: boolean,
  timeoutMs = 5_000,
  handlers: FakeFtpOptions["handlers"] = {},
): Promise<FakeFtpServer> {
  earlyCommands.length = 0;
  const { server } = await sessions.connect(
    { files, retr, handlers },
    { timeoutMs, ...(pipelining === undefined ? {} : { pipelining }) },
  );
  return server;
}

/** Downloads one file; its bytes' hash and the final reply, or the error it failed with. */
async function download(path: string): Promise<{ hash: string; reply: string } | { error: Error }> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  try {
    const reply = await sessions
      .current()
      .source.download(remoteFilePath(path), sink, new AbortController().signal);
    return { hash: sha256(Buffer.concat(chunks)), reply: `${reply.code} ${reply.message}` };
  } catch (error) {
    return { error: error as Error };
  }
}

const epsvCount = (server: FakeFtpServer) => server.commands.filter((c) => c === "EPSV").length;

describe("passive mode asked ahead", () => {
  it("sends the next EPSV when a download's data ends, and the next download connects to the port it names", async () => {
    const server = await connect(retrWatchingForEarlyCommands());
    for (const path of ["/in/a.bin", "/in/b.bin", "/in/c.bin"]) {
      expect(await download(path)).toEqual({
        hash: sha256(files[path as keyof typeof files]),
        reply: "226 Transfer complete",
      });
    }
    expect(earlyCommands).toEqual(["EPSV", "EPSV", "EPSV"]);
    // One EPSV for the first download, then one sent ahead at the end of each: none asked twice.
    expect(epsvCount(server)).toBe(4);
    expect(server.dataConnections).toBe(3);
  });

  it("with pipelining off, sends nothing before the download's final reply", async () => {
    const server = await connect(retrWatchingForEarlyCommands(), false);
    for (const path of ["/in/a.bin", "/in/b.bin"]) {
      expect(await download(path)).toMatchObject({ hash: sha256(files[path as keyof typeof files]) });
    }
    expect(earlyCommands).toEqual([undefined, undefined]);
    expect(epsvCount(server)).toBe(2);
  });

  it("fails a download on its own final reply (451) and copies the next one through the EPSV sent ahead", async () => {
    const server = await connect(
      retrWatchingForEarlyCommands({ "/in/a.bin": "451 Local error in processing" }),
    );
    const failed = await download("/in/a.bin");
    expect(failed).toHaveProperty("error");
    expect((failed as { error: Error }).error.message).toContain("451 Local error in processing");
    expect(await download("/in/b.bin")).toEqual({
      hash: sha256(files["/in/b.bin"]),
      reply: "226 Transfer complete",
    });
    expect(earlyCommands).toEqual(["EPSV", "EPSV"]);
    expect(epsvCount(server)).toBe(3);
  });

  it("does not take a 229 that comes before the RETR's final reply as that reply (a server answering out of order)", async () => {
    // The reply to the EPSV sent ahead arrives first, then the RETR's own verdict: a failure. Read as
    // basic-ftp reads any 2xx, the 229 would have passed the transfer.
    await connect(async (ctx) => {
      const data = await ctx.dataSocket();
      ctx.reply("150 Opening BINARY mode data connection");
      const { server } = sessions.current();
      const before = server.commands.length;
      await endAndWaitClosed(data, ctx.file as Buffer);
      await commandAfter(server, before, 1_000);
      ctx.reply("229 Entering Extended Passive Mode (|||1|)");
      ctx.reply("451 Local error in processing");
    });
    const failed = await download("/in/a.bin");
    expect(failed).toHaveProperty("error");
    expect((failed as { error: Error }).error.message).toContain("451 Local error in processing");
  });

  it("bounds the wait for an EPSV sent ahead that is never answered: the next download fails with TIMEOUT", async () => {
    // The first RETR completes, then the server reads nothing more: the EPSV sent ahead stays
    // unanswered (so is the NOOP sent after a second to ask), and the next command waits for its
    // reply within --timeout, not forever.
    await connect(
      async (ctx) => {
        await retrWatchingForEarlyCommands()(ctx);
        await new Promise(() => {});
      },
      undefined,
      2_000,
    );
    expect(await download("/in/a.bin")).toEqual({
      hash: sha256(files["/in/a.bin"]),
      reply: "226 Transfer complete",
    });
    const failed = await download("/in/b.bin");
    expect(failed).toHaveProperty("error");
    expect((failed as { error: Error & { code?: string } }).error.code).toBe("TIMEOUT");
  });

  it("finds out when the server drops the EPSV it received during a transfer, and asks in turn from then on", async () => {
    // This server reads what came during a transfer and forgets it. The next download's wait for
    // the reply sends a NOOP after a second; its 200 coming first shows the EPSV was lost.
    let dropEpsv = false;
    const server = await connect(
      async (ctx) => {
        await retrWatchingForEarlyCommands()(ctx);
        if (earlyCommands.at(-1) === "EPSV") dropEpsv = true;
      },
      undefined,
      5_000,
      {
        EPSV: async (ctx) => {
          if (!dropEpsv) return ctx.fallback();
          dropEpsv = false;
        },
      },
    );
    for (const path of ["/in/a.bin", "/in/b.bin", "/in/c.bin"]) {
      expect(await download(path)).toEqual({
        hash: sha256(files[path as keyof typeof files]),
        reply: "226 Transfer complete",
      });
    }
    expect(earlyCommands).toEqual(["EPSV", undefined, undefined]);
    expect(server.commands.filter((c) => c === "NOOP")).toHaveLength(1);
  });
});
