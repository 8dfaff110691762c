import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { Writable } from "node:stream";
import { Client, type FTPResponse } from "basic-ftp";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sha256 } from "../support/bytes.js";
import {
  type FakeFtpOptions,
  type FakeFtpServer,
  retrScripts,
  startFakeFtpServer,
} from "../support/fake-ftp-server.js";

const PATH = "/data/file.bin";
const BIG = randomBytes(1024 * 1024);
// dataBefore150/repliesInOnePacket need the payload to fit into loopback socket buffers.
const SMALL = randomBytes(64 * 1024);

/** A destination that keeps everything basic-ftp pipes into it. */
class Sink extends Writable {
  private readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk);
    callback();
  }
  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const servers: FakeFtpServer[] = [];
const clients: Client[] = [];
const rawSockets: Socket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const socket of rawSockets.splice(0)) socket.destroy();
  const closing = servers.splice(0);
  for (const server of closing) expect(server.errors).toEqual([]);
  await Promise.all(closing.map((server) => server.close()));
});

async function serve(options: FakeFtpOptions = {}): Promise<FakeFtpServer> {
  const server = await startFakeFtpServer({ files: { [PATH]: BIG }, ...options });
  servers.push(server);
  return server;
}

async function connectClient(server: FakeFtpServer, timeoutMs = 1000): Promise<Client> {
  const client = new Client(timeoutMs);
  clients.push(client);
  await client.access({ host: server.host, port: server.port, user: "u", password: "p" });
  return client;
}

/** Downloads PATH and reports what the client saw: the settled outcome plus the bytes it received. */
async function download(
  server: FakeFtpServer,
  timeoutMs = 1000,
): Promise<{ sink: Sink; result: PromiseSettledResult<FTPResponse> }> {
  const client = await connectClient(server, timeoutMs);
  const sink = new Sink();
  const [result] = await Promise.allSettled([client.downloadTo(sink, PATH)]);
  return { sink, result: result! };
}

function rejection(result: PromiseSettledResult<unknown>): Error & { code?: unknown } {
  expect(result.status).toBe("rejected");
  return (result as PromiseRejectedResult).reason;
}

function fulfilled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === "rejected") throw result.reason;
  return result.value;
}

/** A bare socket for the few checks basic-ftp can't express (pipelining, what a hung QUIT looks like). */
async function rawSession(server: FakeFtpServer): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect(server.port, server.host);
  rawSockets.push(socket);
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    text += chunk;
  });
  await vi.waitFor(() => expect(text).toContain("220 fake ftp ready\r\n"));
  return { socket, received: () => text };
}

describe("fake FTP server, as observed by basic-ftp", () => {
  it("normal(): delivers 1 MiB byte-exact and answers 226", async () => {
    const server = await serve();
    const { sink, result } = await download(server);
    expect(fulfilled(result).code).toBe(226);
    expect(sink.data.length).toBe(BIG.length);
    expect(sha256(sink.data)).toBe(sha256(BIG));
    expect(server.commands).toEqual(
      expect.arrayContaining(["USER u", "PASS p", "TYPE I", "EPSV", `RETR ${PATH}`]),
    );
    expect(server.connections).toBe(1);
    expect(server.dataConnections).toBe(1);
  });

  it("normal(): answers 550 for a missing file", async () => {
    const server = await serve();
    const client = await connectClient(server);
    const [result] = await Promise.allSettled([client.downloadTo(new Sink(), "/missing")]);
    expect(rejection(result!).code).toBe(550);
  });

  it("normal(): serves from the REST offset", async () => {
    const server = await serve();
    const client = await connectClient(server);
    const sink = new Sink();
    const res = await client.downloadTo(sink, PATH, 1000);
    expect(res.code).toBe(226);
    expect(sha256(sink.data)).toBe(sha256(BIG.subarray(1000)));
    expect(server.commands).toEqual(expect.arrayContaining(["REST 1000", `RETR ${PATH}`]));
  });

  it("SIZE, MDTM and FEAT answer from the options", async () => {
    const server = await serve({ modifiedAt: new Date("2023-04-05T06:07:08Z") });
    const client = await connectClient(server);
    expect(await client.size(PATH)).toBe(BIG.length);
    expect((await client.lastMod(PATH))?.toISOString()).toBe("2023-04-05T06:07:08.000Z");
    expect([...(await client.features()).keys()]).toEqual(["SIZE", "MDTM", "EPSV", "PASV", "UTF8"]);
    await expect(client.size("/missing")).rejects.toMatchObject({ code: 550 });
  });

  it("fullDataThen('426 ...'): rejects with code 426 after all bytes arrived", async () => {
    const server = await serve({
      retr: retrScripts.fullDataThen("426 Connection closed; transfer aborted."),
    });
    const { sink, result } = await download(server);
    const err = rejection(result);
    expect(err.code).toBe(426);
    expect(err.message).toBe("426 Connection closed; transfer aborted.");
    expect(sha256(sink.data)).toBe(sha256(BIG));
  });

  it("shortDataThen226(): resolves with 226 although bytes are missing", async () => {
    const server = await serve({ retr: retrScripts.shortDataThen226(1000) });
    const { sink, result } = await download(server);
    expect(fulfilled(result).code).toBe(226);
    expect(sink.data).toEqual(BIG.subarray(0, 1000));
  });

  it("resetAfter(): rejects with ECONNRESET on the data socket", async () => {
    const server = await serve({ retr: retrScripts.resetAfter(64 * 1024) });
    const { sink, result } = await download(server);
    const err = rejection(result);
    expect(err.code).toBe("ECONNRESET");
    expect(err.message).toMatch(/ECONNRESET \(data socket\)/);
    expect(sink.data.length).toBeLessThanOrEqual(64 * 1024);
    // sha256 rather than toEqual: vitest's deep equality walks a 64 KiB buffer byte by byte (~300 ms).
    expect(sha256(sink.data)).toBe(sha256(BIG.subarray(0, sink.data.length)));
  });

  it("replyOnly('550 ...'): rejects with code 550 and no data", async () => {
    const server = await serve({ retr: retrScripts.replyOnly("550 No such file") });
    const { sink, result } = await download(server);
    expect(rejection(result).code).toBe(550);
    expect(sink.data.length).toBe(0);
  });

  it("replyOnly(['150 ...', '425 ...']): rejects with code 425 after the preliminary reply", async () => {
    const server = await serve({
      retr: retrScripts.replyOnly(["150 Opening data connection", "425 Can't open data connection"]),
    });
    const { sink, result } = await download(server);
    const err = rejection(result);
    expect(err.code).toBe(425);
    expect(err.message).toBe("425 Can't open data connection");
    expect(sink.data.length).toBe(0);
  });

  it("stallAfter(): a client with a 500 ms timeout gives up with a data socket timeout", async () => {
    const server = await serve({ retr: retrScripts.stallAfter(1000) });
    const started = Date.now();
    const { sink, result } = await download(server, 500);
    expect(rejection(result).message).toBe("Timeout (data socket)");
    expect(Date.now() - started).toBeLessThan(1500);
    expect(sink.data).toEqual(BIG.subarray(0, 1000));
  });

  it("dataBefore150(): resolves byte-exact", async () => {
    const server = await serve({ files: { [PATH]: SMALL }, retr: retrScripts.dataBefore150() });
    const { sink, result } = await download(server);
    expect(fulfilled(result).code).toBe(226);
    expect(sha256(sink.data)).toBe(sha256(SMALL));
  });

  it("reply226BeforeData(): waits for the data and resolves byte-exact", async () => {
    const server = await serve({ retr: retrScripts.reply226BeforeData() });
    const { sink, result } = await download(server);
    expect(fulfilled(result).code).toBe(226);
    expect(sha256(sink.data)).toBe(sha256(BIG));
  });

  it("repliesInOnePacket(): resolves byte-exact", async () => {
    const server = await serve({ files: { [PATH]: SMALL }, retr: retrScripts.repliesInOnePacket() });
    const { sink, result } = await download(server);
    expect(fulfilled(result).code).toBe(226);
    expect(sha256(sink.data)).toBe(sha256(SMALL));
  });

  it("dropControlDuringData(): rejects because the control connection ended", async () => {
    const server = await serve({ retr: retrScripts.dropControlDuringData(1000) });
    const { sink, result } = await download(server);
    expect(rejection(result).message).toBe("Server sent FIN packet unexpectedly, closing connection.");
    expect(sink.data).toEqual(BIG.subarray(0, 1000));
  });

  it("slow(): delivers byte-exact, spread over time", async () => {
    const server = await serve({ files: { [PATH]: SMALL }, retr: retrScripts.slow(16 * 1024, 50) });
    const started = Date.now();
    const { sink, result } = await download(server);
    expect(fulfilled(result).code).toBe(226);
    expect(sha256(sink.data)).toBe(sha256(SMALL));
    // Four chunks, three pauses between them.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it("reply250(): resolves with code 250", async () => {
    const server = await serve({ retr: retrScripts.reply250() });
    const { sink, result } = await download(server);
    const res = fulfilled(result);
    expect(res.code).toBe(250);
    expect(res.message).toBe("250 Requested file action okay, completed.");
    expect(sha256(sink.data)).toBe(sha256(BIG));
  });

  it("epsv: false makes the client fall back to PASV", async () => {
    const server = await serve({ epsv: false });
    const { sink, result } = await download(server);
    expect(fulfilled(result).code).toBe(226);
    expect(sha256(sink.data)).toBe(sha256(BIG));
    const transferCommands = server.commands.filter((c) => c === "EPSV" || c === "PASV");
    expect(transferCommands).toEqual(["EPSV", "PASV"]);
  });

  it("pasvHost elsewhere: basic-ftp refuses the PASV address and never connects", async () => {
    const server = await serve({ epsv: false, pasvHost: "10.1.2.3" });
    const { result } = await download(server);
    const err = rejection(result);
    expect(err.message).toMatch(/^None of the available transfer strategies work\./);
    expect(err.message).toContain("PASV returned another host (10.1.2.3)");
    expect(server.commands).not.toContain(`RETR ${PATH}`);
    expect(server.dataConnections).toBe(0);
  });

  it("quit: 'hang' never answers QUIT, yet client.close() returns at once", async () => {
    const server = await serve({ quit: "hang" });
    const client = await connectClient(server, 300);
    await expect(client.send("QUIT")).rejects.toThrow("Timeout (control socket)");

    const other = await connectClient(server);
    const started = Date.now();
    other.close();
    expect(Date.now() - started).toBeLessThan(50);
    await vi.waitFor(() => expect(server.commands.filter((c) => c === "QUIT")).toHaveLength(2));
  });

  it("quit: 'reply' answers 221 and closes", async () => {
    const server = await serve();
    const { socket, received } = await rawSession(server);
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.write("QUIT\r\n");
    await closed;
    expect(received()).toBe("220 fake ftp ready\r\n221 Bye\r\n");
  });

  it("quit: 'hang' keeps the connection open and silent", async () => {
    const server = await serve({ quit: "hang" });
    const { socket, received } = await rawSession(server);
    socket.write("QUIT\r\n");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received()).toBe("220 fake ftp ready\r\n");
    expect(socket.destroyed).toBe(false);
    expect(socket.readableEnded).toBe(false);
  });

  it("lineEnding '\\n': a normal download still works", async () => {
    const server = await serve({ lineEnding: "\n" });
    const client = await connectClient(server);
    expect((await client.features()).has("SIZE")).toBe(true);
    const sink = new Sink();
    expect((await client.downloadTo(sink, PATH)).code).toBe(226);
    expect(sha256(sink.data)).toBe(sha256(BIG));
  });

  it("user/password mismatch rejects with 530; the right ones log in", async () => {
    const server = await serve({ user: "alice", password: "secret" });
    const client = new Client(1000);
    clients.push(client);
    await expect(
      client.access({ host: server.host, port: server.port, user: "alice", password: "wrong" }),
    ).rejects.toMatchObject({ code: 530, message: "530 Login incorrect." });
    await expect(
      client.access({ host: server.host, port: server.port, user: "bob", password: "secret" }),
    ).rejects.toMatchObject({ code: 530 });
    const res = await client.access({
      host: server.host,
      port: server.port,
      user: "alice",
      password: "secret",
    });
    expect(res.code).toBe(220);
    expect(await client.size(PATH)).toBe(BIG.length);
  });

  it("greeting: a 421 greeting makes access() reject with code 421", async () => {
    const server = await serve({ greeting: "421 Too many users" });
    const client = new Client(1000);
    clients.push(client);
    await expect(client.access({ host: server.host, port: server.port })).rejects.toMatchObject({
      code: 421,
      message: "421 Too many users",
    });
    expect(server.commands).toEqual([]);
  });

  it("handlers override a command; fallback() runs the built-in one", async () => {
    let sizeCalls = 0;
    const server = await serve({
      handlers: {
        size: (ctx) => {
          sizeCalls++;
          return sizeCalls === 1 ? ctx.reply("550 nope") : ctx.fallback();
        },
      },
    });
    const client = await connectClient(server);
    await expect(client.size(PATH)).rejects.toMatchObject({ code: 550, message: "550 nope" });
    expect(await client.size(PATH)).toBe(BIG.length);
  });

  it("a throwing handler yields 451 and is recorded in errors", async () => {
    const server = await serve({
      handlers: {
        NOOP: () => {
          throw new Error("boom");
        },
      },
    });
    const client = await connectClient(server);
    await expect(client.send("NOOP")).rejects.toMatchObject({ code: 451 });
    expect(server.errors.map((e) => e.message)).toEqual(["boom"]);
    server.errors.length = 0;
  });

  it("answers pipelined commands in order, split by CRLF or bare LF", async () => {
    const server = await serve();
    const { socket, received } = await rawSession(server);
    socket.write("NOOP\r\nSYST\nSIZE /data/file.bin\r\nBOGUS arg\r\n");
    await vi.waitFor(() => expect(received()).toContain("502"));
    expect(received()).toBe(
      "220 fake ftp ready\r\n200 NOOP ok\r\n215 UNIX Type: L8\r\n213 1048576\r\n502 Command not implemented\r\n",
    );
    expect(server.commands).toEqual(["NOOP", "SYST", "SIZE /data/file.bin", "BOGUS arg"]);
  });

  it("close() is idempotent and breaks an open transfer", async () => {
    const server = await serve({ retr: retrScripts.stallAfter(1000) });
    const client = await connectClient(server, 5000);
    const download = client.downloadTo(new Sink(), PATH);
    await vi.waitFor(() => expect(server.commands).toContain(`RETR ${PATH}`));
    await Promise.all([server.close(), server.close()]);
    await expect(download).rejects.toThrow();
    await server.close();
  });
});
