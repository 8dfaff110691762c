import type { Socket } from "node:net";
import { resolvePath, sendListing } from "./listings.js";
import { PassiveChannel, type Resources } from "./sockets.js";
import type { CommandHandler, FakeListing, RetrContext, RetrScript } from "./types.js";

/** Options with every default filled in. */
export interface ResolvedOptions {
  files: Record<string, Buffer>;
  user: string | undefined;
  password: string | undefined;
  modifiedAt: Date;
  epsv: boolean;
  pasvHost: string;
  features: string[];
  lineEnding: "\r\n" | "\n";
  handlers: Record<string, CommandHandler>;
  retr: RetrScript;
  quit: "reply" | "hang";
  greeting: string | CommandHandler;
  listings: Record<string, FakeListing>;
  listArgument: "path" | "split-at-spaces";
  replySplit: ((text: string) => string[]) | undefined;
  encoding: "utf8" | "latin1";
}

/** State shared by every session of one server. */
export interface ServerState {
  readonly options: ResolvedOptions;
  readonly resources: Resources;
  readonly commands: string[];
  readonly errors: Error[];
  onDataConnection(): void;
}

type Builtin = (ctx: RetrContext) => void | Promise<void>;

/** Commands a real server answers before login; everything else gets 530 when credentials are set. */
const ALLOWED_BEFORE_LOGIN = new Set(["USER", "PASS", "QUIT", "FEAT", "OPTS", "SYST", "NOOP"]);

/** One control connection: parses command lines and answers them strictly one after another. */
export class Session {
  private pending = "";
  private queue: Promise<void> = Promise.resolve();
  private user: string | undefined;
  private loggedIn = false;
  private transferType: string | undefined;
  private restOffset = 0;
  private channel: PassiveChannel | undefined;
  private cwd = "/";
  /** Reply segments waiting to be sent one by one (replySplit). */
  private outgoing: string[] = [];

  constructor(
    private readonly control: Socket,
    private readonly state: ServerState,
  ) {}

  start(): void {
    this.control.setEncoding(this.state.options.encoding);
    this.control.on("data", (chunk: string) => this.onData(chunk));
    // A connected data socket must outlive the control connection (dropControlDuringData relies on it).
    this.control.once("close", () => this.channel?.close(false));
    const { greeting } = this.state.options;
    if (typeof greeting === "string") this.reply(greeting);
    // Commands wait for a scripted greeting, as they wait for each other.
    else this.queue = this.queue.then(() => greeting(this.context("", ""))).catch(() => {});
  }

  private onData(chunk: string): void {
    this.pending += chunk;
    // RFC 959 says CRLF, but lenient servers (and these tests) also accept a bare LF.
    const lines = this.pending.split(/\r?\n/);
    this.pending = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") continue;
      this.state.commands.push(line);
      // Pipelined commands wait for the previous one, as on a real single-threaded server session.
      this.queue = this.queue.then(() => this.dispatch(line));
    }
  }

  private reply(line: string): void {
    this.writeRaw(line + this.state.options.lineEnding);
  }

  private writeRaw(text: string): void {
    const split = this.state.options.replySplit;
    if (split === undefined) {
      if (!this.control.destroyed && this.control.writable)
        this.control.write(text, this.state.options.encoding);
      return;
    }
    const idle = this.outgoing.length === 0;
    this.outgoing.push(...split(text));
    if (idle) this.sendNextSegment();
  }

  /** One segment, then a pause, so that the client reads each one on its own. */
  private sendNextSegment(): void {
    const segment = this.outgoing[0];
    if (segment === undefined) return;
    if (!this.control.destroyed && this.control.writable) {
      this.control.setNoDelay(true);
      this.control.write(segment, this.state.options.encoding);
    }
    setTimeout(() => {
      this.outgoing.shift();
      this.sendNextSegment();
    }, 2);
  }

  private async dispatch(line: string): Promise<void> {
    if (this.control.destroyed) return;
    const space = line.indexOf(" ");
    const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
    const arg = space === -1 ? "" : line.slice(space + 1);
    const ctx = this.context(verb, arg);
    // REST only applies to the transfer that immediately follows it, even when RETR is overridden.
    if (verb === "RETR") this.restOffset = 0;
    const handler = this.state.options.handlers[verb];
    try {
      await (handler ? handler(ctx) : ctx.fallback());
    } catch (err) {
      // A script awaiting a data socket of a session that has gone away is not a bug in the script.
      if (this.control.destroyed) return;
      const error = err instanceof Error ? err : new Error(String(err));
      this.state.errors.push(error);
      this.reply(`451 Fake server handler failed: ${error.message.replace(/[\r\n]+/g, " ")}`);
    }
  }

  private context(verb: string, arg: string): RetrContext {
    const { files, lineEnding } = this.state.options;
    const channel = this.channel;
    const restOffset = this.restOffset;
    const ctx: RetrContext = {
      verb,
      arg,
      reply: (line) => this.reply(line),
      writeRaw: (text) => this.writeRaw(text),
      control: this.control,
      file: Object.hasOwn(files, arg) ? files[arg] : undefined,
      lineEnding,
      transferType: this.transferType,
      restOffset,
      dataSocket: () =>
        channel ? channel.socket : Promise.reject(new Error(`${verb} without a preceding EPSV/PASV`)),
      fallback: async () => {
        await this.builtin(verb)(ctx);
      },
    };
    return ctx;
  }

  private builtin(verb: string): Builtin {
    const { user, password } = this.state.options;
    const needsLogin = (user !== undefined || password !== undefined) && !this.loggedIn;
    if (needsLogin && !ALLOWED_BEFORE_LOGIN.has(verb)) {
      return (ctx) => ctx.reply("530 Please login with USER and PASS.");
    }
    return this.builtins[verb] ?? ((ctx) => ctx.reply("502 Command not implemented"));
  }

  private readonly builtins: Record<string, Builtin> = {
    USER: (ctx) => {
      this.user = ctx.arg;
      this.loggedIn = false;
      ctx.reply("331 Password required");
    },
    PASS: (ctx) => {
      const { user, password } = this.state.options;
      // Both checks happen at PASS so that the reply does not reveal which of the two was wrong.
      const ok =
        (user === undefined || user === this.user) && (password === undefined || password === ctx.arg);
      this.loggedIn = ok;
      ctx.reply(ok ? "230 Logged in" : "530 Login incorrect.");
    },
    FEAT: (ctx) => {
      const { features } = this.state.options;
      if (features.length === 0) return ctx.reply("211 No features");
      ctx.reply("211-Features:");
      for (const feature of features) ctx.reply(` ${feature}`);
      ctx.reply("211 End");
    },
    TYPE: (ctx) => {
      this.transferType = ctx.arg;
      ctx.reply(`200 Type set to ${ctx.arg}`);
    },
    STRU: (ctx) => ctx.reply("200 OK"),
    MODE: (ctx) => ctx.reply("200 OK"),
    OPTS: (ctx) => ctx.reply("200 OK"),
    PWD: (ctx) => ctx.reply(`257 "${this.cwd.replaceAll('"', '""')}" is the current directory`),
    CWD: (ctx) => {
      const { listings } = this.state.options;
      const dir = resolvePath(this.cwd, ctx.arg);
      // Without scripted listings every CWD succeeds, as before listings existed.
      if (Object.keys(listings).length > 0 && !Object.hasOwn(listings, dir)) {
        return ctx.reply(`550 ${ctx.arg}: No such file or directory`);
      }
      this.cwd = dir;
      ctx.reply("250 Directory changed");
    },
    LIST: (ctx) =>
      sendListing(
        ctx,
        this.state.options.listings,
        this.cwd,
        this.state.options.listArgument === "split-at-spaces",
        this.state.options.encoding,
      ),
    MLSD: (ctx) =>
      sendListing(ctx, this.state.options.listings, this.cwd, false, this.state.options.encoding),
    SYST: (ctx) => ctx.reply("215 UNIX Type: L8"),
    NOOP: (ctx) => ctx.reply("200 NOOP ok"),
    SIZE: (ctx) => ctx.reply(ctx.file ? `213 ${ctx.file.length}` : "550 No such file"),
    MDTM: (ctx) => ctx.reply(ctx.file ? `213 ${mdtm(this.state.options.modifiedAt)}` : "550 No such file"),
    EPSV: async (ctx) => {
      if (!this.state.options.epsv) return ctx.reply("502 Command not implemented");
      const port = await this.openChannel();
      ctx.reply(`229 Entering Extended Passive Mode (|||${port}|)`);
    },
    PASV: async (ctx) => {
      const port = await this.openChannel();
      const host = this.state.options.pasvHost.replaceAll(".", ",");
      ctx.reply(`227 Entering Passive Mode (${host},${port >> 8},${port & 255})`);
    },
    REST: (ctx) => {
      const offset = Number(ctx.arg);
      if (!/^\d+$/.test(ctx.arg) || !Number.isSafeInteger(offset)) {
        return ctx.reply("501 Invalid REST offset");
      }
      this.restOffset = offset;
      ctx.reply(`350 Restarting at ${offset}`);
    },
    RETR: (ctx) => this.state.options.retr(ctx),
    QUIT: (ctx) => {
      if (this.state.options.quit === "hang") return;
      ctx.reply("221 Bye");
      ctx.control.end();
    },
  };

  private async openChannel(): Promise<number> {
    // One data connection at a time per session, like real servers: a new EPSV/PASV drops the old one.
    this.channel?.close(true);
    this.channel = await PassiveChannel.open(this.state.resources, () => this.state.onDataConnection());
    if (this.control.destroyed) this.channel.close(true);
    return this.channel.port;
  }
}

/** MDTM's RFC 3659 time-val: YYYYMMDDHHMMSS in UTC. */
function mdtm(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, "")
    .replace(/[-T:]/g, "");
}
