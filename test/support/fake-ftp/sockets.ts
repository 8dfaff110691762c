import { createServer, type Server, type Socket } from "node:net";

export const LOOPBACK = "127.0.0.1";

const ignore = (): void => {};

/**
 * Peers in these tests reset and abandon connections on purpose, so ECONNRESET/EPIPE are expected;
 * an unhandled 'error' event would crash the whole test process instead.
 */
export function swallowErrors(emitter: Socket | Server): void {
  emitter.on("error", ignore);
}

/** Everything the fake server opened, so close() can tear it all down at once. */
export class Resources {
  closed = false;
  readonly sockets = new Set<Socket>();
  readonly servers = new Set<Server>();

  adopt(socket: Socket): void {
    swallowErrors(socket);
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  destroyAll(): void {
    this.closed = true;
    for (const server of this.servers) server.close();
    for (const socket of this.sockets) socket.destroy();
  }
}

/** A passive-mode listener that accepts exactly one data connection. */
export class PassiveChannel {
  private accepted: Socket | undefined;
  private rejectPending: ((err: Error) => void) | undefined;

  private constructor(
    private readonly listener: Server,
    readonly port: number,
    /** Settles with the first (and only) data connection. */
    readonly socket: Promise<Socket>,
  ) {}

  static async open(resources: Resources, onAccept: () => void): Promise<PassiveChannel> {
    const listener = createServer();
    swallowErrors(listener);
    resources.servers.add(listener);
    listener.once("close", () => resources.servers.delete(listener));
    let resolveSocket!: (socket: Socket) => void;
    let rejectSocket!: (err: Error) => void;
    const socket = new Promise<Socket>((resolve, reject) => {
      resolveSocket = resolve;
      rejectSocket = reject;
    });
    // Nobody may ever ask for the socket (e.g. the client refused the PASV address).
    socket.catch(ignore);
    await new Promise<void>((resolve) => listener.listen(0, LOOPBACK, resolve));
    const port = (listener.address() as { port: number }).port;
    const channel = new PassiveChannel(listener, port, socket);
    channel.rejectPending = rejectSocket;
    listener.on("connection", (conn: Socket) => {
      resources.adopt(conn);
      if (channel.accepted !== undefined) {
        conn.destroy();
        return;
      }
      onAccept();
      channel.accepted = conn;
      channel.rejectPending = undefined;
      listener.close();
      resolveSocket(conn);
    });
    return channel;
  }

  /** Stops listening; a connected data socket survives unless `destroySocket` is set. */
  close(destroySocket: boolean): void {
    this.listener.close();
    this.rejectPending?.(new Error("data channel closed before the client connected"));
    this.rejectPending = undefined;
    if (destroySocket) this.accepted?.destroy();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once `data` has been handed to the kernel (or the socket is gone). */
export function writeFlushed(socket: Socket, data: Buffer): Promise<void> {
  if (socket.destroyed || !socket.writable) return Promise.resolve();
  return new Promise((resolve) => {
    socket.write(data, () => resolve());
  });
}

/** Sends `data` and FIN; resolves on 'finish', i.e. without waiting for the client to read anything. */
export function endFlushed(socket: Socket, data: Buffer): Promise<void> {
  if (socket.destroyed || !socket.writable) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once("close", () => resolve());
    socket.end(data, () => resolve());
  });
}

/**
 * Sends `data` and FIN; resolves once the socket is fully closed, i.e. the client read to EOF and
 * closed its side, which is when a real server considers the transfer done and sends 226.
 */
export function endAndWaitClosed(socket: Socket, data?: Buffer): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once("close", () => resolve());
    if (!socket.writable) return;
    if (data) socket.end(data);
    else socket.end();
  });
}
