import { posix } from "node:path";
import { InvalidInputError } from "./errors.js";
import type { ObjectKey } from "./values.js";

/** How the FTP control connection is protected. */
export type FtpSecurity = false | "explicit" | "implicit";

/** Where a remote file lives, as parsed from an `ftp://` or `ftps://` URL. No password: see README. */
export interface FtpLocation {
  host: string;
  port: number;
  /** Login name; undefined means anonymous. */
  user: string | undefined;
  secure: FtpSecurity;
  /** Decoded absolute path on the server. */
  path: string;
}

export interface S3Location {
  bucket: string;
  key: string;
}

/** The control port when none is given: 990 for implicit TLS, 21 otherwise (explicit TLS included). */
export function defaultFtpPort(secure: FtpSecurity): number {
  return secure === "implicit" ? 990 : 21;
}

/** Longest remote path we send. FTP has no limit, but a longer one is a mistake or an attack. */
export const MAX_REMOTE_PATH_LENGTH = 4096;

/**
 * Parses `ftp://[user@]host[:port]/path` (plain), `ftps://...` (explicit TLS, AUTH TLS on port 21), or,
 * with `implicitTls`, `ftps://` on port 990 with TLS from the first byte. The path is percent-decoded
 * and taken as absolute from the server's root (`ftp://host/dir/a%20b.bin` reads `/dir/a b.bin`).
 */
export function parseFtpUrl(text: string, options: { implicitTls?: boolean } = {}): FtpLocation {
  // WHATWG URL reads ftp:///path as host "path": a missing host must be found in the text itself.
  if (/^ftps?:(?!\/\/[^/?#])/i.test(text)) {
    throw new InvalidInputError(
      `no host in ${JSON.stringify(text)} (expected ftp://host/path or ftps://host/path)`,
    );
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidInputError(
      `not a URL: ${JSON.stringify(text)} (expected ftp://host/path or ftps://host/path)`,
    );
  }
  if (url.protocol !== "ftp:" && url.protocol !== "ftps:") {
    throw new InvalidInputError(
      `unsupported scheme "${url.protocol}" in ${redactUrl(url)}: use ftp:// or ftps://`,
    );
  }
  if (url.password !== "") {
    throw new InvalidInputError(
      `the URL ${redactUrl(url)} carries a password; put it in FTP_PASSWORD instead (command lines are visible to other users)`,
    );
  }
  if (options.implicitTls && url.protocol !== "ftps:") {
    throw new InvalidInputError(`implicit TLS needs an ftps:// URL, got ${redactUrl(url)}`);
  }
  if (url.hostname === "") throw new InvalidInputError(`no host in ${redactUrl(url)}`);
  if (url.search !== "" || url.hash !== "") {
    throw new InvalidInputError(
      `unexpected "?" or "#" in ${redactUrl(url)}: write them as %3F and %23 when they are part of the path`,
    );
  }
  const secure: FtpSecurity = url.protocol === "ftp:" ? false : options.implicitTls ? "implicit" : "explicit";
  const port = url.port === "" ? defaultFtpPort(secure) : Number(url.port);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw new InvalidInputError(`malformed percent-encoding in the path of ${redactUrl(url)}`);
  }
  assertSafeRemotePath(path);
  return {
    // WHATWG URL keeps the brackets of an IPv6 literal; sockets want the bare address.
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port,
    user: url.username === "" ? undefined : decodeURIComponent(url.username),
    secure,
    path,
  };
}

/** The URL of a remote file as recorded in object metadata and logs: no password, path percent-encoded. */
export function formatFtpUrl(location: Omit<FtpLocation, "path">, path: string): string {
  const scheme = location.secure === false ? "ftp" : "ftps";
  const user = location.user === undefined ? "" : `${encodeURIComponent(location.user)}@`;
  const host = location.host.includes(":") ? `[${location.host}]` : location.host;
  const port = location.port === defaultFtpPort(location.secure) ? "" : `:${location.port}`;
  const encodedPath = path.split("/").map(encodeURIComponent).join("/");
  return `${scheme}://${user}${host}${port}${encodedPath}`;
}

/**
 * Refuses a remote path that could inject FTP commands or is not a file path: CR, LF or NUL (a
 * command ends at CRLF, so `a\r\nDELE b` would be two commands), relative paths, empty names.
 */
export function assertSafeRemotePath(path: string): void {
  if (/[\r\n\0]/.test(path)) {
    throw new InvalidInputError(`remote path ${JSON.stringify(path)} contains CR, LF or NUL`);
  }
  if (!path.startsWith("/"))
    throw new InvalidInputError(`remote path ${JSON.stringify(path)} is not absolute`);
  if (path.length > MAX_REMOTE_PATH_LENGTH) {
    throw new InvalidInputError(
      `remote path is ${path.length} characters long, more than ${MAX_REMOTE_PATH_LENGTH}`,
    );
  }
}

/** The remote path must name a file, not a directory. */
export function assertRemoteFilePath(path: string): void {
  assertSafeRemotePath(path);
  const name = posix.basename(path);
  if (path.endsWith("/") || name === "" || name === "." || name === "..") {
    throw new InvalidInputError(`remote path ${JSON.stringify(path)} does not name a file`);
  }
}

/**
 * Parses `s3://bucket/key`. The key is taken literally (no percent-decoding, as the AWS CLI does);
 * an empty key or one ending in "/" is a prefix that `resolveKey` completes with the file name.
 */
export function parseS3Url(text: string): S3Location {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/s.exec(text);
  if (!match)
    throw new InvalidInputError(`not an S3 URL: ${JSON.stringify(text)} (expected s3://bucket/key)`);
  const bucket = match[1] ?? "";
  assertValidBucketName(bucket);
  return { bucket, key: match[2] ?? "" };
}

/** A key ending in "/" (or empty) names a folder: the remote file keeps its name inside it. */
export function resolveKey(keyOrPrefix: string, remotePath: string): ObjectKey {
  const key =
    keyOrPrefix === "" || keyOrPrefix.endsWith("/") ? keyOrPrefix + posix.basename(remotePath) : keyOrPrefix;
  return objectKey(key);
}

/** Bucket naming rules of S3 (general purpose buckets). */
function assertValidBucketName(bucket: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) {
    throw new InvalidInputError(
      `invalid bucket name ${JSON.stringify(bucket)}: 3-63 lowercase letters, digits, dots or hyphens`,
    );
  }
}

/**
 * Keys we are willing to write: at most 1024 UTF-8 bytes, no control characters, no leading "/",
 * no "\", and no "." or ".." segments (tools that map keys to paths would resolve them outside the
 * prefix).
 */
export function assertValidKey(key: string): asserts key is ObjectKey {
  const bytes = Buffer.byteLength(key, "utf8");
  if (bytes === 0) throw new InvalidInputError("the S3 key is empty");
  if (bytes > 1024) throw new InvalidInputError(`the S3 key is ${bytes} bytes long, more than S3's 1024`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key)) {
    throw new InvalidInputError(`the S3 key ${JSON.stringify(key)} contains control characters`);
  }
  if (key.startsWith("/")) throw new InvalidInputError(`the S3 key ${JSON.stringify(key)} starts with "/"`);
  // Tools that map keys to Windows paths read "\" as a separator, so "a\..\..\b" would climb out too.
  if (key.includes("\\")) throw new InvalidInputError(`the S3 key ${JSON.stringify(key)} contains "\\"`);
  if (key.split("/").some((segment) => segment === "." || segment === "..")) {
    throw new InvalidInputError(`the S3 key ${JSON.stringify(key)} has a "." or ".." segment`);
  }
}

/** The key, once it keeps the rules of assertValidKey. */
export function objectKey(key: string): ObjectKey {
  assertValidKey(key);
  return key;
}

export function formatS3Url({ bucket, key }: S3Location): string {
  return `s3://${bucket}/${key}`;
}

function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== "") copy.password = "***";
  return copy.href;
}
