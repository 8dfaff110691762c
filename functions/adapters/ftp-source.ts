import { isIP } from "node:net";
import type { Writable } from "node:stream";
import { type ConnectionOptions, TLSSocket } from "node:tls";
import { Client, FTPError } from "basic-ftp";
import type {
  DigestAlgorithm,
  FileSource,
  FtpReply,
  RangeReadEnd,
  RemoteEntry,
  RemoteFileInfo,
  RemoteFilePath,
  RemotePath,
  SourceDigest,
} from "../core/index.js";
import {
  abortReason,
  copiesChunks,
  DataConnectionError,
  DEFAULTS,
  Ftp2s3Error,
  FtpBusyError,
  FtpConnectionError,
  FtpLoginError,
  FtpReplyError,
  type FtpSecurity,
  formatFtpUrl,
  InvalidInputError,
  RestartRefusedError,
  SizeMismatchError,
  TransferTimeoutError,
} from "../core/index.js";
import { SessionBoundary } from "./ftp-boundary.js";
import { socketReadingInto } from "./ftp-data-buffers.js";
import { DIGEST_VERBS, ServerDigests } from "./ftp-digests.js";
import { announcesRestStream, keepLoginFeatures } from "./ftp-features.js";
import { defaultListingLimits, type ListingLimits, listDirectory } from "./ftp-listing.js";
import { ServerMlst } from "./ftp-mlst.js";
import { PassiveAhead } from "./ftp-passive-ahead.js";
import { DEFAULT_CUT_REPLY_MS, readRange } from "./ftp-range-read.js";
import { busyReason, parseMdtmReply, parseSizeReply, replyText } from "./ftp-replies.js";
import { deleteRemoteFile, makeRemoteDirectory, renameRemoteFile } from "./ftp-source-actions.js";
import { watchReplies } from "./ftp-watchdog.js";
import { type NameCodec, nameCodecFor, readableEntries, speakServerEncoding } from "./name-encoding.js";
import { scrubbingLog, secretScrubber } from "./secret-scrub.js";

export interface FtpSourceOptions {
  /** The server's name: shown in URLs and checked against its TLS certificate. */
  host: string;
  /** The address to connect to when it was resolved (and checked) beforehand; default: resolve `host`. */
  address?: string;
  port: number;
  /** Login name; undefined logs in as "anonymous". */
  user: string | undefined;
  /** Never logged, never part of a message. */
  password: string | undefined;
  secure: FtpSecurity;
  /** PEM certificates to trust for FTPS instead of Node's built-in CAs. Verification is always on. */
  ca?: string | Buffer;
  /** Milliseconds without progress before giving up: connecting, waiting for a reply, or a stalled data connection. */
  timeoutMs: number;
  /**
   * Receives basic-ftp's protocol log (it writes PASS as "PASS ###"; anything the server echoes of
   * the password is scrubbed).
   */
  log?: (line: string) => void;
  /** Bounds for one directory's listing; default `defaultListingLimits` (100,000 entries, 64 MiB). */
  listing?: Partial<ListingLimits>;
  /**
   * Ends the session when it fires (the Lambda's deadline, Ctrl-C): connecting, logging in and every
   * command in flight reject with its reason.
   */
  signal?: AbortSignal;
  /** A data connection delivering fewer bytes a second than this over `minRateWindowMs` is stopped; 0: never. */
  minBytesPerSecond?: number;
  minRateWindowMs?: number;
  /** The setting that changes the minimum rate, named in its error. Default "minBytesPerSecond". */
  rateSetting?: string;
  /**
   * Idle time before TCP keepalive probes start on the control connection, which stays silent while
   * a file downloads: NAT gateways and firewalls drop flows idle for a few minutes. Whole seconds
   * (the kernel's unit); default `DEFAULTS.keepAliveMs`; 0 turns keepalive off.
   */
  keepAliveMs?: number;
  /**
   * The encoding of the server's names, checked where it entered (serverEncodingProblem); default
   * "utf8". Keys and messages use the names in UTF-8; commands send the server's own bytes.
   */
  encoding?: string;
  /**
   * Sends the next transfer's EPSV when a download's data connection ends, before the RETR's final
   * reply (ftp-passive-ahead.ts): one round trip less a file. Default true; false for a server that
   * cannot take a command before it answered the one before.
   */
  pipelining?: boolean;
  /** The reply bound of a digest command (the server reads the whole file first); default `DEFAULTS.digestTimeoutMs`. */
  digestTimeoutMs?: number;
  /** How long a ranged read waits for the server's reply to the transfer it cut; default 3 s. */
  cutReplyMs?: number;
}

/** Builds the basic-ftp client; injected so tests can observe or replace it. */
export type FtpClientFactory = (timeoutMs: number) => Client;

// allowSeparateTransferHost stays false (basic-ftp's default): a PASV reply naming another host than
// the control connection's is refused, so a server cannot point our data connection anywhere else.
const defaultClientFactory: FtpClientFactory = (timeoutMs) =>
  new Client(timeoutMs, { allowSeparateTransferHost: false });

/**
 * Connects and logs in: plain FTP, explicit TLS (AUTH TLS) or implicit TLS, then binary mode
 * (basic-ftp sends TYPE I). Transfers use passive mode, EPSV first and PASV when EPSV is refused.
 */
export async function connectFtpSource(
  options: FtpSourceOptions,
  createClient: FtpClientFactory = defaultClientFactory,
): Promise<FileSource> {
  const { signal } = options;
  if (signal?.aborted) throw abortReason(signal);
  const scrubber = secretScrubber(options.password);
  const names = await nameCodecFor(options.encoding ?? "utf8");
  const client = createClient(options.timeoutMs);
  keepLoginFeatures(client);
  speakServerEncoding(client, names);
  if (options.log) {
    client.ftp.verbose = true;
    client.ftp.log = scrubbingLog(options.log, scrubber);
  }
  const endpoint = formatFtpUrl(options, "");
  watchReplies(client, {
    timeoutMs: options.timeoutMs,
    minBytesPerSecond: options.minBytesPerSecond ?? DEFAULTS.minBytesPerSecond,
    windowMs: options.minRateWindowMs ?? DEFAULTS.minRateWindowMs,
    endpoint,
    rateOption: options.rateSetting ?? "minBytesPerSecond",
    slowReplies: { verbs: DIGEST_VERBS, timeoutMs: options.digestTimeoutMs ?? DEFAULTS.digestTimeoutMs },
  });
  // After watchReplies: a command that waits for the reply to an EPSV sent ahead waits within its bounds.
  const ahead = new PassiveAhead(client, options.pipelining ?? true);
  // closeWithError hands the reason to the command in flight, or to the next one.
  const stop = () => client.ftp.closeWithError(abortReason(signal as AbortSignal));
  signal?.addEventListener("abort", stop, { once: true });
  const release = () => signal?.removeEventListener("abort", stop);
  const secureOptions: ConnectionOptions = {
    // Stated, not left to the default: NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment would
    // otherwise turn verification off for implicit TLS (basic-ftp checks it itself only after AUTH TLS).
    rejectUnauthorized: true,
    // Connecting to a pinned address must not weaken TLS: the certificate is checked against the name.
    ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  };
  try {
    await client.access({
      host: options.address ?? options.host,
      port: options.port,
      user: options.user ?? "anonymous",
      // An account without a password still gets a PASS command: some servers expect an empty one.
      password: options.password ?? (options.user === undefined ? "anonymous@" : ""),
      secure: options.secure === false ? false : options.secure === "explicit" ? true : "implicit",
      secureOptions,
    });
    keepControlConnectionAlive(client, options.keepAliveMs ?? DEFAULTS.keepAliveMs);
    // Commands go out at once: Nagle's algorithm held a command sent ahead (ftp-passive-ahead.ts) until
    // the server acknowledged the one before, which its kernel does with its reply, a round trip later.
    client.ftp.socket.setNoDelay(true);
  } catch (error) {
    release();
    client.close();
    throw scrubber.error(
      signal?.aborted ? abortReason(signal) : classifyConnectError(error, endpoint, options),
    );
  }
  return new SessionBoundary(new FtpSource(client, options, names, ahead), {
    signal,
    scrubber,
    onClose: release,
  });
}

/**
 * Set once logged in, on the socket the session ended up with: AUTH TLS replaces basic-ftp's socket
 * with a TLSSocket, and basic-ftp's own setKeepAlive(true) carries no idle time (the system's 2 hours
 * on Linux; libuv's 60 s for implicit TLS, set before the socket exists). A TLSSocket passes the call
 * on to the TCP socket beneath it, whose packets are the ones that keep a NAT entry fresh.
 */
function keepControlConnectionAlive(client: Client, idleMs: number): void {
  client.ftp.socket.setKeepAlive(idleMs > 0, idleMs);
}

class FtpSource implements FileSource {
  /** The 550 a server gave to SIZE, per path: the truth when RETR then only shows a reset (proftpd). */
  private readonly sizeRefusals = new Map<string, FTPError>();
  private readonly digests: ServerDigests;
  private readonly mlst: ServerMlst;

  constructor(
    private readonly client: Client,
    private readonly location: Omit<FtpSourceOptions, "password">,
    /** Paths go out as the server's bytes, names come back in UTF-8 (name-encoding.ts). */
    private readonly names: NameCodec,
    private readonly ahead: PassiveAhead,
  ) {
    this.digests = new ServerDigests(client, {
      digestTimeoutMs: location.digestTimeoutMs ?? DEFAULTS.digestTimeoutMs,
    });
    this.mlst = new ServerMlst(client);
  }

  urlOf(path: string): string {
    return formatFtpUrl(this.location, path);
  }

  async list(dir: RemotePath): Promise<RemoteEntry[]> {
    const limits = { ...defaultListingLimits, ...this.location.listing };
    const wireDir = this.names.toWire(dir);
    try {
      return readableEntries(await listDirectory(this.client, wireDir, this.urlOf(dir), limits), this.names);
    } catch (error) {
      if (error instanceof Ftp2s3Error) throw error;
      throw classifyTransferError(error, this.urlOf(dir), this.location.timeoutMs, "LIST");
    }
  }

  async stat(path: RemoteFilePath): Promise<RemoteFileInfo> {
    this.sizeRefusals.delete(path);
    const wirePath = this.names.toWire(path);
    // One round trip where the server does MLST; SIZE and MDTM whenever it does not answer plainly.
    const listed = await this.ask(() => this.mlst.stat(wirePath));
    if (listed !== null) return listed;
    // Asked directly, not through basic-ftp's size() and lastMod(): see ftp-replies.ts.
    const sizeReply = await this.ask(
      () => this.client.send(`SIZE ${wirePath}`),
      (refusal) => {
        if (refusal.code === 550) this.sizeRefusals.set(path, refusal);
      },
    );
    let size: number | null = null;
    if (sizeReply !== null) {
      const text = replyText(sizeReply.message);
      const verdict = parseSizeReply(text);
      if ("problem" in verdict) {
        throw new FtpReplyError(`${this.urlOf(path)}: ${verdict.problem}`, sizeReply.code, text);
      }
      size = verdict.size;
    }
    const mdtmReply = await this.ask(() => this.client.send(`MDTM ${wirePath}`));
    return { size, modifiedAt: mdtmReply === null ? null : parseMdtmReply(replyText(mdtmReply.message)) };
  }

  async download(
    path: RemoteFilePath,
    destination: Writable,
    signal: AbortSignal,
    startAt = 0,
  ): Promise<FtpReply> {
    if (signal.aborted) throw signal.reason;
    const wirePath = this.names.toWire(path);
    // Closing the client is the only way to stop a running RETR in basic-ftp; it rejects the task.
    const onAbort = () => this.client.close();
    signal.addEventListener("abort", onAbort, { once: true });
    const ownSocket = this.readDataInto(destination);
    try {
      // With startAt > 0 basic-ftp sends REST first, and RETR only after the 350 that accepts it.
      const response = await this.ahead.duringDownload(() =>
        this.client.downloadTo(destination, wirePath, startAt),
      );
      return parseReply(response.code, response.message);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (startAt > 0 && isRestRefusal(error)) {
        const reply = parseReply((error as FTPError).code, (error as FTPError).message);
        throw new RestartRefusedError(
          `${this.urlOf(path)}: the server refused to start at byte ${startAt} (REST): ${reply.code} ${reply.message}`,
          { cause: error },
        );
      }
      const failure = classifyTransferError(error, this.urlOf(path), this.location.timeoutMs);
      const refusal = this.sizeRefusals.get(path);
      // proftpd opens the data connection, resets it, and only then replies 550 to RETR of a missing
      // file; basic-ftp reports the reset and closes. The 550 it gave to SIZE says what happened.
      if (failure instanceof DataConnectionError && refusal !== undefined) {
        throw classifyTransferError(refusal, this.urlOf(path), this.location.timeoutMs);
      }
      throw failure;
    } finally {
      ownSocket.restore();
      signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * The download's data socket reads into reused buffers (ftp-data-buffers.ts) when the destination
   * copies what it is given and the connection is plain. basic-ftp makes the data socket with
   * `_newSocket`, which makes the control socket only when it connects: the first socket it asks
   * for during the download is the data socket.
   */
  private readDataInto(destination: Writable): { restore(): void } {
    const ftp = this.client.ftp;
    if (!copiesChunks(destination) || ftp.socket instanceof TLSSocket) return { restore: () => {} };
    const original = ftp._newSocket;
    const restore = () => {
      ftp._newSocket = original;
    };
    ftp._newSocket = () => {
      restore();
      return socketReadingInto(destination);
    };
    return { restore };
  }

  async downloadRange(
    path: RemoteFilePath,
    destination: Writable,
    signal: AbortSignal,
    start: number,
    end: number,
  ): Promise<RangeReadEnd> {
    if (signal.aborted) throw signal.reason;
    const url = this.urlOf(path);
    const length = end - start;
    if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(end) || length < 1) {
      throw new InvalidInputError(`${url}: not a range of bytes to read: [${start}, ${end})`);
    }
    const onAbort = () => this.client.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const read = await readRange(
        this.client,
        this.names.toWire(path),
        destination,
        { start, length },
        { timeoutMs: this.location.timeoutMs, cutReplyMs: this.location.cutReplyMs ?? DEFAULT_CUT_REPLY_MS },
      );
      const reply = read.reply === null ? null : parseReply(read.reply.code, read.reply.message);
      if (read.bytes < length) {
        const said = reply === null ? "" : ` (the server said ${reply.code} ${reply.message})`;
        throw new SizeMismatchError(
          `${url}: the data connection ended after ${read.bytes} of the ${length} bytes from byte ${start}${said}`,
          length,
          read.bytes,
        );
      }
      return { reply, cut: read.cut };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof Ftp2s3Error) throw error;
      if (start > 0 && isRestRefusal(error)) {
        const reply = parseReply((error as FTPError).code, (error as FTPError).message);
        throw new RestartRefusedError(
          `${url}: the server refused to start at byte ${start} (REST): ${reply.code} ${reply.message}`,
          { cause: error },
        );
      }
      throw classifyTransferError(error, url, this.location.timeoutMs);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  // Paths go out as the server's bytes (toWire), as they do for SIZE, MDTM and RETR.
  deleteFile(path: RemoteFilePath): Promise<void> {
    return this.change("DELE", path, () => deleteRemoteFile(this.client, this.names.toWire(path)));
  }

  rename(from: RemoteFilePath, to: RemoteFilePath): Promise<void> {
    return this.change("RNFR/RNTO", from, () =>
      renameRemoteFile(this.client, this.names.toWire(from), this.names.toWire(to)),
    );
  }

  makeDirectory(dir: RemotePath): Promise<void> {
    return this.change("MKD", dir, () => makeRemoteDirectory(this.client, this.names.toWire(dir)));
  }

  async announcesRestStream(): Promise<boolean> {
    return announcesRestStream(await this.client.features());
  }

  async digestAlgorithms(): Promise<DigestAlgorithm[]> {
    return (await this.digests.offered()).map((command) => command.algorithm);
  }

  async digest(
    path: RemoteFilePath,
    algorithm: DigestAlgorithm,
  ): Promise<SourceDigest | { unavailable: string }> {
    try {
      return await this.digests.ask(this.names.toWire(path), algorithm);
    } catch (error) {
      throw classifyTransferError(error, this.urlOf(path), this.location.timeoutMs, "HASH");
    }
  }

  close(): void {
    // basic-ftp sends QUIT and destroys the socket at once, without waiting for the reply.
    this.client.close();
  }

  /** A command that changes the server (afterCopy), its failure named after it. */
  private async change(command: string, path: string, send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (error) {
      throw classifyTransferError(error, this.urlOf(path), this.location.timeoutMs, command);
    }
  }

  /** MLST, SIZE and MDTM are optional extensions: an error reply means "unknown", not a failed copy. */
  private async ask<Answer>(
    question: () => Promise<Answer>,
    onRefusal?: (refusal: FTPError) => void,
  ): Promise<Answer | null> {
    try {
      return await question();
    } catch (error) {
      if (error instanceof FTPError) {
        onRefusal?.(error);
        return null;
      }
      throw classifyTransferError(error, formatFtpUrl(this.location, ""), this.location.timeoutMs);
    }
  }
}

/**
 * The reply to REST, told from a failed RETR after it: basic-ftp reports either as the transfer's
 * error. RFC 959 and RFC 3659 give REST's refusals as 500, 501, 502, 504 and 554 (and 550 "REST not
 * supported" from some servers); a RETR fails with 425, 426, 450, 451, 550 or 553 for other reasons.
 */
function isRestRefusal(error: unknown): boolean {
  if (!(error instanceof FTPError)) return false;
  if ([500, 501, 502, 504, 554].includes(error.code)) return true;
  return error.code === 550 && /\bREST\b|restart/i.test(error.message);
}

/** "226 Transfer complete." -> { code: 226, message: "Transfer complete." }; multi-line replies keep their lines. */
function parseReply(code: number, text: string): FtpReply {
  const message = text.replace(/^\d{3}[ -]?/, "").trim();
  return { code, message };
}

function classifyConnectError(error: unknown, endpoint: string, options: FtpSourceOptions): Ftp2s3Error {
  if (error instanceof Ftp2s3Error) return error; // the watchdog's, already ours
  const busy = () =>
    new FtpBusyError(`${endpoint} is at its session limit: ${busyReason(error)}`, { cause: error });
  if (error instanceof FTPError) {
    if (busyReason(error) !== undefined) return busy();
    const reply = parseReply(error.code, error.message);
    if (error.code === 530 || error.code === 331 || error.code === 332) {
      const who = options.user === undefined ? "anonymous login" : `login as "${options.user}"`;
      const hint =
        options.user !== undefined && options.password === undefined ? " (FTP_PASSWORD is not set)" : "";
      return new FtpLoginError(
        `${endpoint}: ${who} refused: ${reply.code} ${reply.message}${hint}`,
        error.code,
        {
          cause: error,
        },
      );
    }
    return new FtpReplyError(
      `${endpoint} refused the session: ${reply.code} ${reply.message}`,
      reply.code,
      reply.message,
      {
        cause: error,
      },
    );
  }
  const message = describe(error);
  if (options.secure !== false && withoutReason(error)) {
    // An OpenSSL failure can come without a message: basic-ftp then leaves only " (control socket)".
    const code = (error as NodeJS.ErrnoException).code;
    return new FtpConnectionError(
      `cannot connect to ${endpoint}: the TLS session with ${options.host} failed during login and gave no reason${code === undefined ? "" : ` (${code})`}`,
      { cause: error },
    );
  }
  if (busyReason(error) !== undefined) return busy();
  if (/^Timeout/.test(message)) {
    return new TransferTimeoutError(
      `${endpoint}: no answer within ${options.timeoutMs / 1000} s while connecting`,
      {
        cause: error,
      },
    );
  }
  return new FtpConnectionError(`cannot connect to ${endpoint}: ${message}`, { cause: error });
}

/** Maps what basic-ftp rejects with during a command or transfer onto our errors. */
function classifyTransferError(
  error: unknown,
  url: string,
  timeoutMs: number,
  command = "RETR",
): Ftp2s3Error {
  if (error instanceof Ftp2s3Error) return error; // the watchdog's, already ours
  if (error instanceof FTPError) {
    const reply = parseReply(error.code, error.message);
    return new FtpReplyError(
      `${command} ${url} failed: ${reply.code} ${reply.message}`,
      reply.code,
      reply.message,
      {
        cause: error,
      },
    );
  }
  const message = describe(error);
  const onDataConnection = /\(data socket\)$|data connection|passive mode|PASV|EPSV/.test(message);
  if (/^Timeout/.test(message)) {
    const what = onDataConnection ? "no data arrived" : "the server did not answer";
    return new TransferTimeoutError(`${url}: ${what} for ${timeoutMs / 1000} s (${message})`, {
      cause: error,
    });
  }
  if (onDataConnection) {
    return new DataConnectionError(`${url}: the data connection failed: ${message}`, { cause: error });
  }
  return new FtpConnectionError(`${url}: the control connection failed: ${message}`, { cause: error });
}

/** An error whose message is empty once basic-ftp's " (control socket)" is taken off. */
function withoutReason(error: unknown): boolean {
  return error instanceof Error && error.message.replace(/\s*\((control|data) socket\)$/, "").trim() === "";
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
