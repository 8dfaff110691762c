import { Worker } from "node:worker_threads";
import { makeCrc64nvmeOf } from "./crc64nvme-slicing.js";

/**
 * Parts' CRC64NVMEs computed by a worker thread, so that the main thread goes on reading the FTP
 * socket and encrypting the parts in flight meanwhile: measured, the CRC was the largest single cost
 * of a big copy on the event loop (about a quarter of its CPU), and a process has a second core to
 * spare on a machine (a Lambda gets one from 1,769 MB of memory). The bytes are not copied: the part
 * buffers are SharedArrayBuffers, which the worker reads where they are.
 *
 * One worker per process, started on first use (a copy of a file of one part, whose buffer is not
 * shared, never starts it); it does not keep the process alive while nothing is asked of it.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const crc64nvmeOf = (${makeCrc64nvmeOf.toString()})();
parentPort.on("message", ({ id, buffer, offset, length }) => {
  parentPort.postMessage({ id, crc: crc64nvmeOf(new Uint8Array(buffer, offset, length)) });
});
`;

/** Bytes in shared memory: the worker reads them in place. */
export type SharedBytes = Uint8Array & { buffer: SharedArrayBuffer };

export function isShared(bytes: Uint8Array): bytes is SharedBytes {
  return bytes.buffer instanceof SharedArrayBuffer;
}

interface Pending {
  resolve(crc: string): void;
  reject(error: Error): void;
}

let worker: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 0;

/**
 * The CRC64NVME of bytes the caller leaves unchanged until it resolves. Requests are answered in the
 * order they were made.
 */
export function crc64nvmeOffThread(bytes: SharedBytes): Promise<string> {
  const running = worker ?? start();
  const id = nextId++;
  if (pending.size === 0) running.ref();
  const answer = new Promise<string>((resolve, reject) => pending.set(id, { resolve, reject }));
  running.postMessage({ id, buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.length });
  return answer;
}

function start(): Worker {
  const started = new Worker(WORKER_SOURCE, { eval: true });
  started.unref();
  started.on("message", ({ id, crc }: { id: number; crc: string }) => {
    pending.get(id)?.resolve(crc);
    pending.delete(id);
    if (pending.size === 0) started.unref();
  });
  // A worker that failed answers nothing more: what it owed fails (the upload with it), and the next
  // request starts another.
  const failAll = (error: Error) => {
    if (worker === started) worker = undefined;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  started.on("error", failAll);
  started.on("exit", (code) => failAll(new Error(`the CRC64NVME worker stopped (exit code ${code})`)));
  worker = started;
  return started;
}
