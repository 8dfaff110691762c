/**
 * Runs one command as a child process under GNU time and reports what it cost: wall time (our own
 * clock around the child), peak RSS, user and system CPU seconds (from GNU time, which reads them
 * from wait4's rusage of the child).
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";

export interface Measured {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the whole process, from spawn to exit. */
  wallMs: number;
  /** Peak resident set size, in KiB (GNU time's %M). */
  maxRssKiB: number;
  userS: number;
  sysS: number;
}

export const GNU_TIME = "/usr/bin/time";

/** A child's exit code and its whole stdout and stderr, once it has closed. */
export function childOutput(
  child: ChildProcessByStdio<null, Readable, Readable>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export async function measure(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Measured> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ftp2s3-bench-time-"));
  const timeFile = path.join(dir, "time");
  try {
    const started = process.hrtime.bigint();
    const child = spawn(GNU_TIME, ["-f", "%M %e %U %S", "-o", timeFile, command, ...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    const { code, stdout, stderr } = await childOutput(child).finally(() => clearTimeout(timer));
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    // GNU time writes "Command exited with non-zero status N" before the format line when it fails.
    const lines = (await readFile(timeFile, "utf8").catch(() => "")).trim().split("\n");
    const [rss, , user, sys] = (lines.at(-1) ?? "").split(" ").map(Number);
    return {
      code,
      stdout,
      stderr,
      wallMs,
      maxRssKiB: rss ?? Number.NaN,
      userS: user ?? Number.NaN,
      sysS: sys ?? Number.NaN,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** user + sys CPU seconds of a measured run, to the hundredth. */
export const cpuSeconds = (measured: Measured) => Math.round((measured.userS + measured.sysS) * 100) / 100;

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
