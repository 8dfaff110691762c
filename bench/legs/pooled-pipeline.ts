/**
 * Diagnosis only (npm run bench -- --diagnose): a prototype of the FTP-to-S3 pipeline whose memory is
 * fixed up front, to measure what the command could reach. Not the product: no commit gate, no
 * progress, no abort handling.
 *
 * The difference from ftp2s3 (basic-ftp into lib-storage): the bytes are copied from each socket read
 * into one of queue + 1 part buffers allocated once, and a full buffer goes out as an UploadPart
 * while the next one fills. lib-storage instead keeps every socket chunk of the part being assembled,
 * then concatenates them into a new part-sized Buffer (two copies of the part at that moment), and
 * the chunks and the old parts stay allocated until V8 collects them. With FTP2S3_BENCH_GC=1 (and
 * node --expose-gc) a minor GC after each part frees the socket chunks at once.
 *
 *   node pooled-pipeline.mjs <host> <port> <user> <remote-path> <endpoint> <bucket> <key> <part-size> <queue-size>
 *
 * Prints one JSON line: { bytes, transferMs, parts }.
 */
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Client } from "basic-ftp";

const [host, port, user, remotePath, endpoint, bucket, key, partSizeText, queueText] = process.argv.slice(2);
if (!host || !port || !user || !remotePath || !endpoint || !bucket || !key || !partSizeText || !queueText) {
  process.stderr.write(
    "usage: pooled-pipeline <host> <port> <user> <path> <endpoint> <bucket> <key> <part-size> <queue>\n",
  );
  process.exit(2);
}
const partSize = Number(partSizeText);
const queueSize = Number(queueText);
const collect =
  process.env.FTP2S3_BENCH_GC === "1" ? (globalThis as { gc?: (o?: object) => void }).gc : undefined;

const started = performance.now();
const s3 = new S3Client({
  endpoint,
  forcePathStyle: true,
  region: "us-east-1",
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "",
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "",
  },
});
const ftp = new Client(30_000);
await ftp.access({ host, port: Number(port), user, password: process.env.FTP_PASSWORD ?? "", secure: false });
const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));

const free: Buffer[] = Array.from({ length: queueSize + 1 }, () => Buffer.allocUnsafeSlow(partSize));
const waitingForBuffer: (() => void)[] = [];
const inFlight = new Set<Promise<void>>();
const done: { PartNumber: number; ETag: string }[] = [];
const hash = createHash("sha256");
let current = free.pop()!;
let filled = 0;
let partNumber = 0;
let bytes = 0;

function send(buffer: Buffer, length: number): void {
  const number = ++partNumber;
  const upload = s3
    .send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        PartNumber: number,
        Body: buffer.subarray(0, length),
      }),
    )
    .then((result) => {
      done.push({ PartNumber: number, ETag: result.ETag ?? "" });
      free.push(buffer);
      waitingForBuffer.shift()?.();
    });
  inFlight.add(upload);
  void upload.finally(() => inFlight.delete(upload));
  collect?.({ type: "minor" });
}

async function nextBuffer(): Promise<Buffer> {
  while (free.length === 0) await new Promise<void>((resolve) => waitingForBuffer.push(resolve));
  return free.pop()!;
}

const sink = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    bytes += chunk.length;
    hash.update(chunk);
    void (async () => {
      let offset = 0;
      while (offset < chunk.length) {
        const n = chunk.copy(current, filled, offset);
        filled += n;
        offset += n;
        if (filled === partSize) {
          send(current, filled);
          filled = 0;
          current = await nextBuffer();
        }
      }
    })().then(() => callback(), callback);
  },
});

await ftp.downloadTo(sink, remotePath);
if (filled > 0 || partNumber === 0) send(current, filled);
while (inFlight.size > 0) await Promise.all(inFlight);
done.sort((a, b) => a.PartNumber - b.PartNumber);
await s3.send(
  new CompleteMultipartUploadCommand({
    Bucket: bucket,
    Key: key,
    UploadId,
    MultipartUpload: { Parts: done },
  }),
);
hash.digest("hex");
const transferMs = performance.now() - started;
ftp.close();
s3.destroy();
process.stdout.write(`${JSON.stringify({ bytes, transferMs, parts: partNumber })}\n`);
