import type { DigestAlgorithm, SourceDigest } from "../core/index.js";
import { DIGEST_ALGORITHMS } from "../core/index.js";

/** How one digest is asked for: the draft's HASH (after OPTS HASH selects it), or an older X command. */
export interface DigestCommand {
  algorithm: DigestAlgorithm;
  verb: "HASH" | "XSHA256" | "XSHA1" | "XMD5" | "XCRC";
  /** For HASH: the algorithm's name as FEAT spelled it (OPTS HASH takes it back). */
  name?: string;
  /** For HASH: FEAT marked it (`*`) as the one selected. */
  selected?: boolean;
}

/** The draft's names (IANA hash names) and the older commands, for each algorithm. */
const HASH_NAMES: Record<string, DigestAlgorithm> = {
  "SHA-256": "sha-256",
  "SHA-1": "sha-1",
  MD5: "md5",
  CRC32: "crc32",
};
const X_COMMANDS: Record<string, DigestAlgorithm> = {
  XSHA256: "sha-256",
  XSHA1: "sha-1",
  XMD5: "md5",
  XCRC: "crc32",
};
const HEX_LENGTH: Record<DigestAlgorithm, number> = { "sha-256": 64, "sha-1": 40, md5: 32, crc32: 8 };

/**
 * The digests a server offers, from its FEAT (basic-ftp's map: feature -> the rest of its line),
 * strongest first, each with the command that asks for it (HASH where the server has both).
 * draft-bryan-ftp-hash: ` HASH SHA-256*;SHA-1;MD5;CRC32`, the `*` marking the selected one.
 */
export function offeredDigests(features: ReadonlyMap<string, string>): DigestCommand[] {
  const byAlgorithm = new Map<DigestAlgorithm, DigestCommand>();
  const feat = new Map([...features].map(([name, rest]) => [name.toUpperCase(), rest]));
  for (const entry of (feat.get("HASH") ?? "").split(";")) {
    const selected = entry.trim().endsWith("*");
    const name = entry.trim().replace(/\*$/, "");
    const algorithm = HASH_NAMES[name.toUpperCase()];
    if (algorithm !== undefined) byAlgorithm.set(algorithm, { algorithm, verb: "HASH", name, selected });
  }
  for (const [verb, algorithm] of Object.entries(X_COMMANDS)) {
    if (feat.has(verb) && !byAlgorithm.has(algorithm)) {
      byAlgorithm.set(algorithm, { algorithm, verb: verb as DigestCommand["verb"] });
    }
  }
  return DIGEST_ALGORITHMS.flatMap((algorithm) => byAlgorithm.get(algorithm) ?? []);
}

/**
 * The reply to `HASH <path>`: `213 <algorithm> <start>-<end> <hex> <path>`. Only a reply naming the
 * algorithm asked for, over a range from byte 0, with a hex digest of that algorithm's length passes;
 * anything else says why it is no digest.
 */
export function parseHashReply(
  text: string,
  algorithm: DigestAlgorithm,
  name: string,
): SourceDigest | { unavailable: string } {
  const match = /^(\S+) (\d+)-(\d+) ([0-9A-Fa-f]+)(?: .*)?$/.exec(text.trim());
  if (match === null) return { unavailable: `the HASH reply "${text}" does not parse` };
  const [, given, start, , hex] = match as unknown as [string, string, string, string, string];
  if (given.toUpperCase() !== name.toUpperCase()) {
    return { unavailable: `HASH answered with ${given}, not the ${name} asked for` };
  }
  if (start !== "0") return { unavailable: `HASH covered bytes from ${start}, not the whole file` };
  return hexDigest(hex, algorithm, `the HASH reply "${text}"`);
}

/**
 * The reply to XSHA256, XSHA1, XMD5 or XCRC, whose formats vary (`250 <hex>`, `213 <hex> <path>`,
 * `250 SHA256 <hex>`...): exactly one word of the algorithm's hex length, or no digest.
 */
export function parseXDigestReply(
  text: string,
  algorithm: DigestAlgorithm,
): SourceDigest | { unavailable: string } {
  const length = HEX_LENGTH[algorithm];
  const words = text.trim().split(/\s+/);
  const candidates = words.filter((word) => word.length === length && /^[0-9A-Fa-f]+$/.test(word));
  if (candidates.length !== 1)
    return { unavailable: `the reply "${text}" holds no single ${algorithm} digest` };
  return hexDigest(candidates[0] as string, algorithm, `the reply "${text}"`);
}

function hexDigest(
  hex: string,
  algorithm: DigestAlgorithm,
  where: string,
): SourceDigest | { unavailable: string } {
  if (hex.length !== HEX_LENGTH[algorithm]) {
    return {
      unavailable: `${where} gives ${hex.length} hex digits, not the ${HEX_LENGTH[algorithm]} of ${algorithm}`,
    };
  }
  return { algorithm, value: hex.toLowerCase() };
}
