import { resolve } from "node:path";
import type { Command } from "commander";
import type { S3Location } from "../core/index.js";

/** Options that decide only how this leg stops: the command that goes on leaves them out. */
const legOnly = new Set(["--resumable", "--stop-after", "--resume"]);
/** Options naming a local path: made absolute, so the printed command works from any directory. */
const pathOptions = new Set(["--state-dir", "--ca-file", "--password-file"]);

/**
 * The options of the command line as the user gave them (`--name` or `--name value`), without the
 * ones that only shaped this leg, paths made absolute: what `--resume` needs to reach the same S3
 * and the same server in the same way. Commander's own option list says which options take a value.
 */
export function givenOptions(argv: readonly string[], command: Command, cwd = process.cwd()): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (!token.startsWith("--")) continue; // the URLs and the command's name
    const [name, inline] = splitOnce(token);
    const option = command.options.find((o) => o.long === name);
    if (option === undefined) continue;
    const takesValue = option.required || option.optional;
    const value = takesValue ? (inline ?? argv[++i]) : undefined;
    if (legOnly.has(name)) continue;
    if (value === undefined) kept.push(name);
    else kept.push(name, pathOptions.has(name) ? resolve(cwd, value) : value);
  }
  return kept;
}

/** The command that goes on with a stopped copy, quoted so that a shell reads it back as printed. */
export function resumeCommand(ftpUrl: string, s3Url: string, options: readonly string[], uploadId: string) {
  return ["ftp2s3", "copy", ftpUrl, s3Url, ...options, "--resume", uploadId].map(shellQuote).join(" ");
}

/** The AWS CLI command that removes an upload the copy could not abort. */
export function abortCommand(target: S3Location, uploadId: string, endpoint: string | undefined): string {
  return [
    "aws",
    "s3api",
    "abort-multipart-upload",
    ...(endpoint === undefined ? [] : ["--endpoint-url", endpoint]),
    ...["--bucket", target.bucket, "--key", target.key, "--upload-id", uploadId],
  ]
    .map(shellQuote)
    .join(" ");
}

/** A word as a POSIX shell reads it back: quoted when it holds anything but the safe characters. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function splitOnce(token: string): [string, string | undefined] {
  const at = token.indexOf("=");
  return at === -1 ? [token, undefined] : [token.slice(0, at), token.slice(at + 1)];
}
