import { InvalidInputError } from "../core/errors.js";
import { parseFtpUrl, parseS3Url } from "../core/locations.js";
import { runMirror } from "../core/mirror.js";
import { normaliseRemotePath } from "../core/paths.js";
import {
  type CliIo,
  type CommonOptions,
  EXIT_FAILED,
  EXIT_OK,
  reportFailure,
  setUp,
  stopStatus,
} from "./common.js";
import { formatBytes } from "./progress-view.js";

export interface MirrorCommandOptions extends CommonOptions {
  include: string[];
  exclude: string[];
  recursive: boolean;
  concurrency: number;
  delete: boolean;
  dryRun: boolean;
}

/**
 * ftp2s3 mirror <ftp-url-dir> <s3-url-prefix>: every file below the directory to the same relative
 * key below the prefix, skipping files stored unchanged. Exit 1 when any file failed.
 */
export async function mirrorCommand(ftpUrl: string, s3Url: string, options: MirrorCommandOptions, io: CliIo) {
  try {
    const location = parseFtpUrl(ftpUrl, { implicitTls: options.implicitTls });
    const remoteDir = normaliseRemotePath(location.path);
    const s3 = parseS3Url(s3Url);
    const keyPrefix = s3.key === "" || s3.key.endsWith("/") ? s3.key : `${s3.key}/`;
    if (keyPrefix.startsWith("/"))
      throw new InvalidInputError(`the S3 prefix ${JSON.stringify(keyPrefix)} starts with "/"`);
    const setup = await setUp(location, options, io);
    const printFile = filePrinter(setup.progressMode, io);
    const summary = await runMirror(
      setup.connect,
      setup.sink,
      s3.bucket,
      {
        remoteDir,
        keyPrefix,
        include: options.include,
        exclude: options.exclude,
        recursive: options.recursive,
        deleteExtraneous: options.delete,
        dryRun: options.dryRun,
      },
      {
        copy: {
          ...(options.partSize === undefined ? {} : { partSize: options.partSize }),
          queueSize: options.queueSize,
          memoryBudget: options.maxMemory,
          tagWithSha256: options.tag,
          onWarning: setup.warn,
        },
        concurrency: options.concurrency,
        ...(io.signal === undefined ? {} : { signal: io.signal }),
        onFile: printFile,
      },
    );
    const { skippedEntries: _skipped, ...result } = summary;
    io.stdout.write(`${JSON.stringify(result)}\n`);
    const stopped = stopStatus(io, "the copies under way were aborted; run the mirror again to finish");
    return stopped ?? (summary.failed.length > 0 ? EXIT_FAILED : EXIT_OK);
  } catch (error) {
    return reportFailure(error, io);
  }
}

type FileEvent = Parameters<NonNullable<Parameters<typeof runMirror>[4]["onFile"]>>[0];

function filePrinter(mode: string, io: CliIo): (event: FileEvent) => void {
  if (mode === "none") return () => {};
  if (mode === "json") return (event) => io.stderr.write(`${JSON.stringify({ event: "file", ...event })}\n`);
  return (event) => {
    const what = event.outcome === "copied" ? `copied (${formatBytes(event.bytes)})` : event.outcome;
    const why = event.error ? `: ${event.error.code}: ${event.error.message}` : "";
    io.stderr.write(`${event.path} -> ${event.key}: ${what}${why}\n`);
  };
}
