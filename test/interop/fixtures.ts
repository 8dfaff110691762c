/** What every interop test file sets up the same way: the account, the skip rule, the served files. */
import { chmod, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type InteropServerKind, interopUnavailableReason } from "./servers.js";

/** The one account each server is started with; a space and non-ASCII in the password on purpose. */
export const INTEROP_USER = "interop";
export const INTEROP_PASSWORD = "s3cret pässword";

/** FTP2S3_INTEROP_REQUIRE=1 (CI): a server that is not set up fails instead of being skipped. */
export const interopRequired = process.env.FTP2S3_INTEROP_REQUIRE === "1";

/** Whether the suites against `kind` are skipped here: it cannot run, and it is not required. */
export function skipInterop(kind: InteropServerKind): boolean {
  return interopUnavailableReason(kind) !== undefined && !interopRequired;
}

/**
 * A new temp dir the servers' session account can reach: mkdtemp makes it 0700, and the servers read
 * the tree below it as ftp2s3test.
 */
export async function reachableTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** Writes `root`/`name` readable by the session account, creating its folders searchable. */
export async function writeServedFile(root: string, name: string, data: Buffer): Promise<void> {
  const file = path.join(root, name);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await writeFile(file, data, { mode: 0o644 });
}
