/**
 * Passive mode asked ahead (ftp-passive-ahead.ts) against each real server: one session downloads
 * file after file, the next transfer's EPSV sent when a download's data ends. What must hold: every
 * file's bytes, every verdict (a missing file's 550 at the end), one EPSV a download and one more,
 * and a command after the last download still answered as its own. vsftpd also over explicit TLS.
 */
import { rm } from "node:fs/promises";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtpSource, type FtpSourceOptions } from "../../functions/adapters/ftp-source.js";
import { remoteFilePath } from "../../functions/core/paths.js";
import type { FileSource } from "../../functions/core/ports.js";
import { randomFile, sha256 } from "../support/objects.js";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";
import {
  INTEROP_PASSWORD,
  INTEROP_USER,
  reachableTempDir,
  skipInterop,
  writeServedFile,
} from "./fixtures.js";
import { type InteropServer, interopServerKinds, startInteropServer } from "./servers.js";

const FILES: Record<string, Buffer> = {
  "ahead/empty.bin": Buffer.alloc(0),
  "ahead/one.bin": randomFile(1),
  "ahead/small.bin": randomFile(70_000),
  "ahead/large.bin": randomFile(3 * 1024 * 1024 + 7),
};
const ORDER = ["ahead/small.bin", "ahead/empty.bin", "ahead/large.bin", "ahead/one.bin", "ahead/small.bin"];

let root: string;
beforeAll(async () => {
  root = await reachableTempDir("ftp2s3-interop-ahead-");
  for (const [name, data] of Object.entries(FILES)) await writeServedFile(root, name, data);
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function download(source: FileSource, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  const reply = await source.download(remoteFilePath(`/${path}`), sink, new AbortController().signal);
  expect(reply.code).toBeGreaterThanOrEqual(200);
  expect(reply.code).toBeLessThan(300);
  return sha256(Buffer.concat(chunks));
}

/** Downloads ORDER on one session; the protocol log's commands. */
async function downloadAll(options: Omit<FtpSourceOptions, "log">): Promise<string[]> {
  const log: string[] = [];
  const source = await connectFtpSource({ ...options, log: (line) => log.push(line) });
  try {
    for (const path of ORDER) expect(await download(source, path)).toBe(sha256(FILES[path] as Buffer));
    // A command after the last download: the reply to the EPSV sent ahead is not taken for its own.
    expect((await source.stat(remoteFilePath("/ahead/small.bin"))).size).toBe(70_000);
    expect(await download(source, "ahead/one.bin")).toBe(sha256(FILES["ahead/one.bin"] as Buffer));
    // A file that is not there fails with its own reply (proftpd resets the data connection first;
    // the 550 it gave to SIZE is the one told), not with the 229 of the EPSV sent ahead.
    expect(await source.stat(remoteFilePath("/ahead/missing.bin"))).toEqual({ size: null, modifiedAt: null });
    await expect(download(source, "ahead/missing.bin")).rejects.toThrow(/550/);
  } finally {
    source.close();
  }
  return log.filter((line) => line.startsWith("> ")).map((line) => line.slice(2).trim());
}

const account = { user: INTEROP_USER, password: INTEROP_PASSWORD, host: "127.0.0.1", timeoutMs: 10_000 };

for (const kind of interopServerKinds) {
  describe.skipIf(skipInterop(kind))(`passive mode asked ahead against ${kind}`, () => {
    let server: InteropServer;
    beforeAll(async () => {
      server = await startInteropServer(kind, { root, user: INTEROP_USER, password: INTEROP_PASSWORD });
    });
    afterAll(() => server?.stop());

    it("downloads file after file byte-exact, each download's EPSV sent ahead by the one before", async () => {
      const commands = await downloadAll({ ...account, port: server.port, secure: false });
      const epsvBeforeStat = commands.slice(
        0,
        commands.findIndex((c) => c.startsWith("MLST") || c.startsWith("SIZE")),
      );
      // One for the first download, then one sent ahead as each download's data ended.
      expect(epsvBeforeStat.filter((c) => c === "EPSV")).toHaveLength(ORDER.length + 1);
      expect(commands.filter((c) => c.startsWith("RETR"))).toHaveLength(ORDER.length + 2);
    });

    it("with pipelining off, asks once a download", async () => {
      const commands = await downloadAll({ ...account, port: server.port, secure: false, pipelining: false });
      const epsvBeforeStat = commands.slice(
        0,
        commands.findIndex((c) => c.startsWith("MLST") || c.startsWith("SIZE")),
      );
      expect(epsvBeforeStat.filter((c) => c === "EPSV")).toHaveLength(ORDER.length);
    });
  });
}

describe.skipIf(skipInterop("vsftpd"))("passive mode asked ahead over explicit TLS (vsftpd)", () => {
  let certs: TestCertificates;
  let server: InteropServer;
  beforeAll(async () => {
    certs = await makeTestCertificates();
    server = await startInteropServer("vsftpd", {
      root,
      user: INTEROP_USER,
      password: INTEROP_PASSWORD,
      tls: { certFile: certs.right.certFile, keyFile: certs.right.keyFile },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await certs?.remove();
  });

  it("downloads file after file byte-exact over TLS data connections", async () => {
    const ca = await import("node:fs/promises").then((fs) => fs.readFile(certs.caFile));
    const commands = await downloadAll({ ...account, port: server.port, secure: "explicit", ca });
    expect(commands.filter((c) => c.startsWith("RETR"))).toHaveLength(ORDER.length + 2);
  });
});
