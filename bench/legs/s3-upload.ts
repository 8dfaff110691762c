/**
 * The S3 leg alone: the product's multipart driver (PartUpload over createS3Sink and createS3Client,
 * as copyFile runs it: same part size, same queue size) fed a file's bytes as a Readable of 64 KiB
 * Buffers, the size of the reads from an FTP data socket, then committed. The file was just written
 * by the bench, so the chunks come from the page cache: no FTP, no disk reads. No SHA-256: the hash
 * given to PartUpload does nothing, so this leg is the upload and nothing else (the pipeline hashes).
 * Bundled with the product's modules by bench/lib/setup.ts (compileLegs); run as its own process by
 * bench/run.ts.
 *
 *   node s3-upload.mjs <endpoint> <bucket> <key> <file> <part-size-bytes> <queue-size>
 *
 * Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Prints one JSON line: { bytes, transferMs, etag }.
 */
import { createReadStream, statSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createS3Client } from "../../functions/adapters/s3-client.js";
import { createS3Sink } from "../../functions/adapters/s3-sink.js";
import type { RunningHash } from "../../functions/core/index.js";
import { PartUpload } from "../../functions/core/index.js";

const [endpoint, bucket, key, file, partSize, queueSize] = process.argv.slice(2);
if (!endpoint || !bucket || !key || !file || !partSize || !queueSize) {
  process.stderr.write("usage: s3-upload <endpoint> <bucket> <key> <file> <part-size> <queue-size>\n");
  process.exit(2);
}

const noHash: RunningHash = { update: () => undefined, digest: () => "", save: () => undefined };

const started = performance.now();
const bytes = statSync(file).size;
const client = createS3Client({ endpoint });
const upload = new PartUpload(
  createS3Sink(client),
  { bucket, key },
  {
    partSize: Number(partSize),
    queueSize: Number(queueSize),
    metadata: {},
    ifNoneMatch: false,
    expectedBytes: bytes,
    hash: noHash,
  },
);
// As copyFile does: write everything, then commit (ending the stream commits nothing).
await pipeline(createReadStream(file, { highWaterMark: 64 * 1024 }), upload);
const result = await upload.commit();
const transferMs = performance.now() - started;
client.destroy();
process.stdout.write(`${JSON.stringify({ bytes, transferMs, etag: result.etag })}\n`);
