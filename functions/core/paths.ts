import { posix } from "node:path";
import { InvalidInputError, NotAllowedError } from "./errors.js";
import { assertRemoteFilePath, assertSafeRemotePath } from "./locations.js";

/**
 * Resolves "." and ".." and repeated slashes the way the server would, so that the root check below
 * sees the path that is really read: "/outbox/../etc/passwd" becomes "/etc/passwd" and is refused.
 */
export function normaliseRemotePath(path: string): string {
  assertSafeRemotePath(path);
  const normalised = posix.normalize(path);
  return normalised.length > 1 && normalised.endsWith("/") ? normalised.slice(0, -1) : normalised;
}

/** True when `path` is `root` or lies below it (both normalised). "/outbox2" is not inside "/outbox". */
export function isInsideRoot(path: string, root: string): boolean {
  const base = normaliseRemotePath(root);
  return path === base || path.startsWith(base === "/" ? "/" : `${base}/`);
}

/** The normalised file path, when it names a file inside one of the roots; NotAllowedError otherwise. */
export function resolveAllowedFile(path: string, roots: readonly string[], connection: string): string {
  if (!path.startsWith("/")) throw new InvalidInputError(`path ${JSON.stringify(path)} is not absolute`);
  assertRemoteFilePath(path); // before normalising, which would turn "/outbox/" into "/outbox"
  const normalised = normaliseRemotePath(path);
  assertRemoteFilePath(normalised);
  assertInsideRoots(normalised, roots, connection);
  return normalised;
}

/** The normalised directory path, when it lies inside one of the roots. */
export function resolveAllowedDirectory(path: string, roots: readonly string[], connection: string): string {
  if (!path.startsWith("/")) throw new InvalidInputError(`directory ${JSON.stringify(path)} is not absolute`);
  const normalised = normaliseRemotePath(path);
  assertInsideRoots(normalised, roots, connection);
  return normalised;
}

function assertInsideRoots(path: string, roots: readonly string[], connection: string): void {
  if (!roots.some((root) => isInsideRoot(path, root))) {
    throw new NotAllowedError(`${path} is outside the roots of connection "${connection}"`);
  }
}
