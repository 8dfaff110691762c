/**
 * Runs inside a fresh network namespace (see idle-middlebox.ts): sets up the middlebox on its
 * loopback, serves a file slowly from the fake FTP server, downloads it with connectFtpSource and
 * prints one JSON line, a MiddleboxOutcome. Root only (it writes netfilter settings of the namespace).
 */

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Writable } from "node:stream";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";
import { remoteFilePath } from "../../functions/core/index.js";
import { randomFile, sha256 } from "./bytes.js";
import { retrScripts, startFakeFtpServer } from "./fake-ftp-server.js";
import type { MiddleboxOutcome, MiddleboxRun } from "./idle-middlebox.js";

const run = JSON.parse(process.argv[2] as string) as MiddleboxRun;

const chunkDelayMs = 250;
const chunks = Math.ceil(run.silenceMs / chunkDelayMs) + 1;
const file = randomFile(chunks * 16 * 1024);

function setUpMiddlebox(port: number): void {
  // Both settings belong to this namespace only.
  writeFileSync(
    "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established",
    String(run.idleTimeoutSeconds),
  );
  writeFileSync("/proc/sys/net/netfilter/nf_conntrack_tcp_loose", "0");
  execFileSync("nft", ["-f", "-"], {
    input: `table inet middlebox {
      chain output {
        type filter hook output priority filter; policy accept;
        tcp dport ${port} ct state invalid counter drop
        tcp sport ${port} ct state invalid counter drop
      }
    }`,
  });
}

function droppedPackets(): number {
  const rules = execFileSync("nft", ["list", "table", "inet", "middlebox"], { encoding: "utf8" });
  return [...rules.matchAll(/counter packets (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

async function main(): Promise<MiddleboxOutcome> {
  execFileSync("ip", ["link", "set", "lo", "up"]);
  const server = await startFakeFtpServer({
    files: { "/slow.bin": file },
    retr: retrScripts.slow(16 * 1024, chunkDelayMs),
  });
  setUpMiddlebox(server.port);
  const received: Buffer[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk);
      done();
    },
  });
  const source = await connectFtpSource({
    host: server.host,
    port: server.port,
    user: "u",
    password: "p",
    secure: false,
    timeoutMs: run.timeoutMs,
    keepAliveMs: run.keepAliveMs,
  });
  try {
    const reply = await source.download(
      remoteFilePath("/slow.bin"),
      destination,
      new AbortController().signal,
    );
    return { reply, intact: sha256(Buffer.concat(received)) === sha256(file), dropped: droppedPackets() };
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { error: { code, message }, intact: false, dropped: droppedPackets() };
  } finally {
    source.close();
    await server.close();
  }
}

process.stdout.write(`${JSON.stringify(await main())}\n`);
