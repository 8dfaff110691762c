import { createHash } from "node:crypto";
import { InvalidInputError } from "./errors.js";
import { isShared, offThreadSha256 } from "./part-worker.js";

/**
 * A SHA-256 fed part by part; `save` is what a copy carries from one invocation to the next. A hash
 * computed on this thread answers at once (a small file's commit waits for nothing more); one in the
 * worker thread answers with promises.
 */
export interface RunningHash {
  /** Takes the next bytes; a promise when they are read elsewhere: leave them unchanged till it settles. */
  update(bytes: Uint8Array): Promise<void> | undefined;
  /** Hex digest; call once, after the last update (no need to wait for the updates: it comes after them). */
  digest(): string | Promise<string>;
  /** The state so far (base64), or undefined for a hash that cannot be saved. */
  save(): string | undefined;
}

/**
 * node:crypto (OpenSSL): about 1.7 GB/s here, but its state cannot be saved. For copies that cannot
 * be suspended. A copy whose first bytes are a part in shared memory (a multipart upload's) is hashed
 * by a worker thread from there on; a smaller file is hashed here, where one message to the worker
 * and back would cost about what its hash does.
 */
export function fastSha256(): RunningHash {
  let chosen: Pick<RunningHash, "update" | "digest"> | undefined;
  const choose = (first: Uint8Array) => {
    if (isShared(first) && first.length >= OFF_THREAD_BYTES) return offThreadSha256();
    const hash = createHash("sha256");
    return {
      update: (bytes: Uint8Array) => {
        hash.update(bytes);
        return undefined;
      },
      digest: () => hash.digest("hex"),
    };
  };
  return {
    update: (bytes) => {
      chosen ??= choose(bytes);
      return chosen.update(bytes);
    },
    digest: () => {
      chosen ??= choose(new Uint8Array(0));
      return chosen.digest();
    },
    save: () => undefined,
  };
}

/** The CRC64NVME's threshold too: a part buffer is at least this (S3's smallest part is 5 MiB). */
const OFF_THREAD_BYTES = 1024 * 1024;

/**
 * hash-wasm's SHA-256, whose state can be saved and loaded: about 0.3 GB/s here (measured once, 256
 * MiB), so only copies that may stop and go on later in another process pay for it. It stays on the
 * main thread: the worker holds node:crypto hashes only.
 */
export async function resumableSha256(savedState?: string): Promise<RunningHash> {
  // Loaded on first use: a copy that cannot stop never pays for loading it.
  const { createSHA256 } = await import("hash-wasm");
  const hash = await createSHA256();
  hash.init();
  if (savedState !== undefined) {
    try {
      hash.load(Buffer.from(savedState, "base64"));
    } catch (error) {
      throw new InvalidInputError("the saved SHA-256 state of the copy is damaged", { cause: error });
    }
  }
  return {
    update: (bytes) => {
      hash.update(bytes);
      return undefined;
    },
    digest: () => hash.digest("hex"),
    save: () => Buffer.from(hash.save()).toString("base64"),
  };
}
