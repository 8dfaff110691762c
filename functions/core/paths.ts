import { posix } from "node:path";
import { InvalidInputError, NotAllowedError } from "./errors.js";
import { assertRemoteFilePath, assertSafeRemotePath } from "./locations.js";
import type { RemoteFilePath, RemotePath } from "./values.js";

/**
 * How the server splits a path. "posix": only "/" separates, and a "\" in a caller's path is refused,
 * because a Windows-hosted server (IIS FTP, FileZilla Server) would read "/outbox/..\..\etc" as a
 * way out of the root the check below never saw. "windows": "\" is a separator too, so it is turned
 * into "/" before the check, and the checked path is what the server is sent.
 */
export type PathStyle = "posix" | "windows";

/**
 * Resolves "." and ".." and repeated slashes the way the server would, so that the root check below
 * sees the path that is really read: "/outbox/../etc/passwd" becomes "/etc/passwd" and is refused.
 */
export function normaliseRemotePath(path: string): RemotePath {
  assertSafeRemotePath(path);
  return normalised(path);
}

/**
 * A file path, checked and normalised: the one check of a path a caller names, before the core
 * trusts it. "Names a file" is judged before normalising, which would turn "/outbox/" into "/outbox";
 * the last name then survives normalising, so the normalised path names that file.
 */
export function remoteFilePath(path: string): RemoteFilePath {
  assertRemoteFilePath(path);
  return normalised(path) as RemoteFilePath;
}

/** The directory holding `path` ("/" for a path at the root). */
export function parentOf(path: RemotePath): RemotePath {
  return posix.dirname(path) as RemotePath;
}

/** A safe absolute path, normalised: still absolute, still free of CR, LF and NUL, and no longer. */
function normalised(path: string): RemotePath {
  const result = posix.normalize(path);
  return (result.length > 1 && result.endsWith("/") ? result.slice(0, -1) : result) as RemotePath;
}

/** True when `path` is `root` or lies below it (both normalised). "/outbox2" is not inside "/outbox". */
export function isInsideRoot(path: string, root: string): boolean {
  const base = normaliseRemotePath(root);
  return path === base || path.startsWith(base === "/" ? "/" : `${base}/`);
}

/** The normalised file path, when it names a file inside one of the roots; NotAllowedError otherwise. */
export function resolveAllowedFile(
  path: string,
  roots: readonly string[],
  connection: string,
  style: PathStyle = "posix",
): RemoteFilePath {
  const file = remoteFilePath(withSeparators(path, style, connection));
  assertInsideRoots(file, roots, connection, style);
  return file;
}

/** The normalised directory path, when it lies inside one of the roots. */
export function resolveAllowedDirectory(
  path: string,
  roots: readonly string[],
  connection: string,
  style: PathStyle = "posix",
): RemotePath {
  const directory = normaliseRemotePath(withSeparators(path, style, connection));
  assertInsideRoots(directory, roots, connection, style);
  return directory;
}

/** The path with "/" as its only separator, or InvalidInputError when the server could split it elsewhere. */
function withSeparators(path: string, style: PathStyle, connection: string): string {
  if (style === "posix") {
    if (path.includes("\\")) {
      throw new InvalidInputError(
        `path ${JSON.stringify(path)} contains "\\", which connection "${connection}" refuses (a Windows-hosted server reads it as a separator; such a connection sets "pathStyle": "windows")`,
      );
    }
    return path;
  }
  const slashed = path.replaceAll("\\", "/");
  // Windows drops trailing dots and spaces from a name (".. " is ".."), and reads ":" as a drive or
  // a data stream: names the check above would not see as the server does.
  for (const segment of slashed.split("/")) {
    if (segment === "." || segment === "..") continue;
    if (segment.includes(":") || /[. ]$/.test(segment)) {
      throw new InvalidInputError(
        `path ${JSON.stringify(path)} has the name ${JSON.stringify(segment)}, which a Windows server reads differently (":" or a trailing dot or space)`,
      );
    }
  }
  return slashed;
}

function assertInsideRoots(
  path: string,
  roots: readonly string[],
  connection: string,
  style: PathStyle,
): void {
  const bases = style === "windows" ? roots.map((root) => root.replaceAll("\\", "/")) : roots;
  if (!bases.some((root) => isInsideRoot(path, root))) {
    throw new NotAllowedError(`${path} is outside the roots of connection "${connection}"`);
  }
}
