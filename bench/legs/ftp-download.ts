/**
 * The FTP leg alone: one binary RETR through basic-ftp (as ftp2s3 does it) into a sink that counts
 * the bytes and drops them. Run as its own process by bench/run.ts, so its peak RSS and CPU time
 * compare with the pipeline's.
 *
 *   node ftp-download.mjs <host> <port> <user> <remote-path>     (password in FTP_PASSWORD)
 *
 * Prints one JSON line: { bytes, transferMs, reply }.
 */
import { Writable } from "node:stream";
import { Client } from "basic-ftp";

const [host, port, user, remotePath] = process.argv.slice(2);
if (!host || !port || !user || !remotePath) {
  process.stderr.write("usage: ftp-download <host> <port> <user> <remote-path>\n");
  process.exit(2);
}

const started = performance.now();
const client = new Client(30_000);
await client.access({
  host,
  port: Number(port),
  user,
  password: process.env.FTP_PASSWORD ?? "",
  secure: false,
});
let bytes = 0;
const discard = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    bytes += chunk.length;
    callback();
  },
});
const reply = await client.downloadTo(discard, remotePath);
const transferMs = performance.now() - started;
client.close();
process.stdout.write(`${JSON.stringify({ bytes, transferMs, reply: `${reply.code} ${reply.message}` })}\n`);
