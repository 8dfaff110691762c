import type { Socket } from "node:net";

export interface FakeFtpServer {
  readonly host: string; // "127.0.0.1"
  readonly port: number;
  /** Every command line received, in order, across sessions (raw, without CRLF). */
  readonly commands: string[];
  /** Number of control connections accepted so far. */
  readonly connections: number;
  /** Number of data connections accepted so far (EPSV/PASV listeners that saw a client). */
  readonly dataConnections: number;
  /** The most control connections that were open at once, refused ones (maxSessions) not counted. */
  readonly peakSessions: number;
  /** When each RETR command arrived (Date.now()), across sessions, in order. */
  readonly retrTimes: number[];
  /** Errors thrown by handlers or RETR scripts (socket errors are swallowed and not recorded). */
  readonly errors: Error[];
  close(): Promise<void>; // closes the listener and destroys every open socket, idempotent
}

export interface FakeFtpOptions {
  files?: Record<string, Buffer>; // absolute path -> content served by SIZE/MDTM/RETR; default {}
  user?: string; // when set, USER must match or PASS is answered with 530; default: accept anything
  password?: string; // when set, PASS must match or 530 is sent; default: accept anything
  modifiedAt?: Date; // MDTM answer for every existing file; default `defaultModifiedAt`
  epsv?: boolean; // default true; false answers EPSV with "502 Command not implemented"
  pasvHost?: string; // address advertised in the PASV reply; default "127.0.0.1"
  features?: string[]; // FEAT lines; default ["SIZE", "MDTM", "EPSV", "PASV", "UTF8"]
  lineEnding?: "\r\n" | "\n"; // line ending of every reply; default "\r\n"
  handlers?: Record<string, CommandHandler>; // override any command by its verb, e.g. { SIZE: ctx => ctx.reply("550 nope") }
  retr?: RetrScript; // how RETR behaves; default retrScripts.normal()
  quit?: "reply" | "hang"; // "hang" never answers QUIT and never closes; default "reply" (221 then close)
  greeting?: string | CommandHandler; // first reply on connect; default "220 fake ftp ready" (e.g. "421 Too many users"), or a script (verb "")
  listings?: Record<string, FakeListing>; // absolute dir -> what LIST/MLSD send; CWD succeeds into these; default {}
  listArgument?: "path" | "split-at-spaces"; // "split-at-spaces": LIST's argument is words, like inetutils ftpd; default "path"
  maxSessions?: number; // open sessions allowed at once; one more gets "421 Too many connections" and is closed; default unlimited
  replySplit?: (text: string) => string[]; // cuts every reply into TCP segments sent ~2 ms apart (see replySplits); default whole
  /**
   * "latin1": commands, replies and listings are bytes, one character each way, as on a server whose
   * names are not UTF-8: name `files` and `listings` by their bytes, e.g. "/in/caf\xe9.txt"; default "utf8".
   */
  encoding?: "utf8" | "latin1";
}

/** A directory's listing lines (without CRLF); an iterable may be endless (it stops when the client hangs up). */
export interface FakeListing {
  list?: Iterable<string>; // sent for LIST; undefined answers LIST with 550
  mlsd?: Iterable<string>; // sent for MLSD (announce it with features: [..., "MLST type*;size*;modify*;"]); undefined: 550
}

export interface CommandContext {
  verb: string; // upper-cased
  arg: string; // everything after the first space, untouched
  reply(line: string): void; // writes line + lineEnding on the control socket
  writeRaw(text: string): void; // writes exactly these bytes (several replies in one packet, overlong lines)
  control: Socket;
  file: Buffer | undefined; // files[arg] when it exists
  /** The line ending replies use, for building writeRaw() payloads. */
  lineEnding: "\r\n" | "\n";
  /** Argument of the last TYPE command in this session, e.g. "I"; undefined before any TYPE. */
  transferType: string | undefined;
  /** Runs the built-in behaviour for this command, so a handler can wrap rather than replace it. */
  fallback(): Promise<void>;
}

export interface RetrContext extends CommandContext {
  /** Resolves with the client's data connection (it connects after EPSV/PASV; wait for it if not yet there). */
  dataSocket(): Promise<Socket>;
  /** Offset from a preceding REST (0 without one); the built-in scripts serve file.subarray(restOffset). */
  restOffset: number;
}

export type CommandHandler = (ctx: CommandContext) => void | Promise<void>;
export type RetrScript = (ctx: RetrContext) => void | Promise<void>;
