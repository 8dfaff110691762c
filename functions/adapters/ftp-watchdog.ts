import type { Socket } from "node:net";
import type { Client } from "basic-ftp";
import { TransferTimeoutError } from "../core/index.js";

/**
 * Bounds what basic-ftp's own timeouts cannot. Its control-socket timeout is an inactivity timer
 * that any byte resets, so a server sending "220-" lines (or a multi-line reply that never ends)
 * every few seconds holds a session forever; its data watchdog likewise accepts a byte every few
 * seconds as progress. This watches every task (a command and its replies) of one client:
 *
 * - a reply bound: while no data connection is delivering, the task's final reply must arrive
 *   within `timeoutMs`, however many partial lines come meanwhile;
 * - a minimum data rate: while a data connection delivers, fewer than `minBytesPerSecond` over
 *   `windowMs` stops it. Only time spent waiting for the server counts (not time our own
 *   backpressure holds the socket paused, as basic-ftp's watchdog does).
 *
 * Either ends the session with a TransferTimeoutError, which the running task rejects with.
 */
export interface WatchLimits {
  timeoutMs: number;
  /** 0 turns the rate check off. */
  minBytesPerSecond: number;
  windowMs: number;
  /** Names the server in messages, e.g. "ftp://u@host:21". */
  endpoint: string;
  /** Whose option sets the rate, for the message, e.g. "--min-rate" or "minBytesPerSecond". */
  rateOption: string;
}

/** Checks between two decisions at most (as basic-ftp's watchdog), so a busy event loop is no stall. */
const maxCheckIntervalMs = 500;
const minChecksPerTimeout = 4;

type Handle = Client["ftp"]["handle"];

export function watchReplies(client: Client, limits: WatchLimits): void {
  const ftp = client.ftp;
  const handle: Handle = ftp.handle.bind(ftp);
  ftp.handle = ((command, responseHandler) => {
    const stop = watchTask(client, command, limits);
    const task = handle(command, responseHandler);
    task.then(stop, stop);
    return task;
  }) as Handle;
}

function watchTask(client: Client, command: string | undefined, limits: WatchLimits): () => void {
  const { timeoutMs, minBytesPerSecond, windowMs } = limits;
  const intervalMs = Math.max(1, Math.min(Math.floor(timeoutMs / minChecksPerTimeout), maxCheckIntervalMs));
  // The verb only: the argument of PASS is the password.
  const what = command === undefined ? "the greeting" : command.split(" ")[0];
  const windowChecks = Math.max(1, Math.round(windowMs / intervalMs));
  let waitedMs = 0;
  let lastBytes = 0;
  let heldBytes = 0;
  let samples: number[] = [];
  let socket: Socket | undefined;

  const fail = (message: string) => {
    clearInterval(timer);
    client.ftp.closeWithError(new TransferTimeoutError(`${limits.endpoint}: ${message}`));
  };

  const timer = setInterval(() => {
    const data = client.ftp.dataSocket as Socket | undefined;
    if (data !== socket) {
      socket = data;
      lastBytes = 0;
      heldBytes = 0;
      samples = [];
    }
    const delivering =
      data !== undefined && !data.destroyed && !data.readableEnded && (data.bytesRead > 0 || data.isPaused());
    if (!delivering) {
      // Waiting for a reply: partial lines do not count as one.
      waitedMs += intervalMs;
      if (waitedMs >= timeoutMs) {
        fail(`no complete reply to ${what} within ${timeoutMs / 1000} s`);
      }
      return;
    }
    // basic-ftp's data watchdog judges stalls; the reply bound starts again after the data.
    waitedMs = 0;
    const bytes = data.bytesRead;
    const delta = bytes - lastBytes;
    lastBytes = bytes;
    if (minBytesPerSecond <= 0) return;
    if (data.isPaused()) {
      // We hold the transfer up (S3 is slower): neither the time nor the bytes count against the server.
      heldBytes += delta;
      return;
    }
    samples.push(delta + heldBytes);
    heldBytes = 0;
    if (samples.length > windowChecks) samples.shift();
    if (samples.length < windowChecks) return;
    const received = samples.reduce((sum, n) => sum + n, 0);
    const seconds = (windowChecks * intervalMs) / 1000;
    if (received < minBytesPerSecond * seconds) {
      fail(
        `the data connection (${what}) delivered ${received} bytes in ${seconds} s (${Math.round(received / seconds)} B/s), below the minimum rate of ${minBytesPerSecond} B/s (${limits.rateOption}; 0 turns the check off)`,
      );
    }
  }, intervalMs);
  // Never keeps the process alive on its own.
  timer.unref();
  return () => clearInterval(timer);
}
