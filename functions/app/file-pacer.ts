import type { FileSource } from "../core/index.js";
import { wrapSource } from "./wrapped-source.js";

/**
 * Spaces the files of one connection: each RETR starts at least `intervalMs` after the one before,
 * across every session of this process (servers that ban fast clients count per address, not per
 * session). Turns are handed out in order of asking, so sessions share the pace fairly.
 */
export class FilePacer {
  private nextAt = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves at this file's turn; rejects with the signal's reason if it fires first. */
  turn(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const at = Math.max(this.now(), this.nextAt);
    this.nextAt = at + this.intervalMs;
    const waitMs = at - this.now();
    if (waitMs <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const stop = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", stop);
        resolve();
      }, waitMs);
      signal.addEventListener("abort", stop, { once: true });
    });
  }
}

/** The session, its downloads waiting for their turn of the pacer. */
export function pacedSource(source: FileSource, pacer: FilePacer): FileSource {
  const readRange = source.downloadRange?.bind(source);
  return wrapSource(source, {
    download: async (path, destination, signal, startAt) => {
      await pacer.turn(signal);
      return source.download(path, destination, signal, startAt);
    },
    // A range's RETR is a start like any other: the server counts it the same.
    ...(readRange === undefined
      ? {}
      : {
          downloadRange: async (path, destination, signal, start, end) => {
            await pacer.turn(signal);
            return readRange(path, destination, signal, start, end);
          },
        }),
  });
}
