/**
 * Lists one directory over a basic-ftp session: MLSD where the server announced it, else LIST, by
 * path first and from inside the directory (CWD) when the path is refused. The listing is read
 * whole, within bounds, before a single entry is handed on: a directory is listed completely or
 * the call fails with a ListingError that says why.
 */
import type { Socket } from "node:net";
import { type Client, type FTPContext, FTPError, type FTPResponse, type TaskResolver } from "basic-ftp";
import type { RemoteEntry } from "../core/index.js";
import { ListingError, MiB } from "../core/index.js";
import { type ListingFormat, parseListing } from "./ftp-listing-parse.js";

export interface ListingLimits {
  /** Entries one directory may hold; a longer listing fails "cut short". */
  maxEntries: number;
  /** Bytes one listing may take; the data connection is closed past it and the listing fails "cut short". */
  maxBytes: number;
}

export const defaultListingLimits: ListingLimits = { maxEntries: 100_000, maxBytes: 64 * MiB };

/** Room for the lines that carry no entry ("total", ".", ".."), so the line count alone can stop early. */
const NON_ENTRY_LINES = 3;
const MAX_QUOTED = 120;

/** Entries of `dir` (absolute); `url` names it in messages. Connection failures reject with basic-ftp's error. */
export async function listDirectory(
  client: Client,
  dir: string,
  url: string,
  limits: ListingLimits = defaultListingLimits,
): Promise<RemoteEntry[]> {
  // useDefaultSettings() put MLSD first when FEAT announced MLST; our list never narrows the list.
  const format: ListingFormat = client.availableListCommands.includes("MLSD") ? "MLSD" : "LIST";
  const commands = format === "MLSD" ? ["MLSD", "LIST -a", "LIST"] : ["LIST -a", "LIST"];
  const refusals: string[] = [];
  // BSD-derived servers (inetutils ftpd, OpenBSD ftpd) hand LIST's argument to ls, which splits it
  // at spaces: such a path would list other directories, or none, without any error reply.
  const byPath = format === "MLSD" ? ["MLSD"] : dir.includes(" ") ? [] : commands;
  for (const command of byPath) {
    const listing = await attempt(client, `${command} ${dir}`, refusals, limits);
    if (listing !== undefined) return read(listing, command, dir, url, limits);
  }
  try {
    await client.send(`CWD ${dir}`);
  } catch (error) {
    if (!(error instanceof FTPError)) throw error;
    refusals.push(describeRefusal(`CWD ${dir}`, error));
    throw refused(dir, url, refusals, error);
  }
  // Every other command of ours names an absolute path, so the new working directory is harmless.
  for (const command of commands) {
    const listing = await attempt(client, command, refusals, limits);
    if (listing !== undefined) return read(listing, command, dir, url, limits);
  }
  throw refused(dir, url, refusals, undefined);
}

/** The listing, or undefined when the server refused the command (noted in `refusals`). */
async function attempt(
  client: Client,
  command: string,
  refusals: string[],
  limits: ListingLimits,
): Promise<Received | undefined> {
  try {
    return await receive(client, command, limits);
  } catch (error) {
    if (!(error instanceof FTPError)) throw error;
    refusals.push(describeRefusal(command, error));
    return undefined;
  }
}

function read(
  received: Received,
  command: string,
  dir: string,
  url: string,
  limits: ListingLimits,
): RemoteEntry[] {
  const format: ListingFormat = command === "MLSD" ? "MLSD" : "LIST";
  if (received.cutShortAfterBytes !== undefined)
    throw cutShort(dir, url, `${received.cutShortAfterBytes} bytes`);
  let tooMany = false;
  const parsed = parseListing(received.text, format, (count) => {
    tooMany = count > limits.maxEntries;
    return !tooMany;
  });
  if (tooMany || received.lines > limits.maxEntries + NON_ENTRY_LINES) {
    throw cutShort(dir, url, `${limits.maxEntries} entries`);
  }
  if (parsed.badLines > 0) {
    const first = quote(parsed.firstBadLine ?? "");
    const lines = parsed.badLines === 1 ? "1 line" : `${parsed.badLines} lines`;
    throw new ListingError(
      `cannot list ${url}: ${lines} of the ${format} listing match no listing format (MLSD, Unix, DOS) or name an unsafe name; the first: ${first}`,
      dir,
      "unparsable",
    );
  }
  return parsed.entries;
}

function cutShort(dir: string, url: string, limit: string): ListingError {
  return new ListingError(
    `cannot list ${url}: the listing was cut short at ${limit} (the limit for one directory)`,
    dir,
    "cut-short",
  );
}

function refused(dir: string, url: string, refusals: string[], cause: unknown): ListingError {
  return new ListingError(`cannot list ${url}: ${refusals.join("; ")}`, dir, "refused", { cause });
}

function describeRefusal(command: string, error: FTPError): string {
  const text = error.message
    .replace(/^\d{3}[ -]?/, "")
    .replace(/\s+/g, " ")
    .trim();
  return `${command}: ${error.code} ${quote(text).slice(1, -1)}`;
}

function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text);
}

interface Received {
  text: string;
  /** Line feeds seen: the entry bound stops the transfer by this count before parsing. */
  lines: number;
  /** Set when the transfer was stopped at the byte or line bound. */
  cutShortAfterBytes: number | undefined;
}

/**
 * One listing transfer, like basic-ftp's own but bounded: past `maxBytes` (or past the entry bound
 * in lines) the data connection is closed, and the task still waits for the server's final reply
 * (426 or 226), so that the reply is not taken as the answer to the next command.
 */
async function receive(client: Client, command: string, limits: ListingLimits): Promise<Received> {
  await client.prepareTransfer(client.ftp);
  const data = client.ftp.dataSocket as Socket | undefined;
  if (data === undefined) throw new Error(`${command}: no data connection (passive mode)`);
  const transfer = new ListingTransfer(client.ftp, data, command, limits);
  return client.ftp.handle(command, (res, task) => transfer.onReply(res, task));
}

/** The state of one bounded listing transfer: the bytes read, and which of its two ends arrived. */
class ListingTransfer {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private lines = 0;
  private stopped = false;
  private started = false;
  private dataDone = false;
  private settled = false;
  private finalReply = false;
  private task: TaskResolver | undefined;

  constructor(
    private readonly ftp: FTPContext,
    private readonly data: Socket,
    private readonly command: string,
    private readonly limits: ListingLimits,
  ) {}

  onReply(res: Error | FTPResponse, task: TaskResolver): void {
    this.task = task;
    if (res instanceof Error) {
      // Once we closed the data connection at a bound, the 426 that follows is the expected end.
      if (this.stopped && res instanceof FTPError) {
        this.finalReply = true;
        this.finish();
        return;
      }
      this.finish(res);
      return;
    }
    if (res.code === 150 || res.code === 125) {
      this.start();
      return;
    }
    if (res.code >= 200 && res.code < 300) {
      // A server may confirm before we saw 150 (or send none): the data is still there to read.
      this.start();
      this.finalReply = true;
      if (this.dataDone) this.finish();
      return;
    }
    if (res.code >= 300 && res.code < 400) {
      this.ftp.closeWithError(new Error(`${this.command}: unexpected reply ${res.code} ${res.message}`));
    }
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    const { ftp, data } = this;
    // While data flows the control connection is idle: the data connection carries the timeout.
    ftp.socket.setTimeout(0);
    data.setTimeout(ftp.timeout, () => ftp.closeWithError(new Error("Timeout (data socket)")));
    data.on("data", (chunk: Buffer) => this.onData(chunk));
    data.once("end", () => this.endOfData());
    data.once("close", () => this.endOfData());
    data.once("error", (error) => {
      if (!this.stopped) this.finish(error);
    });
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.bytes += chunk.length;
    for (const byte of chunk) if (byte === 0x0a) this.lines += 1;
    if (this.bytes > this.limits.maxBytes || this.lines > this.limits.maxEntries + NON_ENTRY_LINES) {
      this.stopped = true;
      this.data.destroy();
      this.endOfData();
      return;
    }
    this.chunks.push(chunk);
  }

  private endOfData(): void {
    if (this.dataDone || this.settled) return;
    this.dataDone = true;
    this.data.setTimeout(0);
    // The reply to wait for now comes on the control connection: its timeout applies again.
    this.ftp.socket.setTimeout(this.ftp.timeout);
    if (this.finalReply) this.finish();
  }

  private finish(error?: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.ftp.dataSocket = undefined;
    const task = this.task as TaskResolver;
    if (error !== undefined) task.reject(error);
    else
      task.resolve({
        text: Buffer.concat(this.chunks).toString(this.ftp.encoding),
        lines: this.lines,
        cutShortAfterBytes: this.stopped ? this.bytes : undefined,
      });
  }
}
