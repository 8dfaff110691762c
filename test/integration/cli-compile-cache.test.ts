import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildCli, builtCli } from "../support/cli.js";

// The built command keeps Node's compile cache (Node 22.1 and later) in the user's state directory.
// CI runs this file with FTP2S3_RUNTIME_NODE set to a Node 22 binary (see .ci/run); without one the
// Node 22 case is skipped and only this machine's Node is tried.
const node22 = process.env.FTP2S3_RUNTIME_NODE;

/** Every file under `directory`, or [] when it does not exist. */
async function filesUnder(directory: string): Promise<string[]> {
  try {
    return (await readdir(directory, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

describe("the command's compiled code between runs", () => {
  let stateDir: string;
  beforeAll(() => buildCli());
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "ftp2s3-compile-cache-"));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  const version = (node: string, env: Record<string, string> = {}) =>
    execFileSync(node, [builtCli, "--version"], {
      env: { PATH: process.env.PATH, FTP2S3_STATE_DIR: stateDir, ...env },
      encoding: "utf8",
    });
  /** Node's own account of the cache (NODE_DEBUG_NATIVE=COMPILE_CACHE writes it to stderr). */
  const cacheLog = (node: string) =>
    spawnSync(node, [builtCli, "--version"], {
      env: { PATH: process.env.PATH, FTP2S3_STATE_DIR: stateDir, NODE_DEBUG_NATIVE: "COMPILE_CACHE" },
      encoding: "utf8",
    }).stderr;

  it.skipIf(node22 === undefined)(
    "is kept in the state directory on Node 22, and read by the next run",
    async () => {
      expect(version(node22!)).toMatch(/^ftp2s3 \d/);
      const cached = await filesUnder(join(stateDir, "compile-cache"));

      expect(cached.length).toBeGreaterThan(0);
      const accepted = cacheLog(node22!).match(/cache for file:\S+\.mjs was accepted/g) ?? [];
      expect(accepted.length).toBeGreaterThan(0);
    },
  );

  it.skipIf(node22 === undefined)("is not written with NODE_DISABLE_COMPILE_CACHE=1", async () => {
    expect(version(node22!, { NODE_DISABLE_COMPILE_CACHE: "1" })).toMatch(/^ftp2s3 \d/);

    expect(await filesUnder(stateDir)).toEqual([]);
  });

  const major = Number(process.versions.node.split(".")[0]);
  it.skipIf(major >= 22)("runs on Node 20, which has no such cache, and writes nothing", async () => {
    expect(version(process.execPath)).toMatch(/^ftp2s3 \d/);

    expect(await filesUnder(stateDir)).toEqual([]);
  });
});
