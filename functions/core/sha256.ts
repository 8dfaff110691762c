import { createHash } from "node:crypto";
import { InvalidInputError } from "./errors.js";

/** A SHA-256 fed part by part; `save` is what a copy carries from one invocation to the next. */
export interface RunningHash {
  update(bytes: Uint8Array): void;
  /** Hex digest; call once, at the end. */
  digest(): string;
  /** The state so far (base64), or undefined for a hash that cannot be saved. */
  save(): string | undefined;
}

/**
 * node:crypto (OpenSSL): about 1.7 GB/s here, but its state cannot be saved. For copies that cannot
 * be suspended.
 */
export function fastSha256(): RunningHash {
  const hash = createHash("sha256");
  return {
    update: (bytes) => hash.update(bytes),
    digest: () => hash.digest("hex"),
    save: () => undefined,
  };
}

/**
 * hash-wasm's SHA-256, whose state can be saved and loaded: about 0.3 GB/s here (measured once, 256
 * MiB), so only copies that may stop and go on later in another process pay for it.
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
    },
    digest: () => hash.digest("hex"),
    save: () => Buffer.from(hash.save()).toString("base64"),
  };
}
