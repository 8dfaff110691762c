import { Worker } from "node:worker_threads";

/**
 * One worker thread per process for the work a copy does on every byte of its parts: the part's
 * CRC64NVME (a job an adapter defines, see offThreadJob) and the copy's SHA-256. Measured, these were
 * the largest costs of a big copy on the event loop (the CRC about a quarter of its CPU, the hash
 * about 0.5 s per GiB), time it did not spend reading the FTP socket and encrypting parts; a process
 * has a second core to spare on a machine (a Lambda gets one from 1,769 MB of memory). One thread for
 * both, not one each: a thread costs about 8 MB of RSS (measured: its own V8 heap), and the two
 * together keep it busy less than half of a copy's time.
 *
 * Bytes in shared memory (part buffers) are read where they are; other bytes are copied over. The
 * worker starts on first use and does not keep the process alive while nothing is asked of it.
 * Messages are handled in the order they were sent.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const jobs = new Map();
const hashes = new Map();
const bytesOf = ({ bytes, buffer, offset, length }) =>
  bytes !== undefined ? new Uint8Array(bytes) : new Uint8Array(buffer, offset, length);
parentPort.on("message", (message) => {
  const { id, job, hash } = message;
  if (message.source !== undefined) return jobs.set(job, (0, eval)(message.source));
  if (job !== undefined) return parentPort.postMessage({ id, answer: jobs.get(job)(bytesOf(message)) });
  if (id === undefined) return hashes.delete(hash);
  let running = hashes.get(hash);
  if (running === undefined) hashes.set(hash, (running = createHash("sha256")));
  if (!message.digest) {
    running.update(bytesOf(message));
    return parentPort.postMessage({ id });
  }
  hashes.delete(hash);
  parentPort.postMessage({ id, answer: running.digest("hex") });
});
`;

/** Bytes in shared memory: the worker reads them in place. */
export type SharedBytes = Uint8Array & { buffer: SharedArrayBuffer };

export function isShared(bytes: Uint8Array): bytes is SharedBytes {
  return bytes.buffer instanceof SharedArrayBuffer;
}

interface Pending {
  resolve(answer: string | undefined): void;
  reject(error: Error): void;
}

let worker: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 0;
let nextHash = 0;

/**
 * A function of a part's bytes run by the worker: `source` is the text of an expression that gives
 * the function, evaluated in the worker on first use (so it refers to nothing outside itself). The
 * caller leaves the bytes unchanged until the answer comes.
 */
export function offThreadJob(name: string, source: string): (bytes: SharedBytes) => Promise<string> {
  let definedOn: Worker | undefined;
  return (bytes) => {
    const running = worker ?? start();
    if (definedOn !== running) {
      running.postMessage({ job: name, source });
      definedOn = running;
    }
    const { buffer, byteOffset: offset, length } = bytes;
    return ask(running, { job: name, buffer, offset, length }) as Promise<string>;
  };
}

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
  const askHome = (message: object, transfer: ArrayBuffer[] = []) => {
    home ??= worker ?? start();
    if (home !== worker) return Promise.reject(new Error("the worker thread stopped during the copy"));
    return ask(home, { hash, ...message }, transfer);
  };
  const handle: OffThreadSha256 = {
    update: async (bytes) => {
      if (isShared(bytes)) {
        const { buffer, byteOffset: offset, length } = bytes;
        await askHome({ buffer, offset, length });
      } else {
        const copy = new Uint8Array(bytes); // only these bytes, not the whole buffer under a view
        await askHome({ bytes: copy.buffer }, [copy.buffer]);
      }
    },
    digest: async () => (await askHome({ digest: true })) as string,
  };
  forget.register(handle, hash);
  return handle;
}

function ask(running: Worker, message: object, transfer: ArrayBuffer[] = []): Promise<string | undefined> {
  const id = nextId++;
  if (pending.size === 0) running.ref();
  const answer = new Promise<string | undefined>((resolve, reject) => pending.set(id, { resolve, reject }));
  running.postMessage({ id, ...message }, transfer);
  return answer;
}

function start(): Worker {
  const started = new Worker(WORKER_SOURCE, { eval: true });
  started.unref();
  started.on("message", ({ id, answer }: { id: number; answer?: string }) => {
    pending.get(id)?.resolve(answer);
    pending.delete(id);
    if (pending.size === 0) started.unref();
  });
  // A worker that failed answers nothing more and lost the hashes it held: what it owed fails (the
  // copy with it), and the next request starts another.
  const failAll = (error: Error) => {
    if (worker === started) worker = undefined;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  started.on("error", failAll);
  started.on("exit", (code) => failAll(new Error(`the worker thread stopped (exit code ${code})`)));
  worker = started;
  return started;
}
