/** One progress report: what a person (or a log reader) needs to judge a running transfer. */
export interface ProgressSnapshot {
  /** Bytes received from the FTP server so far (for a resumed copy: since the copy began, all legs). */
  bytes: number;
  /** The size the server announced (SIZE), or null when it gave none. */
  totalBytes: number | null;
  /** bytes / totalBytes in percent with one decimal, or null when the total is unknown. */
  percent: number | null;
  /** Average rate since the transfer (this leg of it) started. */
  bytesPerSecond: number;
  /** Seconds left at the average rate, or null when the total or the rate is unknown. */
  etaSeconds: number | null;
  elapsedMs: number;
  /** True on the last report of a transfer. */
  done: boolean;
}

export interface ProgressReporterOptions {
  totalBytes: number | null;
  /** Bytes already copied by earlier legs of a resumed copy: counted in `bytes`, not in the rate. */
  startBytes?: number;
  /** Minimum time between two reports, except the first and the last. */
  intervalMs: number;
  emit: (snapshot: ProgressSnapshot) => void;
  /** Milliseconds clock; injected so tests control time. */
  now?: () => number;
}

/**
 * Turns a stream of byte counts into throttled reports: one at start, at most one per interval while
 * bytes arrive, and one at the end, whatever the chunk sizes.
 */
export class ProgressReporter {
  private readonly now: () => number;
  private readonly startedAt: number;
  private lastEmitAt: number;
  private finished = false;

  constructor(private readonly options: ProgressReporterOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.lastEmitAt = this.startedAt;
    options.emit(this.snapshot(options.startBytes ?? 0, false));
  }

  update(bytes: number): void {
    if (this.finished) return;
    const at = this.now();
    if (at - this.lastEmitAt < this.options.intervalMs) return;
    this.lastEmitAt = at;
    this.options.emit(this.snapshot(bytes, false, at));
  }

  finish(bytes: number): void {
    if (this.finished) return;
    this.finished = true;
    this.options.emit(this.snapshot(bytes, true));
  }

  private snapshot(bytes: number, done: boolean, at = this.now()): ProgressSnapshot {
    const { totalBytes } = this.options;
    const elapsedMs = Math.max(0, at - this.startedAt);
    const legBytes = bytes - (this.options.startBytes ?? 0);
    const bytesPerSecond = elapsedMs > 0 ? Math.round((legBytes * 1000) / elapsedMs) : 0;
    const percent =
      totalBytes === null ? null : totalBytes === 0 ? 100 : Math.round((bytes / totalBytes) * 1000) / 10;
    const remaining = totalBytes === null ? null : Math.max(0, totalBytes - bytes);
    const etaSeconds =
      remaining === null
        ? null
        : remaining === 0
          ? 0
          : bytesPerSecond > 0
            ? Math.ceil(remaining / bytesPerSecond)
            : null;
    return { bytes, totalBytes, percent, bytesPerSecond, etaSeconds, elapsedMs, done };
  }
}
