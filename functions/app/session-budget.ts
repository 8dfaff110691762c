import { abortReason, type FileSource, FtpBusyError } from "../core/index.js";
import { wrapSource } from "./wrapped-source.js";

/** A session slot held: released when the session ends. */
export interface SessionLease {
  release(): Promise<void>;
}

/**
 * The sessions one connection may have open at once (its `maxSessions`), counted wherever they are
 * opened. The Lambda shares one budget between all its invocations (a lease table, see
 * adapters/dynamodb-session-budget.ts): inline mirror sessions of overlapping schedules and queue
 * consumers together. The command counts within its own process.
 */
export interface SessionBudget {
  /** Takes a free slot, or gives undefined when every slot is held. */
  tryTake(): Promise<SessionLease | undefined>;
}

/** The budget of one connection, for its name and `maxSessions`. */
export type SessionBudgets = (connection: string, maxSessions: number) => SessionBudget;

/** A budget counted in this process only: the command's, and the Lambda's without a lease table. */
export class InProcessSessionBudget implements SessionBudget {
  private held = 0;

  constructor(private readonly maxSessions: number) {}

  async tryTake(): Promise<SessionLease | undefined> {
    if (this.held >= this.maxSessions) return undefined;
    this.held += 1;
    let released = false;
    return {
      release: async () => {
        if (!released) this.held -= 1;
        released = true;
      },
    };
  }
}

/** In-process budgets, one per connection, kept for the life of the process. */
export function inProcessSessionBudgets(): SessionBudgets {
  const budgets = new Map<string, SessionBudget>();
  return (connection, maxSessions) => {
    let budget = budgets.get(connection);
    if (budget === undefined) {
      budget = new InProcessSessionBudget(maxSessions);
      budgets.set(connection, budget);
    }
    return budget;
  };
}

/** How long a session waits for a slot, and how often it looks. */
export interface SlotWait {
  waitMs: number;
  pollMs: number;
}

/** About one small file's copy: a slot held by another session has likely come free by then. */
export const DEFAULT_SLOT_WAIT: SlotWait = { waitMs: 30_000, pollMs: 1_000 };

/**
 * Opens sessions within a budget: each waits a bounded time for a slot, then is refused with
 * FTP_BUSY as a full server's 421 is (the mirror's pool shrinks, a queued copy comes back later).
 * A session's slot is released when it closes; `settled` waits for the releases in flight, so an
 * invocation does not end (and freeze) with a slot it no longer uses still held.
 */
export class BudgetedSessions {
  private readonly releasing = new Set<Promise<void>>();

  constructor(
    private readonly budget: SessionBudget,
    /** What is named in the refusal: the connection and its limit. */
    private readonly what: string,
    private readonly wait: SlotWait = DEFAULT_SLOT_WAIT,
  ) {}

  async open(connect: () => Promise<FileSource>, signal: AbortSignal | undefined): Promise<FileSource> {
    const lease = await this.take(signal);
    let source: FileSource;
    try {
      source = await connect();
    } catch (error) {
      this.release(lease);
      throw error;
    }
    let closed = false;
    return wrapSource(source, {
      close: () => {
        source.close();
        if (!closed) this.release(lease);
        closed = true;
      },
    });
  }

  /** Settles once every slot given back so far is released (a failed release expires with its lease). */
  async settled(): Promise<void> {
    await Promise.all(this.releasing);
  }

  private async take(signal: AbortSignal | undefined): Promise<SessionLease> {
    const giveUpAt = Date.now() + this.wait.waitMs;
    for (;;) {
      if (signal?.aborted) throw abortReason(signal);
      const lease = await this.budget.tryTake();
      if (lease !== undefined) return lease;
      if (Date.now() + this.wait.pollMs > giveUpAt) {
        throw new FtpBusyError(
          `${this.what}: every session slot stayed taken for ${Math.round(this.wait.waitMs / 1000)} s`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.wait.pollMs));
    }
  }

  private release(lease: SessionLease): void {
    const releasing = lease.release().catch(() => {});
    this.releasing.add(releasing);
    void releasing.finally(() => this.releasing.delete(releasing));
  }
}
