/**
 * Names on a server whose names are not UTF-8 (Windows code pages, Latin-1, Shift-JIS, GBK). basic-ftp
 * then runs with "latin1", which makes its strings byte-transparent: one character per byte, read and
 * written. This codec turns such a byte string into the name's UTF-8 form (keys, logs, messages) and
 * back. A listed name is taken only when its UTF-8 form encodes back to the very same bytes: every
 * command built from it then sends the server its own bytes, and no name is ever guessed.
 */
import type { Client } from "basic-ftp";
import { InvalidInputError, type RemoteEntry } from "../core/index.js";

export interface NameCodec {
  /** The server's encoding as configured, for messages. */
  readonly encoding: string;
  /** What basic-ftp reads and writes with: UTF-8 itself, or byte-transparent "latin1". */
  readonly clientEncoding: "utf8" | "latin1";
  /**
   * A path or name (UTF-8) as basic-ftp must send it. INVALID_INPUT when the encoding cannot
   * represent one of its characters: the path was given by a user, and names nothing on this server.
   */
  toWire(text: string): string;
  /** A name as basic-ftp read it, in UTF-8; undefined when its bytes are not valid in the encoding. */
  fromWire(wire: string): string | undefined;
}

/** A UTF-8 server: basic-ftp's own strings, untouched (and its "OPTS UTF8 ON", as ever). */
export const utf8Names: NameCodec = {
  encoding: "utf8",
  clientEncoding: "utf8",
  toWire: (text) => text,
  fromWire: (wire) => wire,
};

/** "utf8", "UTF-8", "utf_8": the encoding Node and basic-ftp speak themselves. */
export function isUtf8Encoding(encoding: string): boolean {
  return encoding.toLowerCase().replace(/[^a-z0-9]/g, "") === "utf8";
}

/**
 * The codec of an encoding checked where it entered (the connection's config, --encoding). iconv-lite
 * is loaded only for a server that needs it: a UTF-8 server's copy does not pay for its tables.
 */
export async function nameCodecFor(encoding: string): Promise<NameCodec> {
  if (isUtf8Encoding(encoding)) return utf8Names;
  const iconv = (await import("iconv-lite")).default;
  // A BOM is a character like any other in a name: neither dropped nor added.
  const decode = (bytes: Buffer) => iconv.decode(bytes, encoding, { stripBOM: false });
  const encode = (text: string) => iconv.encode(text, encoding, { addBOM: false });
  // iconv-lite writes "?" for what it cannot encode: only the round trip tells that from a real "?".
  const representable = (text: string) => decode(encode(text)) === text;
  return {
    encoding,
    clientEncoding: "latin1",
    toWire(text) {
      if (!representable(text)) {
        const character = Array.from(text).find((c) => !representable(c)) ?? text;
        const codePoint = `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
        throw new InvalidInputError(
          `${JSON.stringify(text)} has ${JSON.stringify(character)} (${codePoint}), which ${encoding} (the server's name encoding) cannot represent`,
        );
      }
      return encode(text).toString("latin1");
    },
    fromWire(wire) {
      const bytes = Buffer.from(wire, "latin1");
      const text = decode(bytes);
      return encode(text).equals(bytes) ? text : undefined;
    },
  };
}

/**
 * basic-ftp on a server that is not UTF-8: byte-transparent strings, and no "OPTS UTF8 ON" (basic-ftp
 * sends it before and after login). A server that knows the option (IIS, Serv-U, FileZilla Server)
 * would switch its names to UTF-8, which would then be read as the configured encoding, without an
 * error, into wrong keys: the configured encoding names what the server says when not asked to change.
 */
export function speakServerEncoding(client: Client, names: NameCodec): void {
  if (names.clientEncoding === "utf8") return;
  client.ftp.encoding = names.clientEncoding;
  const sendIgnoringError = client.sendIgnoringError.bind(client);
  client.sendIgnoringError = async (command) =>
    /^OPTS UTF8\b/i.test(command)
      ? { code: 202, message: `not sent: the server's names are ${names.encoding}` }
      : sendIgnoringError(command);
}

/**
 * A listing's entries with their names in UTF-8. An entry whose name is not valid in the encoding
 * keeps its bytes escaped (see escapedName) for messages only, and says why in `unreadableName`.
 */
export function readableEntries(entries: RemoteEntry[], names: NameCodec): RemoteEntry[] {
  if (names.clientEncoding === "utf8") return entries;
  return entries.map((entry) => {
    const name = names.fromWire(entry.name);
    if (name !== undefined) return { ...entry, name };
    const hex = Buffer.from(entry.name, "latin1")
      .toString("hex")
      .replace(/(..)(?!$)/g, "$1 ");
    return {
      ...entry,
      name: escapedName(entry.name),
      unreadableName: `the name's bytes (${hex}) are not valid ${names.encoding}, the server's name encoding: not copied`,
    };
  });
}

/**
 * A name's bytes shown without guessing: printable ASCII as it is ("\" doubled), every other byte as
 * \xHH, e.g. "caf\xe9.txt". Two such names never show alike.
 */
export function escapedName(wire: string): string {
  let shown = "";
  for (const byte of Buffer.from(wire, "latin1")) {
    if (byte === 0x5c) shown += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f) shown += String.fromCharCode(byte);
    else shown += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return shown;
}
