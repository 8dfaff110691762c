import { Writable } from "node:stream";
import { RestartRefusedError, throwIfAborted } from "./errors.js";
import type { FileSource } from "./ports.js";
import type { RemoteFilePath } from "./values.js";

/** Bytes asked for from the end of the file: a few, so the probe costs one round of REST and RETR. */
export const REST_PROBE_BYTES = 16;

/**
 * Whether the server starts a RETR where REST says, asked once before a file is read by ranges: its
 * last REST_PROBE_BYTES bytes (REST size - 16, RETR). A server that honours REST sends those and
 * ends the transfer (226); one that takes REST and sends from byte 0 sends more, and is stopped at
 * the first byte too many. Nothing else would see it: a range leg cuts its read after its length,
 * and the CRC64NVME S3 checks is computed over the bytes as received, wrong ones included.
 *
 * True when it does, or why not (the session is then in no state for another command: close it).
 * A stop of the signal, or a failure of the session itself, rejects.
 */
export async function restHonoured(
  source: FileSource,
  path: RemoteFilePath,
  size: number,
  signal: AbortSignal,
): Promise<true | string> {
  const offset = size - REST_PROBE_BYTES;
  let received = 0;
  const counter = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      callback(received > REST_PROBE_BYTES ? new Error("more bytes than asked for") : null);
    },
  });
  // The error only stops the transfer; the count says what happened.
  counter.on("error", () => {});
  try {
    await source.download(path, counter, signal, offset);
  } catch (error) {
    throwIfAborted(signal);
    if (error instanceof RestartRefusedError) return `the server refused REST ${offset}`;
    if (received <= REST_PROBE_BYTES) throw error;
  }
  if (received === REST_PROBE_BYTES) return true;
  return received > REST_PROBE_BYTES
    ? `the server sent more than the ${REST_PROBE_BYTES} bytes after REST ${offset}: it ignores REST and sends from byte 0`
    : `the server sent ${received} of the ${REST_PROBE_BYTES} bytes after REST ${offset}`;
}
