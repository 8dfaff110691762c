import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { ChecksumMismatchError } from "./errors.js";
import type { RunningHash } from "./sha256.js";

/** A digest an FTP server computes of a whole file (draft-bryan-ftp-hash, or the older X commands). */
export type DigestAlgorithm = "sha-256" | "sha-1" | "md5" | "crc32";

/** Strongest first: the order a digest is chosen in. */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ["sha-256", "sha-1", "md5", "crc32"];

/** The server's digest of the file, parsed once from its reply: `value` is lower-case hex. */
export interface SourceDigest {
  algorithm: DigestAlgorithm;
  value: string;
}

/**
 * Whether the server's digest is asked for after the transfer: "auto" when it offers one, "off"
 * never, "require" fails a copy (NO_SERVER_DIGEST) when it offers none this copy can use.
 */
export type ServerDigestMode = "auto" | "off" | "require";

/** What a copy asks the server for, and the digest of the same bytes it computes on the stream. */
export interface DigestPlan {
  algorithm: DigestAlgorithm;
  /** The stream's digest when it is not the SHA-256 the copy computes anyway. */
  extra: ExtraDigest | null;
}

/** A digest of the streamed bytes other than SHA-256: fed with the same parts, read once at the end. */
export interface ExtraDigest {
  update(bytes: Uint8Array): void;
  hex(): string;
}

/**
 * The strongest digest the server offers that this copy can compare, or why there is none. A leg
 * that goes on from an offset has streamed only the rest of the file: only the SHA-256, whose state
 * crossed the legs, covers the whole file (MD5 and SHA-1 states are not carried, to keep the resume
 * point small and the cost where it is needed).
 */
export function chooseServerDigest(
  offered: readonly DigestAlgorithm[],
  resumedFrom: number,
): DigestPlan | { why: string } {
  const best = DIGEST_ALGORITHMS.find((algorithm) => offered.includes(algorithm));
  if (best === undefined)
    return {
      why: "the server offers no file digest (FEAT lists neither HASH nor XSHA256, XSHA1, XMD5, XCRC)",
    };
  if (best === "sha-256") return { algorithm: best, extra: null };
  if (resumedFrom > 0) {
    return {
      why: `the copy went on from byte ${resumedFrom} and the server offers ${offered.join(", ")}: only a SHA-256 covers the earlier legs' bytes`,
    };
  }
  return { algorithm: best, extra: extraDigest(best) };
}

function extraDigest(algorithm: Exclude<DigestAlgorithm, "sha-256">): ExtraDigest {
  if (algorithm === "crc32") {
    let value = 0;
    return {
      update: (bytes) => {
        value = crc32(bytes, value);
      },
      hex: () => value.toString(16).padStart(8, "0"),
    };
  }
  const hash = createHash(algorithm === "sha-1" ? "sha1" : "md5");
  return { update: (bytes) => hash.update(bytes), hex: () => hash.digest("hex") };
}

/** The copy's SHA-256, also feeding the extra digest with every part. */
export function withExtraDigest(hash: RunningHash, extra: ExtraDigest | null): RunningHash {
  if (extra === null) return hash;
  return {
    update: (bytes) => {
      extra.update(bytes);
      return hash.update(bytes);
    },
    digest: () => hash.digest(),
    save: () => hash.save(),
  };
}

/** Throws CHECKSUM_MISMATCH unless the server's digest is the stream's. */
export function assertSameDigest(server: SourceDigest, streamed: string, url: string): void {
  if (server.value === streamed.toLowerCase()) return;
  throw new ChecksumMismatchError(
    `${url}: the server's ${server.algorithm} of the file is ${server.value}, but the bytes read hash to ${streamed}: nothing was stored`,
  );
}
