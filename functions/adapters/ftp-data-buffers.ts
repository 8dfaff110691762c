import { type OnReadOpts, Socket, type SocketConstructorOpts } from "node:net";
import type { CopyingDestination } from "../core/index.js";

/** One read of the data socket at most: four of Node's own 64 KiB reads, a quarter of the syscalls. */
const READ_BYTES = 256 * 1024;
/** Reads handed to the destination and not yet released, at most: then the socket pauses. */
const MAX_IN_FLIGHT = 3;

/**
 * A data socket that reads into a few buffers of its own (Node's `onread`) and writes each read into
 * `destination`, which says when it has copied it (core's CopyingDestination): the buffer is then
 * read into again.
 *
 * Why: a socket read the ordinary way allocates a fresh 64 KiB buffer for every read, 16,384 per GiB,
 * freed only when the garbage collector gets to them; measured, tens of MB of them waited at a time,
 * a third of a 1 GiB copy's peak RSS, and the fresh pages cost page faults. Here the memory is
 * (MAX_IN_FLIGHT + 1) x READ_BYTES, whatever the file's size.
 *
 * Backpressure as a piped socket's: paused (isPaused, which both watchdogs read as "we hold the
 * transfer up") while MAX_IN_FLIGHT reads wait for the destination, resumed when one is released.
 * The socket's end still flows through basic-ftp's pipeline, which ends the destination after the
 * writes made here. Plain sockets only: a TLS socket reads its own raw socket.
 */
export function socketReadingInto(destination: CopyingDestination): Socket {
  let inFlight = 0;
  let heldBack = false;
  /** The buffer the socket holds for its next read, not yet read into. */
  let next: Buffer | undefined;
  const onread: OnReadOpts = {
    // Asked before the first read and after each one: the buffer the next read goes into. It is never
    // one in flight, so a download takes at most MAX_IN_FLIGHT + 1 of them.
    buffer: () => {
      next = idle.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES);
      return next;
    },
    callback: (bytes, buffer) => {
      next = undefined;
      inFlight += 1;
      destination.writeThenRelease((buffer as Buffer).subarray(0, bytes), () => {
        inFlight -= 1;
        keepForNext(buffer as Buffer);
        if (heldBack) {
          heldBack = false;
          socket.resume();
        }
      });
      if (inFlight >= MAX_IN_FLIGHT) {
        heldBack = true;
        socket.pause();
      }
      return true;
    },
  };
  // Node's Socket takes `onread` as net.connect does, though @types/node lists it for connect only.
  const socket = new Socket({ onread } as SocketConstructorOpts);
  // Closed, the socket reads no more: the buffer it held for a next read goes back too.
  socket.once("close", () => {
    if (next !== undefined) keepForNext(next);
    next = undefined;
  });
  return socket;
}

/**
 * Buffers no download holds, for the next downloads: a mirror of small files would otherwise take
 * fresh ones for every file (measured: +1 ms of CPU a 16 KiB file; V8 counts them as external memory,
 * which brings its collections sooner). At most IDLE_MAX are kept: 16 sessions' worth of one each.
 */
const idle: Buffer[] = [];
const IDLE_MAX = 16;

function keepForNext(buffer: Buffer): void {
  if (idle.length < IDLE_MAX) idle.push(buffer);
}
