import iconv from "iconv-lite";

/** Every ASCII character: FTP's commands, replies and listing syntax are made of them. */
const ASCII = String.fromCharCode(...Array.from({ length: 128 }, (_, code) => code));

/**
 * Why a server's names cannot be read in this encoding, or undefined when they can: the one check of
 * a connection's `encoding` and of --encoding. iconv-lite must know it, and it must write ASCII as
 * ASCII, byte for byte, as the commands and listings around the names are written (UTF-16, UTF-7,
 * base64 and hex are encodings iconv-lite knows that are not).
 */
export function serverEncodingProblem(encoding: string): string | undefined {
  if (!iconv.encodingExists(encoding)) {
    return `unknown encoding ${JSON.stringify(encoding)} (e.g. utf8, latin1, windows-1252, shift_jis, gbk)`;
  }
  const bytes = iconv.encode(ASCII, encoding, { addBOM: false });
  if (!bytes.equals(Buffer.from(ASCII, "latin1")) || iconv.decode(bytes, encoding) !== ASCII) {
    return `${JSON.stringify(encoding)} does not write ASCII as ASCII, as FTP names must be (e.g. utf8, latin1, windows-1252, shift_jis, gbk)`;
  }
  return undefined;
}
