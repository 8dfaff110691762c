import { execFile } from "node:child_process";
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
