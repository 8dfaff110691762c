import { execFile, execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { runCli } from "../../functions/cli/run.js";

export interface CliOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as the one JSON result line, when it is one. */
  result: Record<string, unknown> | undefined;
}

const quietSdk = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };

/** Runs the command in this process, as main.ts does, capturing what a user would see. */
export async function runInProcess(
  args: string[],
  env: Record<string, string | undefined>,
  options: { signal?: AbortSignal; tty?: boolean } = {},
): Promise<CliOutcome> {
  const stdout = collect();
  const stderr = collect();
  const stderrStream = Object.assign(stderr.stream, { isTTY: options.tty ?? false });
  const exitCode = await runCli(args, {
    stdout: stdout.stream,
    stderr: stderrStream,
    env: { PATH: process.env.PATH, ...quietSdk, ...env },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return outcome(exitCode, stdout.text(), stderr.text());
}

const mainScript = fileURLToPath(new URL("../../functions/cli/main.ts", import.meta.url));

/** Runs the real `ftp2s3` entry point as a child process (through tsx, so no build is needed). */
export function runProcess(args: string[], env: Record<string, string | undefined>): Promise<CliOutcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", mainScript, ...args],
      { env: { PATH: process.env.PATH, ...quietSdk, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve(outcome(exitCode, stdout, stderr));
      },
    );
  });
}

function outcome(exitCode: number, stdout: string, stderr: string): CliOutcome {
  let result: Record<string, unknown> | undefined;
  const lines = stdout.split("\n").filter((line) => line !== "");
  if (lines.length === 1) {
    try {
      result = JSON.parse(lines[0] as string) as Record<string, unknown>;
    } catch {
      result = undefined;
    }
  }
  return { exitCode, stdout, stderr, result };
}

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

const repository = fileURLToPath(new URL("../../", import.meta.url));
/** The bundled command users run (package.json "bin"). */
export const builtCli = join(repository, "dist", "ftp2s3.mjs");

/** Rebuilds dist/ftp2s3.mjs from the source under test, so the built-command tests see this code. */
export function buildCli(): void {
  execFileSync(process.execPath, ["scripts/build-cli.mjs"], { cwd: repository, stdio: "pipe" });
}

export interface BuiltOutcome extends CliOutcome {
  /** Milliseconds between the process's last output and its exit: a socket left open keeps it alive. */
  lingeredMs: number;
  /** The process did not end by itself within the guard and was killed. */
  killed: boolean;
}

/**
 * Runs the built `ftp2s3` (dist/ftp2s3.mjs) as a user does. A process still alive `guardMs` after it
 * started is killed and reported as such, so a hang fails the test instead of stalling it.
 */
export function runBuilt(
  args: string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string; guardMs?: number } = {},
): Promise<BuiltOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtCli, ...args], {
      env: { PATH: process.env.PATH, ...quietSdk, ...env },
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    let stdout = "";
    let stderr = "";
    let lastOutput = Date.now();
    let killed = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      lastOutput = Date.now();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      lastOutput = Date.now();
    });
    const guard = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, options.guardMs ?? 30_000);
    child.on("exit", (code) => {
      const lingeredMs = Date.now() - lastOutput;
      clearTimeout(guard);
      child.on("close", () => resolve({ ...outcome(code ?? 1, stdout, stderr), lingeredMs, killed }));
    });
  });
}
