/** The bench's working tree, the servers it runs against, and its compiled leg scripts. */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { reachableTempDir } from "../../test/interop/fixtures.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const cacheDir = path.join(repoRoot, ".cache/bench");
export const legsDir = path.join(cacheDir, "legs");
export const cliPath = path.join(repoRoot, "dist/ftp2s3.mjs");

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export const execFileAsync = promisify(execFile);

/**
 * Compiles bench/legs/*.ts to plain ESM (no bundling: imports resolve to node_modules) so that the
 * legs run on bare `node` like the built command does; a TypeScript loader would add its own
 * start-up time and memory to theirs. The S3 leg runs the product's own modules (PartUpload, the S3
 * sink and client): it is bundled, SDK included, with the options of scripts/build-cli.mjs, so that it
 * loads as the built command does.
 */
export async function compileLegs(): Promise<void> {
  const names = ["ftp-download", "memory-probe", "http-probe"];
  await build({
    entryPoints: names.map((name) => path.join(repoRoot, "bench/legs", `${name}.ts`)),
    outdir: legsDir,
    outExtension: { ".js": ".mjs" },
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
  });
  await build({
    entryPoints: [path.join(repoRoot, "bench/legs/s3-upload.ts")],
    outfile: path.join(legsDir, "s3-upload.mjs"),
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // Dependencies written in CommonJS call require(); give the ESM bundle one (as build-cli.mjs does).
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: "warning",
  });
}

export const leg = (name: string) => path.join(legsDir, `${name}.mjs`);

/**
 * A temp dir every FTP server's session account can read (the interop servers run sessions as an
 * unprivileged user): the dir 0755 under /tmp, files 0644.
 */
export async function makeWorkDir(): Promise<{ dir: string; ftpRoot: string; s3Dir: string }> {
  const dir = await reachableTempDir("ftp2s3-bench-");
  const ftpRoot = path.join(dir, "ftp");
  await mkdir(ftpRoot, { mode: 0o755 });
  await chmod(ftpRoot, 0o755);
  return { dir, ftpRoot, s3Dir: path.join(dir, "s3") };
}

/** Random bytes (nothing compresses), written 16 MiB at a time. */
export async function writeRandomFile(file: string, size: number): Promise<void> {
  const handle = await open(file, "w", 0o644);
  try {
    for (let written = 0; written < size; ) {
      const chunk = randomBytes(Math.min(16 * MiB, size - written));
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  await chmod(file, 0o644);
}

/** `count` files of `size` random bytes in `dir`, named f0000.bin, f0001.bin... */
export async function writeManyFiles(dir: string, count: number, size: number): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
  for (let i = 0; i < count; i++) {
    await writeFile(path.join(dir, `f${String(i).padStart(4, "0")}.bin`), randomBytes(size), { mode: 0o644 });
  }
}

/** Flush dirty pages before a run, so that one run's writes (s3rver writes every part, then the object) do not slow the next. */
export async function settleDisk(): Promise<void> {
  await execFileAsync("sync");
}

export async function commandVersion(command: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(command, args);
    return stdout.split("\n")[0]?.trim();
  } catch {
    return undefined;
  }
}

/** The 1-minute load average, to the hundredth. */
export const loadAverage = () => Math.round(os.loadavg()[0]! * 100) / 100;

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / GiB),
    kernel: os.release(),
    node: process.version,
  };
}
