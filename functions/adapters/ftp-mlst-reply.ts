import { parseMdtmReply, parseSizeReply } from "./ftp-replies.js";

/**
 * The pure parser of an MLST reply (RFC 3659 §7): one command that answers what SIZE and MDTM answer
 * in two. The values are read with the rules of those replies, so either way the core sees the same.
 */

/** A plain file's size and last modification, both given and both trusted. */
export interface MlstFile {
  size: number;
  modifiedAt: Date;
}

/**
 * What one MLST reply is worth: the file's facts, or SIZE and MDTM asked instead, for this path only
 * (not a plain file, or a value that cannot be true: the two replies then say it their own way) or
 * for the rest of the session (a reply not in RFC 3659's shape, or one that leaves out size or modify:
 * the server would answer every path so, and asking it each time would cost a round trip more).
 */
export type MlstVerdict = MlstFile | { fallback: "this-path" | "session" };

/**
 * The reply as basic-ftp gives it, its lines joined by "\n":
 * "250-Listing \"/a.bin\":\n type=file;size=12;modify=20240102030405; /a.bin\n250 End."
 * Exactly one entry line, which starts with a space; its facts (case-insensitive names, each ended by
 * ";", no spaces in values) come before the one space that starts the pathname. The pathname is not
 * read: servers echo it their own way (pure-ftpd names the root "."), and the path asked is the one
 * the core knows.
 */
export function parseMlstReply(message: string, now: number = Date.now()): MlstVerdict {
  const lines = message.split(/\r?\n/);
  const first = lines[0] ?? "";
  const last = lines.at(-1) ?? "";
  const entries = lines.slice(1, -1).filter((line) => line.startsWith(" "));
  if (!first.startsWith("250-") || !last.startsWith("250 ") || entries.length !== 1) {
    return { fallback: "session" };
  }
  const facts = readFacts(entries[0] as string);
  if (facts === undefined) return { fallback: "session" };
  const type = facts.get("type");
  if (type === undefined) return { fallback: "session" };
  if (type.toLowerCase() !== "file") return { fallback: "this-path" };
  const size = facts.get("size");
  const modify = facts.get("modify");
  if (size === undefined || modify === undefined) return { fallback: "session" };
  const bytes = readSize(size);
  const modifiedAt = parseMdtmReply(modify, now);
  if (bytes === null || modifiedAt === null) return { fallback: "this-path" };
  return { size: bytes, modifiedAt };
}

/** Digits only (SIZE's reply may carry a comment after the number, a fact may not), within SIZE's bounds. */
function readSize(value: string): number | null {
  if (!/^\d{1,20}$/.test(value)) return null;
  const verdict = parseSizeReply(value);
  return "size" in verdict ? verdict.size : null;
}

/** " type=file;size=12; /a.bin" -> type and size (names lower-cased); undefined when not RFC 3659's shape. */
function readFacts(entry: string): Map<string, string> | undefined {
  const match = /^ ((?:[^=; ]+=[^; ]*;)*) ./.exec(entry);
  if (match === null) return undefined;
  const facts = new Map<string, string>();
  for (const fact of (match[1] as string).split(";").slice(0, -1)) {
    const at = fact.indexOf("=");
    const name = fact.slice(0, at).toLowerCase();
    if (facts.has(name)) return undefined;
    facts.set(name, fact.slice(at + 1));
  }
  return facts;
}
