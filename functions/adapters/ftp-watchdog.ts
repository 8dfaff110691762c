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
  /** Commands the server answers only after work of its own (a file's digest), with their reply bound. */
  slowReplies?: { verbs: readonly string[]; timeoutMs: number };
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
  const watch = new TaskWatch(client, command, limits);
  return () => watch.stop();
}

/** The two bounds of one task, checked every `intervalMs`. */
class TaskWatch {
  private readonly intervalMs: number;
  /** The verb only: the argument of PASS is the password. */
  private readonly what: string | undefined;
  private readonly windowChecks: number;
  private readonly timer: NodeJS.Timeout;
  private readonly replyTimeoutMs: number;
  private waitedMs = 0;
  private lastBytes = 0;
  private heldBytes = 0;
  private samples: number[] = [];
  private socket: Socket | undefined;

  constructor(
    private readonly client: Client,
    command: string | undefined,
    private readonly limits: WatchLimits,
  ) {
    const { timeoutMs, windowMs, slowReplies } = limits;
    this.intervalMs = Math.max(1, Math.min(Math.floor(timeoutMs / minChecksPerTimeout), maxCheckIntervalMs));
    this.what = command === undefined ? "the greeting" : command.split(" ")[0];
    const slow = this.what !== undefined && slowReplies?.verbs.includes(this.what.toUpperCase());
    this.replyTimeoutMs = slow ? (slowReplies?.timeoutMs ?? timeoutMs) : timeoutMs;
    this.windowChecks = Math.max(1, Math.round(windowMs / this.intervalMs));
    this.timer = setInterval(() => this.check(), this.intervalMs);
    // Never keeps the process alive on its own.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private fail(message: string): void {
    this.stop();
    this.client.ftp.closeWithError(new TransferTimeoutError(`${this.limits.endpoint}: ${message}`));
  }

  private check(): void {
    const data = this.client.ftp.dataSocket as Socket | undefined;
    if (data !== this.socket) {
      this.socket = data;
      this.lastBytes = 0;
      this.heldBytes = 0;
      this.samples = [];
    }
    const delivering =
      data !== undefined && !data.destroyed && !data.readableEnded && (data.bytesRead > 0 || data.isPaused());
    if (delivering) this.checkRate(data);
    else this.checkReply();
  }

  /** Waiting for a reply: partial lines do not count as one. */
  private checkReply(): void {
    const timeoutMs = this.replyTimeoutMs;
    this.waitedMs += this.intervalMs;
    if (this.waitedMs >= timeoutMs) {
      this.fail(`no complete reply to ${this.what} within ${timeoutMs / 1000} s`);
    }
  }

  private checkRate(data: Socket): void {
    const { minBytesPerSecond } = this.limits;
    // basic-ftp's data watchdog judges stalls; the reply bound starts again after the data.
    this.waitedMs = 0;
    const bytes = data.bytesRead;
    const delta = bytes - this.lastBytes;
    this.lastBytes = bytes;
    if (minBytesPerSecond <= 0) return;
    if (data.isPaused()) {
      // We hold the transfer up (S3 is slower): neither the time nor the bytes count against the server.
      this.heldBytes += delta;
      return;
    }
    this.samples.push(delta + this.heldBytes);
    this.heldBytes = 0;
    if (this.samples.length > this.windowChecks) this.samples.shift();
    if (this.samples.length < this.windowChecks) return;
    const received = this.samples.reduce((sum, n) => sum + n, 0);
    const seconds = (this.windowChecks * this.intervalMs) / 1000;
    if (received < minBytesPerSecond * seconds) {
      this.fail(
        `the data connection (${this.what}) delivered ${received} bytes in ${seconds} s (${Math.round(received / seconds)} B/s), below the minimum rate of ${minBytesPerSecond} B/s (${this.limits.rateOption}; 0 turns the check off)`,
      );
    }
  }
}
