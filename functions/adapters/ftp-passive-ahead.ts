import type { Socket } from "node:net";
import { type Client, enterPassiveModeIPv6, type FTPContext, FTPError, type FTPResponse } from "basic-ftp";
import { connectForPassiveTransfer, parseEpsvResponse } from "basic-ftp/dist/transfer.js";

type Reply = FTPResponse | Error;
type PrepareTransfer = Client["prepareTransfer"];
type Handle = FTPContext["handle"];
/** basic-ftp's running task (protected in its types): its resolver ends the wait for a routed reply. */
type InternalContext = {
  _task?: { resolver: { resolve(value: unknown): void } };
  _passToHandler(reply: Reply): void;
};

/**
 * Passive mode asked ahead: one round trip less for every file but the first of a session that
 * downloads file after file (a mirror). Without it each file waits for two replies in turn, EPSV's
 * and RETR's; with it, the EPSV of the next transfer goes out when a download's data connection
 * ends, so its reply travels with the RETR's final one.
 *
 * The reply that decides a transfer stays the RETR's own. Why that holds:
 * - The EPSV goes out only after the server closed the data connection (its end of file), when the
 *   server has sent, or is about to send, its final reply to RETR, and only on a session where a
 *   plain EPSV already worked (no other strategy is ever sent ahead).
 * - A server reads its commands in order and answers them in order: the reply after the RETR's
 *   final one is the EPSV's. Until the RETR had its final reply, every reply is the RETR's except a
 *   229 (a reply RETR never gives); such a 229 means this server answers out of order, and asking
 *   ahead stops for the session. An error reply in that window is taken as the RETR's: the transfer
 *   fails (and is retried), never passes on a reply that was not its own.
 * - No other command goes out while the EPSV's reply is outstanding: any command first waits for it
 *   (with the session's reply bound, ftp-watchdog.ts). The next transfer connects to the port it
 *   names; a refusal, or a port that no longer answers, is followed by a fresh EPSV.
 * - A server that drops a command it received during a transfer would leave that wait to end in
 *   TIMEOUT. So a wait longer than a second (PROBE_AFTER_MS) sends a NOOP: its 200 (a reply EPSV
 *   never gives) coming first shows the EPSV was dropped; the session then asks for every transfer
 *   in turn. The EPSV's reply coming first is kept, and the NOOP's after it is read and dropped.
 */
export class PassiveAhead {
  /** Commands sent outside basic-ftp's tasks whose replies have not come, oldest first. */
  private unanswered: ("EPSV" | "NOOP")[] = [];
  /** The reply to the EPSV sent ahead, held for the next transfer. */
  private answer: Reply | undefined;
  /** A download is running that has not had its final reply. */
  private awaitingFinal = false;
  private downloading = false;
  /** Why asking ahead stopped on this session (a reply out of order, a dropped EPSV); undefined: it goes on. */
  private stopped: string | undefined;
  /** The strategy basic-ftp settles on (it assigns client.prepareTransfer once one works). */
  private strategy: PrepareTransfer;
  private readonly handle: Handle;

  constructor(
    private readonly client: Client,
    private readonly enabled: boolean,
  ) {
    const ftp = client.ftp;
    this.strategy = client.prepareTransfer;
    const prepareTransfer = (ftp: FTPContext) => this.prepareTransfer(ftp);
    Object.defineProperty(client, "prepareTransfer", {
      configurable: true,
      get: () => prepareTransfer,
      set: (strategy: PrepareTransfer) => {
        this.strategy = strategy;
      },
    });
    const internal = ftp as unknown as InternalContext;
    const pass = internal._passToHandler.bind(ftp);
    internal._passToHandler = (reply: Reply) => {
      if (!this.route(reply)) pass(reply);
    };
    this.handle = ftp.handle.bind(ftp);
    ftp.handle = ((command, handler) => {
      if (this.unanswered.length > 0) return this.settle().then(() => this.start(command, handler));
      return this.start(command, handler);
    }) as Handle;
  }

  private start(command: string | undefined, handler: Parameters<Handle>[1]): Promise<unknown> {
    // The download's own command (REST when it starts further on, then RETR): its replies from here.
    if (this.downloading && command !== undefined && /^(RETR|REST) /.test(command)) this.awaitingFinal = true;
    return this.handle(command, handler);
  }

  /** Runs one download (RETR), during which the next transfer's EPSV may be sent ahead. */
  async duringDownload<T>(run: () => Promise<T>): Promise<T> {
    this.downloading = true;
    try {
      return await run();
    } finally {
      this.downloading = false;
      this.awaitingFinal = false;
    }
  }

  /** Where a reply from the server goes: true when it answers a command sent ahead (kept here). */
  private route(reply: Reply): boolean {
    const isTransportFailure = reply instanceof Error && !(reply instanceof FTPError);
    if (isTransportFailure) {
      // The session is over; the running or the next task hears of it from basic-ftp.
      this.unanswered = [];
      this.answer = undefined;
      return false;
    }
    const code = reply instanceof FTPError ? reply.code : (reply as FTPResponse).code;
    if (this.awaitingFinal) {
      if (this.unanswered[0] === "EPSV" && code === 229) {
        this.stopAsking("the server answered the EPSV sent ahead before the RETR's final reply");
        this.answered(reply);
        return true;
      }
      if (isFinal(code)) this.awaitingFinal = false;
      return false;
    }
    if (this.unanswered.length === 0) return false;
    if (this.unanswered[0] === "EPSV" && this.unanswered[1] === "NOOP" && code === 200) {
      // The NOOP's reply came first: the server dropped the EPSV it received during the transfer.
      this.stopAsking("the server did not answer the EPSV sent ahead");
      this.unanswered.shift();
    }
    this.answered(reply);
    return true;
  }

  private answered(reply: Reply): void {
    if (this.unanswered.shift() === "EPSV") this.answer = reply;
    if (this.unanswered.length > 0) return;
    const endWait = this.endWait;
    this.endWait = undefined;
    endWait?.();
  }

  private stopAsking(reason: string): void {
    if (this.stopped !== undefined) return;
    this.stopped = reason;
    this.client.ftp.log(`No more commands sent ahead on this session: ${reason}.`);
  }

  /** Ends the task that waits for the replies to the commands sent ahead. */
  private endWait: (() => void) | undefined;
  private waiting: Promise<void> | undefined;

  /**
   * Waits for the replies to the commands sent ahead, as a task of its own without a command:
   * basic-ftp's and the watchdog's timeouts bound the wait, and a closed session rejects it.
   */
  private settle(): Promise<void> {
    if (this.unanswered.length === 0) return Promise.resolve();
    if (this.waiting !== undefined) return this.waiting;
    const ftp = this.client.ftp as unknown as InternalContext;
    // Only failures of the connection reach this handler: the replies are routed to answered().
    const task = this.handle(undefined, (failure, running) => running.reject(failure as Error));
    const resolver = ftp._task?.resolver;
    this.endWait = () => resolver?.resolve(undefined);
    const probe = setTimeout(() => {
      if (this.unanswered.length !== 1 || this.unanswered[0] !== "EPSV" || this.client.ftp.closed) return;
      this.unanswered.push("NOOP");
      this.client.ftp.send("NOOP");
    }, PROBE_AFTER_MS);
    const done = () => {
      clearTimeout(probe);
      this.waiting = undefined;
    };
    this.waiting = task.then(done, (error: unknown) => {
      done();
      throw error;
    });
    return this.waiting;
  }

  private async prepareTransfer(ftp: FTPContext): Promise<FTPResponse> {
    if (this.unanswered.length > 0) await this.settle();
    const answer = this.answer;
    this.answer = undefined;
    if (answer !== undefined && !(answer instanceof Error) && answer.code === 229) {
      try {
        const port = parseEpsvResponse(answer.message);
        await connectForPassiveTransfer(ftp.socket.remoteAddress as string, port, ftp);
        this.watchDataEnd(ftp);
        return answer;
      } catch (error) {
        ftp.log(`The port offered ahead did not answer (${(error as Error).message}); asking again.`);
      }
    }
    const reply = await this.strategy(ftp);
    this.watchDataEnd(ftp);
    return reply;
  }

  /** Sends the next EPSV when this download's data connection ends (the server closed it). */
  private watchDataEnd(ftp: FTPContext): void {
    if (!this.enabled || !this.downloading || this.stopped !== undefined) return;
    if (this.strategy !== enterPassiveModeIPv6) return;
    const dataSocket = ftp.dataSocket as Socket | undefined;
    dataSocket?.once("end", () => {
      const idle = this.unanswered.length === 0 && this.answer === undefined;
      if (!this.downloading || !idle || this.stopped !== undefined || ftp.closed) return;
      this.unanswered.push("EPSV");
      ftp.send("EPSV");
    });
  }
}

/**
 * How long the next command waits for the reply to an EPSV sent ahead before a NOOP asks whether
 * the server dropped it. The reply normally comes a round trip after the RETR's final one; a NOOP
 * sent to a server that was only slow costs a reply read and dropped.
 */
const PROBE_AFTER_MS = 1_000;

/** A reply that ends a command: a completion (2xx) or a refusal (4xx, 5xx); not 1xx, not 3xx. */
function isFinal(code: number): boolean {
  return (code >= 200 && code < 300) || code >= 400;
}
