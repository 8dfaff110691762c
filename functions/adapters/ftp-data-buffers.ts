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
  const free: Buffer[] = [];
  let inFlight = 0;
  let heldBack = false;
  const onread: OnReadOpts = {
    // Asked before the first read and after each one: the buffer the next read goes into. It is never
    // one in flight, so at most MAX_IN_FLIGHT + 1 are ever allocated.
    buffer: () => free.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES),
    callback: (bytes, buffer) => {
      inFlight += 1;
      destination.writeThenRelease((buffer as Buffer).subarray(0, bytes), () => {
        inFlight -= 1;
        free.push(buffer as Buffer);
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
  return socket;
}
