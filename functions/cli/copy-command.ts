import { InvalidInputError } from "../core/errors.js";
import { assertRemoteFilePath, parseFtpUrl, parseS3Url, resolveKey } from "../core/locations.js";
import { copyFile } from "../core/transfer.js";
import { type CliIo, type CommonOptions, EXIT_OK, reportFailure, setUp } from "./common.js";
import { progressPrinter } from "./progress-view.js";

export interface CopyCommandOptions extends CommonOptions {
  overwrite: boolean;
  skipUnchanged: boolean;
}

/** ftp2s3 <ftp-url> <s3-url>: one file into one object, committed only when the server confirmed it. */
export async function copyCommand(ftpUrl: string, s3Url: string, options: CopyCommandOptions, io: CliIo) {
  try {
    const location = parseFtpUrl(ftpUrl, { implicitTls: options.implicitTls });
    assertRemoteFilePath(location.path);
    const s3 = parseS3Url(s3Url);
    const target = { bucket: s3.bucket, key: resolveKey(s3.key, location.path) };
    if (options.overwrite && options.skipUnchanged) {
      throw new InvalidInputError("--overwrite and --skip-unchanged exclude each other");
    }
    const setup = await setUp(location, options, io);
    const source = await setup.connect();
    try {
      const result = await copyFile(
        source,
        setup.sink,
        {
          path: location.path,
          target,
          ifExists: options.overwrite ? "replace" : options.skipUnchanged ? "skip-unchanged" : "fail",
        },
        {
          ...(options.partSize === undefined ? {} : { partSize: options.partSize }),
          queueSize: options.queueSize,
          progressIntervalMs: setup.progressMode === "tty" ? 250 : 1000,
          tagWithSha256: options.tag,
          ...(io.signal === undefined ? {} : { signal: io.signal }),
          onProgress: progressPrinter(setup.progressMode, io.stderr),
          onWarning: setup.warn,
        },
      );
      io.stdout.write(`${JSON.stringify(result)}\n`);
      return EXIT_OK;
    } finally {
      source.close();
    }
  } catch (error) {
    return reportFailure(error, io);
  }
}
