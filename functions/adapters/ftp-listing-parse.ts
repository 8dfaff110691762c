/**
 * Directory listings as the server sent them, read line by line into entries the core can trust.
 * MLSD (RFC 3659) is read here; LIST lines are read by basic-ftp's Unix and DOS/IIS parsers, one
 * line at a time: its own `parseList` picks one parser by the last line and drops every line that
 * parser cannot read, which would turn an unreadable directory into an empty one.
 */
import * as dosListing from "basic-ftp/dist/parseListDOS.js";
import * as unixListing from "basic-ftp/dist/parseListUnix.js";
import type { RemoteEntry } from "../core/index.js";

export type ListingFormat = "MLSD" | "LIST";

export interface ParsedListing {
  entries: RemoteEntry[];
  /** Lines that matched no format (or named an unsafe name): how many, and the first one. */
  badLines: number;
  firstBadLine: string | undefined;
}

/** "total 12" (ls) and blank lines carry no entry. */
const NO_ENTRY = /^(?:\s*|total\s+\d+\s*)$/;

/** Reads every line; `onEntry` may stop the reading by returning false (a bound was reached). */
export function parseListing(
  text: string,
  format: ListingFormat,
  onEntry: (count: number) => boolean = () => true,
): ParsedListing {
  const parsed: ParsedListing = { entries: [], badLines: 0, firstBadLine: undefined };
  let dialect: LineDialect | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (NO_ENTRY.test(line)) continue;
    let entry: RemoteEntry | "none" | undefined;
    if (format === "MLSD") {
      entry = parseMlsdLine(line);
    } else {
      // One listing speaks one dialect: the first line that any of them reads decides.
      dialect ??= LIST_DIALECTS.find((candidate) => candidate.testLine(line));
      entry = dialect?.testLine(line) ? parseListLine(dialect, line) : undefined;
    }
    if (entry === "none") continue;
    if (entry === undefined || unsafeName(entry.name)) {
      parsed.badLines += 1;
      parsed.firstBadLine ??= line;
      continue;
    }
    parsed.entries.push(entry);
    if (!onEntry(parsed.entries.length)) break;
  }
  return parsed;
}

/** A name the core cannot take as one path segment: the line it came from is not to be trusted. */
function unsafeName(name: string): boolean {
  return name === "" || /[\r\n\0/]/.test(name);
}

interface LineDialect {
  testLine(line: string): boolean;
  parseLine(
    line: string,
  ): { name: string; size: number; rawModifiedAt: string; isDirectory: boolean } | undefined;
}

// DOS first, as basic-ftp orders them: its test is the stricter one (a line starting with two digits).
const LIST_DIALECTS: LineDialect[] = [dosListing, unixListing];

function parseListLine(dialect: LineDialect, line: string): RemoteEntry | "none" | undefined {
  const info = dialect.parseLine(line);
  // The line matched the dialect but names "." or "..": basic-ftp leaves those out, and so do we.
  if (info === undefined) return "none";
  const kind = dialect === unixListing ? unixKind(line) : info.isDirectory ? "directory" : "file";
  return {
    name: info.name,
    kind,
    size: kind === "file" ? safeSize(String(info.size)) : null,
    modifiedAt: null,
    modifiedRaw: info.rawModifiedAt === "" ? null : info.rawModifiedAt,
  };
}

/**
 * By ls's type letter, read here because basic-ftp files character and block devices as files:
 * only "-" (and "f") is a regular file; devices, sockets, fifos, links and the rest are "other".
 */
function unixKind(line: string): RemoteEntry["kind"] {
  const type = line.replace(/^[\s\d]*/, "").charAt(0);
  if (type === "-" || type === "f") return "file";
  return type === "d" ? "directory" : "other";
}

/**
 * "type=file;size=42;modify=20240102030405; name". RFC 3659 makes every fact optional: a missing
 * size is unknown (null), never 0; a missing or unknown type is "other" and is not fetched.
 */
function parseMlsdLine(line: string): RemoteEntry | "none" | undefined {
  const space = line.indexOf(" ");
  if (space === -1) return undefined;
  const facts = new Map<string, string>();
  for (const fact of line.slice(0, space).split(";")) {
    if (fact === "") continue;
    const equals = fact.indexOf("=");
    if (equals <= 0) return undefined;
    facts.set(fact.slice(0, equals).toLowerCase(), fact.slice(equals + 1));
  }
  const name = line.slice(space + 1);
  const type = facts.get("type")?.toLowerCase();
  if (type === "cdir" || type === "pdir" || name === "." || name === "..") return "none";
  const kind = type === "file" ? "file" : type === "dir" ? "directory" : "other";
  const sizeFact = facts.get("size");
  if (sizeFact !== undefined && !/^\d+$/.test(sizeFact)) return undefined;
  const modify = facts.get("modify");
  // The server's identity of the entry: the mirror tells a directory it met before by it (loops).
  const unique = facts.get("unique");
  return {
    name,
    kind,
    size: kind === "file" && sizeFact !== undefined ? safeSize(sizeFact) : null,
    modifiedAt: modify === undefined ? null : parseTimeVal(modify),
    modifiedRaw: modify ?? null,
    ...(unique === undefined || unique === "" ? {} : { unique }),
  };
}

/** Digits to a byte count; past 2^53 it is unknown rather than rounded. */
function safeSize(digits: string): number | null {
  const size = Number(digits);
  return /^\d+$/.test(digits) && Number.isSafeInteger(size) ? size : null;
}

/** RFC 3659 time-val, YYYYMMDDHHMMSS[.sss] in UTC; null when it names no real instant. */
export function parseTimeVal(value: string): Date | null {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3}))?$/.exec(value);
  if (match === null) return null;
  const [year, month, day, hours, minutes, seconds] = match.slice(1, 7).map(Number) as number[];
  const millis = Number((match[7] ?? "0").padEnd(3, "0"));
  const date = new Date(
    Date.UTC(year as number, (month as number) - 1, day, hours, minutes, seconds, millis),
  );
  // Date.UTC rolls 2024-02-31 over into March: a date that does not read back the same is not one.
  const same =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === (month as number) - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hours &&
    date.getUTCMinutes() === minutes &&
    date.getUTCSeconds() === seconds;
  return same ? date : null;
}
