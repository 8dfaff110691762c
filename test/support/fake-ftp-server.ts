/**
 * A scriptable FTP server for tests, in the spirit of curl's and basic-ftp's own test servers: every
 * command can be answered exactly as a misbehaving real server would, so protocol faults are
 * reproducible. Listens on 127.0.0.1 only; passive mode only (no PORT/EPRT).
 */
import { createServer, type Socket } from "node:net";
import { retrScripts } from "./fake-ftp/retr-scripts.js";
import { type ResolvedOptions, type ServerState, Session } from "./fake-ftp/session.js";
import { LOOPBACK, Resources, swallowErrors } from "./fake-ftp/sockets.js";
import type { FakeFtpOptions, FakeFtpServer } from "./fake-ftp/types.js";

export { trickleLines } from "./fake-ftp/hostile.js";
export { replySplits } from "./fake-ftp/listings.js";
export { retrScripts } from "./fake-ftp/retr-scripts.js";
export type {
  CommandContext,
  CommandHandler,
  FakeFtpOptions,
  FakeFtpServer,
  FakeListing,
  RetrContext,
  RetrScript,
} from "./fake-ftp/types.js";

/** MDTM answer when `modifiedAt` is not given (MDTM reports it as "20240102030405"). */
export const defaultModifiedAt = new Date("2024-01-02T03:04:05Z");

function resolveOptions(options: FakeFtpOptions): ResolvedOptions {
  const handlers: ResolvedOptions["handlers"] = {};
  for (const [verb, handler] of Object.entries(options.handlers ?? {})) {
    handlers[verb.toUpperCase()] = handler;
  }
  return {
    files: options.files ?? {},
    user: options.user,
    password: options.password,
    modifiedAt: options.modifiedAt ?? defaultModifiedAt,
    epsv: options.epsv ?? true,
    pasvHost: options.pasvHost ?? LOOPBACK,
    features: options.features ?? ["SIZE", "MDTM", "EPSV", "PASV", "UTF8"],
    lineEnding: options.lineEnding ?? "\r\n",
    handlers,
    retr: options.retr ?? retrScripts.normal(),
    quit: options.quit ?? "reply",
    greeting: options.greeting ?? "220 fake ftp ready",
    listings: options.listings ?? {},
    listArgument: options.listArgument ?? "path",
    replySplit: options.replySplit,
    encoding: options.encoding ?? "utf8",
  };
}

/**
 * The first command `server` received after the first `seen` ones, waiting up to `withinMs` for it
 * (polled every 10 ms); undefined when none came. For scripts that act on what a client sent early.
 */
export async function commandAfter(
  server: FakeFtpServer,
  seen: number,
  withinMs: number,
): Promise<string | undefined> {
  for (let waited = 0; waited < withinMs && server.commands.length <= seen; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return server.commands[seen];
}

export async function startFakeFtpServer(options: FakeFtpOptions = {}): Promise<FakeFtpServer> {
  const resources = new Resources();
  const commands: string[] = [];
  const errors: Error[] = [];
  let connections = 0;
  let dataConnections = 0;
  let openSessions = 0;
  let peakSessions = 0;
  const retrTimes: number[] = [];
  const state: ServerState = {
    options: resolveOptions(options),
    resources,
    commands,
    errors,
    onDataConnection: () => {
      dataConnections++;
    },
  };

  const listener = createServer((control: Socket) => {
    connections++;
    resources.adopt(control);
    if (control.destroyed) return;
    if (options.maxSessions !== undefined && openSessions >= options.maxSessions) {
      // What vsftpd (max_clients) and proftpd (MaxClients) do: a 421 greeting, then close.
      control.end(`421 Too many connections (${options.maxSessions})\r\n`);
      return;
    }
    openSessions++;
    peakSessions = Math.max(peakSessions, openSessions);
    control.once("close", () => {
      openSessions--;
    });
    control.on("data", (chunk) => {
      if (/^RETR /im.test(chunk.toString("latin1"))) retrTimes.push(Date.now());
    });
    new Session(control, state).start();
  });
  swallowErrors(listener);
  await new Promise<void>((resolve) => listener.listen(0, LOOPBACK, resolve));
  const port = (listener.address() as { port: number }).port;

  let closing: Promise<void> | undefined;
  return {
    host: LOOPBACK,
    port,
    commands,
    errors,
    get connections() {
      return connections;
    },
    get dataConnections() {
      return dataConnections;
    },
    get peakSessions() {
      return peakSessions;
    },
    retrTimes,
    close() {
      closing ??= new Promise<void>((resolve) => {
        resources.destroyAll();
        listener.close(() => resolve());
      });
      return closing;
    },
  };
}
