/**
 * The S3 leg alone: a lib-storage Upload (as ftp2s3 runs it: same part size, same queue size) of a
 * file's bytes as a Readable of Buffer chunks. The file was just written by the bench, so the chunks
 * come from the page cache: no FTP, no disk reads. Run as its own process by bench/run.ts.
 *
 *   node s3-upload.mjs <endpoint> <bucket> <key> <file> <part-size-bytes> <queue-size> [when-supported|when-required]
 *
 * Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Prints one JSON line: { bytes, transferMs, etag }.
 */
import { createReadStream, statSync } from "node:fs";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

const [endpoint, bucket, key, file, partSize, queueSize, checksums] = process.argv.slice(2);
if (!endpoint || !bucket || !key || !file || !partSize || !queueSize) {
  process.stderr.write(
    "usage: s3-upload <endpoint> <bucket> <key> <file> <part-size> <queue-size> [checksums]\n",
  );
  process.exit(2);
}
const mode = checksums === "when-required" ? "WHEN_REQUIRED" : "WHEN_SUPPORTED";

const started = performance.now();
const client = new S3Client({
  endpoint,
  forcePathStyle: true,
  region: "us-east-1",
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "",
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "",
  },
  requestChecksumCalculation: mode,
  responseChecksumValidation: mode,
});
// 64 KiB chunks: the size of the reads from an FTP data socket.
const body = createReadStream(file, { highWaterMark: 64 * 1024 });
const upload = new Upload({
  client,
  params: { Bucket: bucket, Key: key, Body: body },
  partSize: Number(partSize),
  queueSize: Number(queueSize),
});
const result = (await upload.done()) as { ETag?: string };
const bytes = statSync(file).size;
const transferMs = performance.now() - started;
client.destroy();
process.stdout.write(`${JSON.stringify({ bytes, transferMs, etag: result.ETag })}\n`);
