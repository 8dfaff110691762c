import { setMaxListeners } from "node:events";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { DEFAULTS } from "../core/index.js";
import { AFTER_COPY_FLAG, AFTER_COPY_HELP, afterCopyArgument } from "./after-copy-option.js";
import {
  addCommonOptions,
  type CliIo,
  EXIT_OK,
  EXIT_USAGE,
  positiveInteger,
  positiveNumber,
} from "./common.js";
import { type CopyCommandOptions, copyCommand } from "./copy-command.js";
import { type MirrorCommandOptions, mirrorCommand } from "./mirror-command.js";
import { withProgressLine } from "./progress-view.js";
import { givenOptions } from "./resume-hint.js";
import { type Sha256CommandOptions, sha256Command } from "./sha256-command.js";

export {
  type CliIo,
  EXIT_FAILED,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_SUSPENDED,
  EXIT_USAGE,
} from "./common.js";

/** Runs the `ftp2s3` command; resolves with the exit status. Never throws for an expected failure. */
export async function runCli(argv: string[], given: CliIo): Promise<number> {
  // Every message then starts on a line of its own, never glued onto a terminal's progress line.
  const io: CliIo = { ...given, stderr: withProgressLine(given.stderr) };
  let exitCode = EXIT_OK;
  const program = declareProgram(io);
  declareCopy(program).action(
    async (ftpUrl: string, s3Url: string, options: CopyCommandOptions, command: Command) => {
      exitCode = await copyCommand(ftpUrl, s3Url, options, io, givenOptions(argv, command));
    },
  );
  declareMirror(program).action(async (ftpUrl: string, s3Url: string, options: MirrorCommandOptions) => {
    // Each FTP session listens to the stop signal, and so does the file it is reading: two per session
    // (and the listing), a bound the options set, above Node's default of 10 past five sessions.
    if (io.signal !== undefined) setMaxListeners(2 * options.concurrency + 2, io.signal);
    exitCode = await mirrorCommand(ftpUrl, s3Url, options, io);
  });
  declareSha256(program).action(async (s3Url: string, options: Sha256CommandOptions) => {
    exitCode = await sha256Command(s3Url, options, io);
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exitCode 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    throw error;
  }
}

/** The program: its name, help and version, and usage errors in the form of every other error. */
function declareProgram(io: CliIo): Command {
  return new Command()
    .name("ftp2s3")
    .description("Stream files from FTP servers into S3, storing nothing the server did not confirm.")
    .version("ftp2s3 0.1.0", "--version")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // A usage error is one line in the form of every other error: ftp2s3: INVALID_INPUT: ...
      outputError: (text, write) =>
        write(
          `ftp2s3: INVALID_INPUT: ${text
            .trim()
            .replace(/^error: /, "")
            .replace(/\s*\n\s*/g, " ")} (run ftp2s3 --help for usage)\n`,
        ),
    })
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  FTP_PASSWORD=... ftp2s3 ftp://alice@ftp.example.com/out/report.csv s3://bucket/inbox/",
        "  FTP_PASSWORD=... ftp2s3 --resumable ftp://alice@ftp.example.com/big.iso s3://bucket/isos/",
        "     (Ctrl-C stops it; it prints the ftp2s3 ... --resume <upload-id> command that goes on)",
        "  FTP_PASSWORD=... ftp2s3 mirror --recursive --include '**/*.csv' ftp://alice@ftp.example.com/out s3://bucket/out/",
        "  ftp2s3 copy --help    (the options of each command)",
      ].join("\n"),
    );
}

/** `ftp2s3 [copy] <ftp-url> <s3-url>` and its options. */
function declareCopy(program: Command): Command {
  return addCommonOptions(
    program
      .command("copy", { isDefault: true })
      .summary("copy one file into one object (the default: ftp2s3 <ftp-url> <s3-url>)")
      .description(
        "Copy one file into one object. The object is committed only when the server's final reply " +
          "confirms the transfer and the byte count matches its SIZE. The FTP password comes from FTP_PASSWORD.",
      )
      .argument("<ftp-url>", "ftp://[user@]host[:port]/path (ftps:// for explicit TLS)")
      .argument("<s3-url>", "s3://bucket/key; a key ending in / keeps the remote file name")
      .option("--overwrite", "replace an object that already exists at the key", false)
      .option(AFTER_COPY_FLAG, AFTER_COPY_HELP, afterCopyArgument)
      .option(
        "--skip-unchanged",
        "leave an object that records this source with the same size and modification time; copy otherwise",
        false,
      )
      .option(
        "--resumable",
        "Ctrl-C stops at a part boundary and keeps the upload, to go on later with --resume (exit 75)",
        false,
      )
      .option("--stop-after <seconds>", "stop as --resumable's Ctrl-C does after this long", positiveNumber)
      .option("--resume <upload-id>", "go on with the copy that stopped with this upload id")
      .option(
        "--state-dir <dir>",
        "where stopped copies keep what --resume needs (default $FTP2S3_STATE_DIR, else ~/.local/state/ftp2s3)",
      ),
  );
}

/** `ftp2s3 sha256 <s3-url>`: an object read back, its SHA-256 printed and, with --tag, written as its tag. */
function declareSha256(program: Command): Command {
  return program
    .command("sha256")
    .summary("read an object back and print its SHA-256 (--tag: write it as the object's sha256 tag)")
    .description(
      "Read an object back from S3 and print the SHA-256 of its bytes. With --tag, write it as the " +
        "object's sha256 tag, the tag a streamed copy carries: for an object stored without one (a " +
        "ranged fan-out, whose SHA-256 cannot be combined from its ranges, or a copy made with --no-tag).",
    )
    .argument("<s3-url>", "s3://bucket/key")
    .option("--tag", "write the SHA-256 as the object's sha256 tag (its other tags are kept)", false)
    .option(
      "--s3-endpoint <url>",
      "S3-compatible endpoint, path-style (default: $AWS_ENDPOINT_URL_S3, else AWS)",
    )
    .option("--region <region>", "S3 region (default: $AWS_REGION, else us-east-1)")
    .addOption(
      new Option("--progress <mode>", "auto: a line on a terminal, JSON lines otherwise")
        .choices(["auto", "tty", "json", "none"])
        .default("auto"),
    );
}

/** `ftp2s3 mirror <ftp-url-dir> <s3-url-prefix>` and its options. */
function declareMirror(program: Command): Command {
  return addCommonOptions(addReadinessOptions(mirrorOptions(program)));
}

/** The mirror command's own options: what to take, how to delete, where the manifest lives. */
function mirrorOptions(program: Command): Command {
  return program
    .command("mirror")
    .summary("mirror a directory into keys below a prefix")
    .description(
      "Mirror a directory: each file to the same relative key below the prefix. Files stored unchanged " +
        "are not read again; one failing file does not stop the others, and makes the exit status 1.",
    )
    .argument("<ftp-url-dir>", "ftp://[user@]host[:port]/directory")
    .argument("<s3-url-prefix>", "s3://bucket/prefix/")
    .option(
      "--include <glob>",
      "copy only paths (relative to the directory) matching it; repeatable",
      collect,
      [],
    )
    .option("--exclude <glob>", "leave out paths matching it; repeatable", collect, [])
    .option("--recursive", "descend into subdirectories", false)
    .option("--concurrency <n>", "FTP sessions at once", positiveInteger, DEFAULTS.mirrorConcurrency)
    .option(
      "--min-interval <ms>",
      "start files at least this many milliseconds apart, over all sessions, for servers that ban fast clients",
      wholeNumber,
      0,
    )
    .option("--delete", "delete objects below the prefix whose source file is gone", false)
    .option(AFTER_COPY_FLAG, AFTER_COPY_HELP, afterCopyArgument)
    .option(
      "--max-delete <n>",
      "with --delete: above this many deletions the run deletes none and exits 1 (default: 100 or a tenth of the prefix's objects, whichever is larger)",
      wholeNumber,
    )
    .option(
      "--allow-empty-source",
      "with --delete: an empty listing may delete what lies below it (by default it deletes nothing)",
      false,
    )
    .option(
      "--state-key <key>",
      "where the mirror's manifest lives: a key in the bucket or s3://bucket/key, outside the prefix (default .ftp2s3-state/<prefix>manifest.json)",
    )
    .option(
      "--max-depth <n>",
      `list at most this many levels below the directory (default ${DEFAULTS.planLimits.maxDepth})`,
      positiveInteger,
    )
    .option(
      "--max-entries <n>",
      `list at most this many entries in one run (default ${DEFAULTS.planLimits.maxEntries}); the rest counts as not listed`,
      positiveInteger,
    );
}

/** When a listed file is ready to be taken: the mirror's rules for files still being written. */
function addReadinessOptions(command: Command): Command {
  return command
    .option(
      "--min-age <seconds>",
      "take only files modified at least this long ago; younger ones wait for a later run",
      wholeNumber,
    )
    .option(
      "--stable-for <seconds>",
      "take a file only once its size and time stayed the same this long, seen by two runs (the manifest remembers)",
      wholeNumber,
    )
    .option(
      "--done-marker <pattern>",
      'take a file only once its marker is listed: "{name}.done" (one per file) or a glob like "*.ok" (one per directory); markers are never copied',
    )
    .option("--dry-run", "say what would be copied and deleted, change nothing", false);
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError("expected a whole number of 0 or more");
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
