import { S3_MAX_OBJECT_SIZE } from "../core/index.js";

/**
 * Pure parsers for the replies whose values the core trusts: SIZE and MDTM (RFC 3659). basic-ftp's
 * own `size()` reads "213 12abc" as 12 (parseInt) and `lastMod()` turns a bad time into an Invalid
 * Date; these read strictly, once, at the adapter.
 */

/** What a SIZE reply says: a byte count, nothing usable (null: unknown), or a claim no file can make. */
export type SizeVerdict = { size: number | null } | { problem: string };

/**
 * "12345" -> 12345; a comment after the number is allowed ("12345 bytes", "12345, ..."). A text
 * with no number at all carries no size (ftp-srv answers "213 File status" for an empty file): null.
 * A number glued to other characters ("12abc"), or above S3's 5 TiB object limit, is the server's
 * fault: a size that cannot be true must not size our upload.
 */
export function parseSizeReply(text: string): SizeVerdict {
  const value = text.trim();
  if (!/^[0-9+-]/.test(value)) return { size: null };
  const match = /^(\d{1,20})(?:[\s,;].*)?$/s.exec(value);
  if (match === null) {
    return { problem: `its SIZE reply ${JSON.stringify(clip(value))} is not a byte count` };
  }
  const digits = match[1] as string;
  const size = Number(digits);
  if (!Number.isSafeInteger(size) || size > S3_MAX_OBJECT_SIZE) {
    return {
      problem: `its SIZE reply announces ${digits} bytes, more than S3's maximum object size of ${S3_MAX_OBJECT_SIZE} bytes (5 TiB)`,
    };
  }
  return { size };
}

/** How far in the future an MDTM may lie: clock skew and servers that wrongly answer in local time. */
export const MDTM_FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;

/**
 * "20240102030405" or "20240102030405.123" (UTC) -> that time; null (unknown) for anything else: a
 * text that is not a valid time-val, a date that does not exist (20240230...), or one more than a day
 * ahead of `now`. A wrong time is worse than none: the time identifies a version of the file (an
 * unchanged object is skipped, a suspended copy goes on only with the same time), so an untrusted
 * one is dropped and the copy behaves as with a server without MDTM.
 */
export function parseMdtmReply(text: string, now: number = Date.now()): Date | null {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3})\d*)?$/.exec(text.trim());
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = match[7] === undefined ? 0 : Number(match[7].padEnd(3, "0"));
  const time = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const date = new Date(time);
  // Date.UTC rolls 30 February over into March: a date that does not read back did not exist.
  const exists =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  if (!exists || time > now + MDTM_FUTURE_TOLERANCE_MS) return null;
  return date;
}

/**
 * Why a failed connect or login means "the server is full", or undefined when it means something
 * else. Servers at their limit answer 421 to the greeting or after USER/PASS (vsftpd, proftpd,
 * pure-ftpd, FileZilla Server), and some (or a connection limiter in front of them) reset or close
 * the connection at once. A refused connection (ECONNREFUSED) is not one: nothing listens there.
 */
export function busyReason(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (code === 421) return `421 ${replyText(error.message)}`;
  if (code === "ECONNRESET") return "it reset the connection during login";
  if (/Server sent FIN packet unexpectedly/.test(error.message)) {
    return "it closed the connection during login";
  }
  return undefined;
}

/** A reply as the core sees it: its text without the code, e.g. "213 12345" -> "12345". */
export function replyText(message: string): string {
  return message.replace(/^\d{3}[ -]?/, "").trim();
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
