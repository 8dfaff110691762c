import { createS3Client } from "../adapters/s3-client.js";
import { readBackSha256, tagReadBack } from "../adapters/s3-read-back.js";
import { InvalidInputError, ProgressReporter, parseS3Url } from "../core/index.js";
import { type CliIo, EXIT_OK, reportFailure, s3Endpoint } from "./common.js";
import { type ProgressMode, progressPrinter } from "./progress-view.js";

export interface Sha256CommandOptions {
  tag: boolean;
  s3Endpoint?: string;
  region?: string;
  progress: "auto" | ProgressMode;
}

/**
 * `ftp2s3 sha256 s3://bucket/key [--tag]`: reads an object back and prints its SHA-256, and with
 * --tag writes it as the object's sha256 tag. For objects stored without one: a copy fanned out over
 * ranges (a SHA-256 cannot be combined from its ranges'), or one copied with --no-tag.
 */
export async function sha256Command(
  s3Url: string,
  options: Sha256CommandOptions,
  io: CliIo,
): Promise<number> {
  let close = () => {};
  try {
    const target = parseS3Url(s3Url);
    if (target.key === "" || target.key.endsWith("/")) {
      throw new InvalidInputError(`${s3Url} names no object: give its key (s3://bucket/key)`);
    }
    const endpoint = s3Endpoint(options, io.env);
    const client = createS3Client({ endpoint, region: options.region }, io.env);
    close = () => client.destroy();
    const mode = options.progress === "auto" ? (io.stderr.isTTY ? "tty" : "json") : options.progress;
    let progress: ProgressReporter | undefined;
    const read = await readBackSha256(
      client,
      target,
      (bytes, totalBytes) => {
        progress ??= new ProgressReporter({
          totalBytes,
          intervalMs: mode === "tty" ? 250 : 1000,
          emit: progressPrinter(mode, io.stderr),
        });
        progress.update(bytes);
      },
      io.signal,
    );
    progress?.finish(read.bytes);
    if (options.tag) await tagReadBack(client, target, read);
    io.stdout.write(
      `${JSON.stringify({ status: "read", bucket: target.bucket, key: target.key, ...read, tagged: options.tag })}\n`,
    );
    return EXIT_OK;
  } catch (error) {
    return reportFailure(error, io);
  } finally {
    close();
  }
}
