import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { endAndWaitClosed, endFlushed, sleep, writeFlushed } from "./sockets.js";
import type { RetrContext, RetrScript } from "./types.js";

const OPENING = "150 Opening BINARY mode data connection";
const COMPLETE = "226 Transfer complete";

interface Transfer {
  data: Socket;
  payload: Buffer;
}

/** The checks every data-sending script shares: 550 for a missing file, 425 without EPSV/PASV. */
async function begin(ctx: RetrContext): Promise<Transfer | undefined> {
  if (ctx.file === undefined) {
    ctx.reply("550 No such file");
    return undefined;
  }
  let data: Socket;
  try {
    data = await ctx.dataSocket();
  } catch {
    ctx.reply("425 Use EPSV or PASV first");
    return undefined;
  }
  return { data, payload: ctx.file.subarray(ctx.restOffset) };
}

/** begin(), then "150" as a well-behaved server sends it before the first data byte. */
async function opened(ctx: RetrContext): Promise<Transfer | undefined> {
  const t = await begin(ctx);
  if (t) ctx.reply(OPENING);
  return t;
}

function completeThen(finalReply: string): RetrScript {
  return async (ctx) => {
    const t = await opened(ctx);
    if (!t) return;
    await endAndWaitClosed(t.data, t.payload);
    ctx.reply(finalReply);
  };
}

/** Gives the client a moment to read what was flushed before the socket is torn down underneath it. */
const SETTLE_MS = 20;

export const retrScripts = {
  /** 150, all data, FIN on data, 226 once the client closed its side (550 if the file is missing). */
  normal(): RetrScript {
    return completeThen(COMPLETE);
  },

  /** 150, all data, FIN, then e.g. "426 Connection closed; transfer aborted." or "451 ..." or "500 ...". */
  fullDataThen(reply: string): RetrScript {
    return completeThen(reply);
  },

  /** 150, only the first `bytes` bytes, FIN, 226: a truncation only a size check can catch. */
  shortDataThen226(bytes: number): RetrScript {
    return async (ctx) => {
      const t = await opened(ctx);
      if (!t) return;
      await endAndWaitClosed(t.data, t.payload.subarray(0, bytes));
      ctx.reply(COMPLETE);
    };
  },

  /** 150, `bytes` bytes, RST on the data socket, then after ~50 ms "426 Connection reset". */
  resetAfter(bytes: number): RetrScript {
    return async (ctx) => {
      const t = await opened(ctx);
      if (!t) return;
      await writeFlushed(t.data, t.payload.subarray(0, bytes));
      // SO_LINGER 0 discards whatever is still queued, so let the bytes reach the client first.
      await sleep(SETTLE_MS);
      if (!t.data.destroyed) t.data.resetAndDestroy();
      await sleep(50);
      ctx.reply("426 Connection reset");
    };
  },

  /** No data at all: each line is sent as its own reply, e.g. ["150 ...", "425 Can't open data connection"]. */
  replyOnly(reply: string | string[]): RetrScript {
    const lines = typeof reply === "string" ? [reply] : reply;
    return (ctx) => {
      for (const line of lines) ctx.reply(line);
    };
  },

  /** 150, `bytes` bytes, then nothing more, ever; the data socket stays open until close(). */
  stallAfter(bytes: number): RetrScript {
    return async (ctx) => {
      const t = await opened(ctx);
      if (!t) return;
      await writeFlushed(t.data, t.payload.subarray(0, bytes));
    };
  },

  /**
   * Writes all data and FIN before 150, then 226. The client only starts reading after 150, so the
   * payload has to fit into the socket buffers (a few hundred KiB on loopback) or this deadlocks.
   */
  dataBefore150(): RetrScript {
    return async (ctx) => {
      const t = await begin(ctx);
      if (!t) return;
      await endFlushed(t.data, t.payload);
      ctx.reply(OPENING);
      ctx.reply(COMPLETE);
    };
  },

  /** 150 and 226 first, then the data in four chunks 10 ms apart, then FIN. */
  reply226BeforeData(): RetrScript {
    return async (ctx) => {
      const t = await opened(ctx);
      if (!t) return;
      ctx.reply(COMPLETE);
      const chunkSize = Math.max(1, Math.ceil(t.payload.length / 4));
      for (let offset = 0; offset < t.payload.length && !t.data.destroyed; offset += chunkSize) {
        await sleep(10);
        await writeFlushed(t.data, t.payload.subarray(offset, offset + chunkSize));
      }
      await endAndWaitClosed(t.data);
    };
  },

  /**
   * Data and FIN first, then "150" and "226" in a single write, so the client parses both replies from
   * one chunk. Same socket-buffer limit on the payload size as dataBefore150().
   */
  repliesInOnePacket(): RetrScript {
    return async (ctx) => {
      const t = await begin(ctx);
      if (!t) return;
      await endFlushed(t.data, t.payload);
      ctx.writeRaw(`${OPENING}${ctx.lineEnding}${COMPLETE}${ctx.lineEnding}`);
    };
  },

  /** 150, `bytes` bytes, then destroys the CONTROL socket while the data socket stays open. */
  dropControlDuringData(bytes: number): RetrScript {
    return async (ctx) => {
      const t = await opened(ctx);
      if (!t) return;
      await writeFlushed(t.data, t.payload.subarray(0, bytes));
      await sleep(SETTLE_MS);
      ctx.control.destroy();
    };
  },

  /** 150, data in `chunkSize` chunks with `delayMs` between them, FIN, 226 (426 if the client hung up). */
  slow(chunkSize: number, delayMs: number): RetrScript {
    if (!(chunkSize >= 1)) throw new RangeError(`chunkSize must be >= 1, got ${chunkSize}`);
    return async (ctx) => {
      const t = await opened(ctx);
      if (!t) return;
      for (let offset = 0; offset < t.payload.length; offset += chunkSize) {
        if (offset > 0) await sleep(delayMs);
        if (t.data.destroyed) return ctx.reply("426 Connection closed; transfer aborted.");
        await writeFlushed(t.data, t.payload.subarray(offset, offset + chunkSize));
      }
      await endAndWaitClosed(t.data);
      ctx.reply(COMPLETE);
    };
  },

  /**
   * A file still being written: the first RETR of `path` serves what is there (150, data, 226), then
   * the writer appends `bytes` to `files[path]`, so SIZE answers anew after it; later RETRs serve the
   * grown file whole, as normal() does every other file.
   */
  growsAfterFirstRetr(files: Record<string, Buffer>, path: string, bytes: number): RetrScript {
    let grown = false;
    return async (ctx) => {
      await completeThen(COMPLETE)(ctx);
      if (ctx.arg !== path || grown || ctx.file === undefined) return;
      grown = true;
      files[path] = Buffer.concat([ctx.file, randomBytes(bytes)]);
    };
  },

  /**
   * A file written to after it was listed: the writer appends `bytes` to `files[path]` just before its
   * first RETR, which serves the grown file (more than the listing announced); later RETRs serve it
   * as it is now, as normal() does every other file.
   */
  growsBeforeFirstRetr(files: Record<string, Buffer>, path: string, bytes: number): RetrScript {
    let grown = false;
    return async (ctx) => {
      if (ctx.arg === path && !grown && ctx.file !== undefined) {
        grown = true;
        files[path] = Buffer.concat([ctx.file, randomBytes(bytes)]);
        return completeThen(COMPLETE)({ ...ctx, file: files[path] });
      }
      return completeThen(COMPLETE)(ctx);
    };
  },

  /** Like normal() but the final reply is "250 Requested file action okay, completed." */
  reply250(): RetrScript {
    return completeThen("250 Requested file action okay, completed.");
  },
};
