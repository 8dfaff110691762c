import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";
import type { FileSource, RangeReadEnd } from "../../functions/core/index.js";
import { remoteFilePath } from "../../functions/core/paths.js";
import { sha256 } from "../support/bytes.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { randomFile } from "../support/objects.js";

// A ranged read asks for [start, end) with REST + RETR and closes the data connection itself after
// the last byte: exactly those bytes arrive, and the server's answer to the cut is no failure.
const MiB = 1024 * 1024;
const file = randomFile(3 * MiB + 12_345);
const path = remoteFilePath("/big.bin");

/** Collects what a read delivers, and whether it was ended. */
function collector(): Writable & { bytes(): Buffer; ended: boolean } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
    final(callback) {
      sink.ended = true;
      callback();
    },
  }) as Writable & { bytes(): Buffer; ended: boolean };
  sink.ended = false;
  sink.bytes = () => Buffer.concat(chunks);
  return sink;
}

async function readOnce(
  session: () => Promise<FileSource>,
  start: number,
  end: number,
): Promise<{ data: Buffer; ended: RangeReadEnd; closedDestination: boolean }> {
  const source = await session();
  try {
    const into = collector();
    const ended = await source.downloadRange?.(path, into, new AbortController().signal, start, end);
    return { data: into.bytes(), ended: ended as RangeReadEnd, closedDestination: into.ended };
  } finally {
    source.close();
  }
}

describe("ranged read on ftp-srv", () => {
  let work: string;
  let ftp: EmbeddedFtpServer;
  const session = () =>
    connectFtpSource({
      host: ftp.host,
      port: ftp.port,
      user: ftp.user,
      password: ftp.password,
      secure: false,
      timeoutMs: 5000,
      cutReplyMs: 1000,
    });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-range-read-"));
    ftp = await startEmbeddedFtp({ root: join(work, "ftp") });
    await writeFile(join(work, "ftp", "big.bin"), file);
  });
  afterAll(async () => {
    await ftp.close();
    await rm(work, { recursive: true, force: true });
  });

  it.each([
    ["first", 0, MiB],
    ["middle", MiB + 7, 2 * MiB + 1],
    ["last", 2 * MiB, file.length],
  ])("the %s range: exactly its bytes, the destination ended", async (_, start, end) => {
    const { data, ended, closedDestination } = await readOnce(session, start, end);

    expect(data.length).toBe(end - start);
    expect(sha256(data)).toBe(sha256(file.subarray(start, end)));
    expect(closedDestination).toBe(true);
    expect(ended.cut).toBe(true);
    // Whatever ftp-srv answers to the cut is reported, not thrown: seen nothing (a range from byte 0),
    // "551 write ECONNRESET" (a middle range), 226 (the last range: it had sent everything).
    if (ended.reply !== null) expect([226, 426, 451, 551]).toContain(ended.reply.code);
  });
});

describe("ranged read on a scripted server", () => {
  let server: FakeFtpServer;
  let retr = retrScripts.normal();

  beforeAll(async () => {
    server = await startFakeFtpServer({
      files: { [path]: file },
      retr: (ctx) => retr(ctx),
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const session = () =>
    connectFtpSource({
      host: server.host,
      port: server.port,
      user: "u",
      password: "pw",
      secure: false,
      timeoutMs: 5000,
      cutReplyMs: 300,
    });

  it("sends REST then RETR for a range past byte 0, and RETR alone for the first", async () => {
    retr = retrScripts.normal();
    const before = server.commands.length;

    await readOnce(session, 1000, 2000);
    await readOnce(session, 0, 1000);

    const sent = server.commands.slice(before).filter((c) => /^(REST|RETR)/.test(c));
    expect(sent).toEqual(["REST 1000", "RETR /big.bin", "RETR /big.bin"]);
  });

  it("a server that answers the cut with 426: the range is complete, the reply reported", async () => {
    retr = retrScripts.slow(64 * 1024, 5);

    const { data, ended } = await readOnce(session, MiB, 2 * MiB);

    expect(sha256(data)).toBe(sha256(file.subarray(MiB, 2 * MiB)));
    expect(ended).toEqual({
      cut: true,
      reply: { code: 426, message: "Connection closed; transfer aborted." },
    });
  });

  it("a server that says nothing after the cut: resolved after the bound, reply null", async () => {
    retr = retrScripts.stallAfter(file.length);

    const { data, ended } = await readOnce(session, 0, 4096);

    expect(data.equals(file.subarray(0, 4096))).toBe(true);
    expect(ended).toEqual({ cut: true, reply: null });
  });

  it("data that ends before the range does: SIZE_MISMATCH, whatever the server says after", async () => {
    retr = retrScripts.shortDataThen226(1000);

    const reading = readOnce(session, 0, 4096);

    await expect(reading).rejects.toMatchObject({
      code: "SIZE_MISMATCH",
      expectedBytes: 4096,
      receivedBytes: 1000,
    });
  });

  it("a data connection reset mid-range: the FTP error, not a range", async () => {
    retr = retrScripts.resetAfter(10_000);

    await expect(readOnce(session, 0, MiB)).rejects.toMatchObject({
      code: expect.stringMatching(/^(FTP_DATA_CONNECTION|FTP_REPLY)$/),
    });
  });

  it("REST refused: FTP_NO_RESTART", async () => {
    retr = retrScripts.normal();
    const refusing = await startFakeFtpServer({
      files: { [path]: file },
      handlers: { REST: (ctx) => ctx.reply("502 Command not implemented") },
    });
    try {
      const source = await connectFtpSource({
        host: refusing.host,
        port: refusing.port,
        user: "u",
        password: "pw",
        secure: false,
        timeoutMs: 5000,
      });
      const reading = source.downloadRange?.(path, collector(), new AbortController().signal, 10, 20);
      await expect(reading).rejects.toMatchObject({ code: "FTP_NO_RESTART" });
      source.close();
    } finally {
      await refusing.close();
    }
  });
});
