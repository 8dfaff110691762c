/**
 * A TCP proxy in front of an FTP server's control port that holds every server→client byte for
 * `delayMs` (20 ms is a WAN round trip: each command waits that long for its reply). Client→server
 * bytes pass at once. Data connections do not pass here: PASV answers carry the real server's address
 * and port and EPSV answers only a port, which on 127.0.0.1 is the real server's too, so the data
 * flows direct and undelayed (opening it costs no extra round trip here, for either client).
 * It counts the commands clients send, by verb: what a client pays round trips for.
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface DelayProxy {
  port: number;
  /** FTP commands clients sent since the last reset, by verb (USER, PASV, RETR...). */
  commands(): Record<string, number>;
  resetCommands(): void;
  close(): Promise<void>;
}

export async function startDelayProxy(upstreamPort: number, delayMs: number): Promise<DelayProxy> {
  let commands: Record<string, number> = {};
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: upstreamPort });
    sockets.add(client).add(upstream);
    // A WAN link delays; it does not coalesce. Without TCP_NODELAY the proxy's own writes of a
    // multi-line reply (MLST's three lines, RETR's 150 then 226) waited for the client's delayed ACK,
    // ~40 ms a reply on loopback: a cost of the proxy, not of the client, and it hit ftp2s3 (MLST) harder.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let pending = "";
    client.on("data", (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      const lines = pending.split("\r\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const verb = line.split(" ")[0]!.toUpperCase();
        commands[verb] = (commands[verb] ?? 0) + 1;
      }
      upstream.write(chunk);
    });
    // Timers of equal delay fire in the order they were set: the replies keep their order.
    upstream.on("data", (chunk: Buffer) => {
      setTimeout(() => client.writable && client.write(chunk), delayMs);
    });
    upstream.on("end", () => setTimeout(() => client.end(), delayMs));
    client.on("end", () => upstream.end());
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close).on("close", () => setTimeout(close, delayMs));
    upstream.on("error", close).on("close", () => setTimeout(close, delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("delay proxy: no port");
  return {
    port: address.port,
    commands: () => ({ ...commands }),
    resetCommands() {
      commands = {};
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
