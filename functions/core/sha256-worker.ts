import { Worker } from "node:worker_threads";

/**
 * SHA-256s computed by a worker thread, a sibling of the parts' CRC64NVME worker and for the same
 * reason: measured, the hash cost the main thread about 0.5 s per GiB, time it did not spend reading
 * the FTP socket and encrypting parts. Each hash lives in the worker (node:crypto, whose state cannot
 * leave the thread it is in); the main thread holds a number. Bytes in shared memory (part buffers)
 * are read where they are; other bytes are copied over.
 *
 * One worker per process, started on first use; it does not keep the process alive while nothing is
 * asked of it. Messages are handled in the order they were sent, so a digest asked after updates
 * covers them all.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const hashes = new Map();
parentPort.on("message", ({ id, hash, bytes, buffer, offset, length }) => {
  if (id === undefined) return hashes.delete(hash);
  let running = hashes.get(hash);
  if (running === undefined) hashes.set(hash, (running = createHash("sha256")));
  if (bytes !== undefined) running.update(new Uint8Array(bytes));
  else if (buffer !== undefined) running.update(new Uint8Array(buffer, offset, length));
  else {
    hashes.delete(hash);
    return parentPort.postMessage({ id, digest: running.digest("hex") });
  }
  parentPort.postMessage({ id });
});
`;

interface Pending {
  resolve(digest: string | undefined): void;
  reject(error: Error): void;
}

let worker: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 0;
let nextHash = 0;

/** A hash the worker forgets when its owner does (a copy that failed never asks for its digest). */
const forget = new FinalizationRegistry<number>((hash) => worker?.postMessage({ hash }));

/** A SHA-256 kept in the worker: fed in order, each update resolving once its bytes are read. */
export interface OffThreadSha256 {
  update(bytes: Uint8Array): Promise<void>;
  /** Hex digest; call once, after the last update. */
  digest(): Promise<string>;
}

export function offThreadSha256(): OffThreadSha256 {
  const hash = nextHash++;
  let home: Worker | undefined;
  // Every message of a hash goes to the worker that holds it: one that stopped took the hash with it,
  // and a fresh worker would silently start the hash over.
  const ask = (message: object, transfer: ArrayBuffer[] = []) => {
    home ??= worker ?? start();
    if (home !== worker) return Promise.reject(new Error("the SHA-256 worker stopped during the copy"));
    return askWorker(home, { hash, ...message }, transfer);
  };
  const handle: OffThreadSha256 = {
    update: async (bytes) => {
      if (bytes.buffer instanceof SharedArrayBuffer) {
        const { buffer, byteOffset: offset, length } = bytes;
        await ask({ buffer, offset, length });
      } else {
        const copy = new Uint8Array(bytes); // only these bytes, not the whole buffer under a view
        await ask({ bytes: copy.buffer }, [copy.buffer]);
      }
    },
    digest: async () => (await ask({})) as string,
  };
  forget.register(handle, hash);
  return handle;
}

function askWorker(running: Worker, message: object, transfer: ArrayBuffer[]): Promise<string | undefined> {
  const id = nextId++;
  if (pending.size === 0) running.ref();
  const answer = new Promise<string | undefined>((resolve, reject) => pending.set(id, { resolve, reject }));
  running.postMessage({ id, ...message }, transfer);
  return answer;
}

function start(): Worker {
  const started = new Worker(WORKER_SOURCE, { eval: true });
  started.unref();
  started.on("message", ({ id, digest }: { id: number; digest?: string }) => {
    pending.get(id)?.resolve(digest);
    pending.delete(id);
    if (pending.size === 0) started.unref();
  });
  // A worker that failed lost every hash it held: what it owed fails (the copy with it), and the next
  // hash starts another worker.
  const failAll = (error: Error) => {
    if (worker === started) worker = undefined;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  started.on("error", failAll);
  started.on("exit", (code) => failAll(new Error(`the SHA-256 worker stopped (exit code ${code})`)));
  worker = started;
  return started;
}
