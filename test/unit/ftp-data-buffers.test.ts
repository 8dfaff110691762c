import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { pipeline, Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { socketReadingInto } from "../../functions/adapters/ftp-data-buffers.js";

let server: Server | undefined;
afterEach(() => server?.close());

/** A loopback server that sends `bytes` to whoever connects, then ends: a data connection's RETR. */
async function serving(bytes: Buffer): Promise<number> {
  server = createServer((socket) => socket.end(bytes));
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A destination that copies what it is written, as Intake does: released once copied (the write's callback). */
function copyingDestination(write: (chunk: Buffer, callback: () => void) => void) {
  const destination = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        write(chunk, callback);
      },
    }),
    {
      writeThenRelease(chunk: Buffer, release: () => void) {
        destination.write(chunk, release);
      },
    },
  );
  return destination;
}

/** Connects `socket` to `port`, piped into `destination` as basic-ftp pipes it; resolves at the end. */
function download(socket: Socket, destination: Writable, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    pipeline(socket, destination, (error) => (error ? reject(error) : resolve()));
    socket.connect(port, "127.0.0.1");
  });
}

describe("the data socket reading into reused buffers", () => {
  it("delivers every byte in order to a slow destination that copies, through few buffers, pausing meanwhile", async () => {
    // Arrange: a destination that copies each chunk and calls back late, as PartUpload does while
    // every part buffer is in flight.
    const sent = randomBytes(5 * 2 ** 20 + 123);
    const port = await serving(sent);
    const copies: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    let sawPaused = false;
    const destination = copyingDestination((chunk, callback) => {
      copies.push(Buffer.from(chunk));
      buffers.add(chunk.buffer);
      sawPaused ||= socket.isPaused();
      setTimeout(callback, copies.length % 8 === 0 ? 20 : 0);
    });
    const socket = socketReadingInto(destination);

    // Act
    await download(socket, destination, port);

    // Assert
    expect(Buffer.concat(copies).equals(sent)).toBe(true);
    expect(buffers.size).toBeLessThanOrEqual(4);
    expect(sawPaused).toBe(true);
  });

  it("reads the next downloads into the buffers the last ones left, byte-exact: a small file takes no new one", async () => {
    // Arrange: small files, one download after another on fresh data sockets, as a mirror makes them.
    const files = [randomBytes(16 * 1024), randomBytes(16 * 1024), randomBytes(3000)];
    const readWhole = async (bytes: Buffer) => {
      const port = await serving(bytes);
      const chunks: Buffer[] = [];
      const buffers = new Set<ArrayBufferLike>();
      const destination = copyingDestination((chunk, callback) => {
        chunks.push(Buffer.from(chunk));
        buffers.add(chunk.buffer);
        callback();
      });
      await download(socketReadingInto(destination), destination, port);
      await new Promise((resolve) => setImmediate(resolve)); // the socket's close, after the end
      server?.close();
      return { bytes: Buffer.concat(chunks), buffers };
    };

    // Act
    const first = await readWhole(files[0]!);
    const later = [await readWhole(files[1]!), await readWhole(files[2]!)];

    // Assert
    expect(first.bytes.equals(files[0]!)).toBe(true);
    for (const [index, { bytes, buffers }] of later.entries()) {
      expect(bytes.equals(files[index + 1]!)).toBe(true);
      for (const buffer of buffers)
        expect(first.buffers.has(buffer) || later[0]!.buffers.has(buffer)).toBe(true);
    }
  });
});
