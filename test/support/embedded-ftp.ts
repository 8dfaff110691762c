import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { resolve as resolvePath, sep } from "node:path";
import { FtpSrv } from "ftp-srv";

export interface EmbeddedFtpServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The folder the server serves as "/". */
  root: string;
  /** Logins the server was asked for: a client that refuses its certificate must never get that far. */
  readonly logins: number;
  /** RETR commands that delivered a file: what a no-change mirror run must not send. */
  readonly retrieved: number;
  /** Files delivered by RETR, by path below the root ("/outbox/a.csv"): how often each was read. */
  readonly retrievedPaths: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

// ftp-srv logs through bunyan; the tests and the demo want quiet servers.
const silentLogger = {
  child() {
    return silentLogger;
  },
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
};

type CommandHandler = (this: FtpConnection, ...args: unknown[]) => unknown;

interface FtpConnection {
  server: object;
  reply(code: number, ...lines: unknown[]): unknown;
}

/**
 * Changes one of ftp-srv's commands for the servers marked with `servers`, leaving any other server as
 * ftp-srv made it: its handlers are shared registry entries, so each is wrapped once.
 */
function commandOverride(
  directive: "FEAT" | "REST",
  changed: (this: FtpConnection & { original: CommandHandler }, ...args: unknown[]) => unknown,
): WeakSet<object> {
  const servers = new WeakSet<object>();
  const registry = require("ftp-srv/src/commands/registry") as Record<string, { handler: CommandHandler }>;
  const command = registry[directive] as { handler: CommandHandler };
  const original = command.handler;
  command.handler = function overridden(this: FtpConnection, ...args: unknown[]) {
    return servers.has(this.server)
      ? changed.call(Object.assign(Object.create(this), { original }), ...args)
      : original.apply(this, args);
  };
  return servers;
}

/**
 * ftp-srv takes REST but its FEAT does not announce `REST STREAM`, which every real server here does
 * and a ranged fan-out asks for: added for the servers started with restStream.
 */
const restStreamServers = lazy(() =>
  commandOverride(
    "FEAT",
    function featWithRestStream(this: FtpConnection & { original: CommandHandler }, ...args) {
      const reply = this.reply.bind(this);
      const withRest = (code: number, ...lines: unknown[]) =>
        code === 211 && lines.length > 1
          ? reply(code, ...lines.slice(0, -1), { message: " REST STREAM", raw: true }, ...lines.slice(-1))
          : reply(code, ...lines);
      return this.original.apply(Object.assign(Object.create(this), { reply: withRest }), args);
    },
  ),
);

/** A server that takes REST and then sends from byte 0 anyway, as some broken servers do. */
const restIgnoringServers = lazy(() =>
  commandOverride("REST", function restIgnored(this: FtpConnection) {
    return this.reply(350, "Restarting next transfer (not really)");
  }),
);

function lazy<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

/** ftp-srv on 127.0.0.1 with one account, serving `root`; passive ports picked by the OS range given. */
export async function startEmbeddedFtp(options: {
  root: string;
  user?: string;
  password?: string;
  pasvRange?: [number, number];
  /**
   * A certificate: explicit TLS (AUTH TLS), or implicit TLS (TLS from the first byte). Once the control
   * connection is secure, ftp-srv's passive data server is TLS too: PROT P gets 200, PROT C 536.
   */
  tls?: { key: string; cert: string; implicit?: boolean };
  /** FEAT lists `REST STREAM` (default true): false plays a server that does not announce it. */
  restStream?: boolean;
  /** REST is answered 350 and forgotten: RETR sends from byte 0. */
  ignoreRest?: boolean;
}): Promise<EmbeddedFtpServer> {
  const user = options.user ?? "demo";
  const password = options.password ?? "demo-password";
  const [pasvMin, pasvMax] = options.pasvRange ?? randomRange();
  await mkdir(options.root, { recursive: true });
  const server = new FtpSrv({
    url: `${options.tls?.implicit ? "ftps" : "ftp"}://127.0.0.1:0`,
    ...(options.tls ? { tls: { key: options.tls.key, cert: options.tls.cert } } : {}),
    pasv_url: "127.0.0.1",
    pasv_min: pasvMin,
    pasv_max: pasvMax,
    anonymous: false,
    greeting: "ftp2s3 embedded FTP server",
    log: silentLogger as never,
  });
  if (options.restStream ?? true) restStreamServers().add(server);
  if (options.ignoreRest) restIgnoringServers().add(server);
  let logins = 0;
  let retrieved = 0;
  const retrievedPaths = new Map<string, number>();
  server.on("login", ({ connection, username, password: given }, resolve, reject) => {
    logins += 1;
    if (username !== user || given !== password) {
      reject(new Error("Invalid user name or password"));
      return;
    }
    connection.on("RETR", (error: unknown, served?: string) => {
      if (error) return;
      retrieved += 1;
      // ftp-srv names the file by its path on disk.
      const path =
        served === undefined ? "?" : served.slice(resolvePath(options.root).length).split(sep).join("/");
      retrievedPaths.set(path, (retrievedPaths.get(path) ?? 0) + 1);
    });
    resolve({ root: options.root });
  });
  await server.listen();
  const address = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  return {
    host: "127.0.0.1",
    port: address.port,
    user,
    password,
    root: options.root,
    get logins() {
      return logins;
    },
    get retrieved() {
      return retrieved;
    },
    retrievedPaths,
    close: async () => {
      await server.close();
    },
  };
}

/** A passive range of its own for each server, so servers started at once do not collide. */
function randomRange(): [number, number] {
  const start = 40_000 + Math.floor(Math.random() * 200) * 100;
  return [start, start + 99];
}
