import type { Socket } from "node:net";
import { Writable } from "node:stream";
import { type Client, FTPError, type FTPResponse } from "basic-ftp";
// basic-ftp's own stall detection for a data connection (the version is pinned): the one it gives
// its downloads, which tells a stalled server from our backpressure.
import { TransferWatchdog } from "basic-ftp/dist/TransferWatchdog.js";

/** How a cut read ended: what the adapter turns into a RangeReadEnd or a SizeMismatchError. */
export interface RangeRead {
  /** Bytes delivered into the destination: the range's length, or fewer when the data ended early. */
  bytes: number;
  /** True when we closed the data connection after the range's last byte. */
  cut: boolean;
  /** The server's final reply to the transfer; null when none came within `cutReplyMs` of the cut. */
  reply: FTPResponse | null;
}

export interface RangeReadOptions {
  /** basic-ftp's data-connection stall bound (the session's timeoutMs). */
  timeoutMs: number;
  /** How long the final reply of a cut transfer is waited for; the bytes are ours either way. */
  cutReplyMs: number;
}

/**
 * A few seconds: a server that answers a cut answers at once (vsftpd, proftpd and pyftpdlib 426 within
 * milliseconds); pure-ftpd answers nothing at all, so every range it serves waits this long.
 */
export const DEFAULT_CUT_REPLY_MS = 3_000;

/**
 * REST start (not for a range from byte 0) and RETR, then exactly `length` bytes into `destination`,
 * after which we close the data connection ourselves: no FTP command stops a RETR at a byte, and
 * ABOR's replies differ too much between servers to build on. The server then answers the transfer
 * it sees broken off (426, 451), or 226 when it had sent everything already, or nothing at all; none
 * of these fails the range, whose bytes we counted. Its answer is waited for at most `cutReplyMs`,
 * and whatever it says later is never read: the session is closed by the caller, not reused.
 *
 * Rejects with basic-ftp's error for anything before the cut (a refused REST or RETR, a broken
 * connection, a stall); a data connection that ends before `length` bytes resolves with the bytes
 * it gave once the server's reply is in, for the caller to refuse. The destination is ended once
 * the bytes are in, as basic-ftp ends a download's.
 */
export async function readRange(
  client: Client,
  wirePath: string,
  destination: Writable,
  range: { start: number; length: number },
  options: RangeReadOptions,
): Promise<RangeRead> {
  const ftp = client.ftp;
  await client.prepareTransfer(ftp);
  const watchdog = new TransferWatchdog();
  let bytes = 0;
  let cut = false;
  let dataDone = false;
  let reply: FTPResponse | undefined;
  let cutTimer: NodeJS.Timeout | undefined;
  let started = false;
  const retr = `RETR ${wirePath}`;
  try {
    return await ftp.handle(range.start > 0 ? `REST ${range.start}` : retr, (res, task) => {
      const settle = () => {
        if (dataDone && reply !== undefined) task.resolve({ bytes, cut, reply });
      };
      const endOfData = () => {
        watchdog.stop();
        dataDone = true;
        // The control connection times the wait for the final reply again (as basic-ftp does).
        ftp.socket.setTimeout(ftp.timeout);
        if (cut && reply === undefined) {
          cutTimer = setTimeout(() => task.resolve({ bytes, cut, reply: null }), options.cutReplyMs);
          cutTimer.unref();
        }
        settle();
      };
      if (res instanceof Error) {
        // After the cut, the server's 426/451 (or a control connection it closed) ends the transfer we
        // broke off: the range is complete.
        if (cut) {
          if (res instanceof FTPError) reply = { code: res.code, message: res.message };
          task.resolve({ bytes, cut, reply: reply ?? null });
          return;
        }
        watchdog.stop();
        task.reject(res);
        return;
      }
      if (res.code === 350) {
        ftp.send(retr);
        return;
      }
      if (res.code === 150 || res.code === 125) {
        if (started) return; // only the first preliminary reply starts the transfer (as basic-ftp)
        started = true;
        const socket = ftp.dataSocket as Socket | undefined;
        if (socket === undefined) {
          task.reject(new Error("the server announced the transfer but no data connection is open"));
          return;
        }
        // The control connection is silent while the data flows: only the data connection is timed.
        ftp.socket.setTimeout(0);
        socket.setTimeout(0);
        watchdog.start(socket, "download", options.timeoutMs, () =>
          ftp.closeWithError(new Error("Timeout (data socket)")),
        );
        const taker = rangeTaker(destination, range.length, {
          onBytes: (total) => {
            bytes = total;
          },
          onLastByte: () => {
            cut = true;
            socket.unpipe(taker);
            ftp.dataSocket = undefined; // closes it: the server sees the transfer broken off
            endOfData();
          },
        });
        // A destination that closes under us ends the session, as basic-ftp does for its downloads.
        taker.once("error", (error) => ftp.closeWithError(error));
        socket.pipe(taker);
        taker.once("finish", () => {
          if (!cut) endOfData(); // the server ended the data before the range's last byte
        });
        return;
      }
      if (res.code >= 200 && res.code < 300) {
        reply = res;
        settle();
      }
    });
  } finally {
    watchdog.stop();
    clearTimeout(cutTimer);
    destination.end();
  }
}

/**
 * The stream the data connection is piped into: passes the first `length` bytes to `destination`
 * (its backpressure reaches the socket) and calls `onLastByte` once the last of them is handed on.
 */
function rangeTaker(
  destination: Writable,
  length: number,
  on: { onBytes: (total: number) => void; onLastByte: () => void },
): Writable {
  let taken = 0;
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (taken >= length) {
        callback();
        return;
      }
      const piece = chunk.length > length - taken ? chunk.subarray(0, length - taken) : chunk;
      taken += piece.length;
      on.onBytes(taken);
      const accepted = destination.write(piece);
      if (taken === length) {
        // The bytes are in the destination's buffer: cut now, ending it flushes them.
        on.onLastByte();
        callback();
        return;
      }
      if (accepted) {
        callback();
        return;
      }
      const onDrain = () => {
        destination.off("close", onClose);
        callback();
      };
      const onClose = () => {
        destination.off("drain", onDrain);
        callback(new Error("the destination stopped accepting data (data socket)"));
      };
      destination.once("drain", onDrain);
      destination.once("close", onClose);
    },
  });
}
