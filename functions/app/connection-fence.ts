import type { FtpSourceOptions } from "../adapters/ftp-source.js";
import { type Lookup, resolveAllowedAddress } from "../adapters/host-resolution.js";
import type { PasswordSource } from "../adapters/passwords.js";
import {
  type Config,
  type ConnectionSettings,
  connectionSettingsOf,
  isStateKey,
  keyEscapeReason,
  keySpaceOf,
} from "../contracts/index.js";
import {
  type AfterCopy,
  type AfterCopyAsWritten,
  checkAfterCopy,
  type FileSource,
  NotAllowedError,
  type ObjectKey,
  objectKey,
  parentOf,
  type RemoteFilePath,
  type RemotePath,
  resolveAllowedDirectory,
  resolveAllowedFile,
  untilAborted,
} from "../core/index.js";
import { FilePacer, pacedSource } from "./file-pacer.js";
import {
  BudgetedSessions,
  DEFAULT_SLOT_WAIT,
  inProcessSessionBudgets,
  type SessionBudgets,
  type SlotWait,
} from "./session-budget.js";

/** What the fence needs from outside: the password secrets, the FTP client, and DNS. */
export interface FencePorts {
  passwords: PasswordSource;
  connect: (options: FtpSourceOptions) => Promise<FileSource>;
  /** Resolves host names; replaced in tests. */
  lookup?: Lookup | undefined;
  /** Where the budget of a connection with `maxSessions` is kept; default: in this process. */
  sessionBudgets?: SessionBudgets | undefined;
  /** How long a session waits for a free slot; default DEFAULT_SLOT_WAIT. */
  slotWait?: SlotWait | undefined;
}

/** A file a caller may read and the key it may write, as the fence resolved them. */
export interface FencedCopy {
  connection: ConnectionSettings;
  path: RemoteFilePath;
  key: ObjectKey;
  /** What becomes of the file once copied; a move target inside the connection's roots. */
  afterCopy: AfterCopy;
}

/** A directory a mirror job may read and the prefix it may write, as the fence resolved them. */
export interface FencedDirectory {
  remoteDir: RemotePath;
  keySpace: string;
  keyPrefix: string;
}

/**
 * The SSRF fence around the Lambda's callers: they name a configured connection, a path inside its
 * roots and a key inside its key space, never a host or a password; only the fence opens sessions.
 */
export class ConnectionFence {
  /** Each configured connection in bytes and milliseconds, converted once. */
  private readonly connections: ReadonlyMap<string, ConnectionSettings>;
  /** Per connection with `maxSessions`: its sessions within the budget. */
  private readonly budgeted = new Map<string, BudgetedSessions>();
  /** Per connection with `minIntervalMs`: the pace of its files in this process. */
  private readonly pacers = new Map<string, FilePacer>();
  private readonly sessionBudgets: SessionBudgets;

  constructor(
    private readonly config: Config,
    private readonly ports: FencePorts,
  ) {
    this.sessionBudgets = ports.sessionBudgets ?? inProcessSessionBudgets();
    this.connections = new Map(
      Object.entries(config.connections).map(([name, c]) => [name, connectionSettingsOf(c)]),
    );
  }

  /** The configured connection of that name; callers cannot name anything else. */
  connection(name: string): ConnectionSettings {
    const connection = this.connections.get(name);
    if (connection === undefined) throw new NotAllowedError(`no connection named "${name}" is configured`);
    return connection;
  }

  /** Checks a request against the fence and the key rules without transferring anything. */
  resolve(request: {
    connection: string;
    path: string;
    key?: string | undefined;
    afterCopy?: AfterCopyAsWritten | undefined;
  }): FencedCopy {
    const connection = this.connection(request.connection);
    const path = resolveAllowedFile(request.path, connection.roots, request.connection, connection.pathStyle);
    const key = objectKey(this.keyIn(request.connection, request.key ?? path.slice(1), "key"));
    const afterCopy = checkAfterCopy(request.afterCopy ?? "keep", {
      roots: { paths: connection.roots, connection: request.connection },
      sourceDir: parentOf(path),
      recursive: false,
    });
    return { connection, path, key, afterCopy };
  }

  /**
   * A mirror job's directory, inside the connection's roots, and its prefix, inside the connection's
   * key space (as a request's key is); `keySpace` is where that space begins.
   */
  resolveDirectory(job: { connection: string; remoteDir: string; prefix: string }): FencedDirectory {
    const connection = this.connection(job.connection);
    const remoteDir = resolveAllowedDirectory(
      job.remoteDir,
      connection.roots,
      job.connection,
      connection.pathStyle,
    );
    const keySpace = this.keyIn(job.connection, "", "key space");
    const keyPrefix = this.keyIn(job.connection, job.prefix, "mirror prefix");
    return { remoteDir, keySpace, keyPrefix };
  }

  /**
   * A mirror job's afterCopy: a move target inside the connection's roots and outside what the job
   * mirrors (INVALID_INPUT otherwise, before anything is listed).
   */
  mirrorAfterCopy(
    job: { connection: string; recursive: boolean; afterCopy?: AfterCopyAsWritten | undefined },
    remoteDir: RemotePath,
  ): AfterCopy {
    const connection = this.connection(job.connection);
    return checkAfterCopy(job.afterCopy ?? "keep", {
      roots: { paths: connection.roots, connection: job.connection },
      sourceDir: remoteDir,
      recursive: job.recursive,
    });
  }

  /**
   * A key below the connection's key space (`prefix` + its keyPrefix), or NOT_ALLOWED when it would
   * leave it: a leading "/", a "\\" (some tools read it as a separator) or a "." or ".." segment.
   * A prefix, not yet a key: the key rules are checked where a whole key is made (objectKey, keyFor).
   */
  keyIn(name: string, relative: string, what: string): string {
    const space = keySpaceOf(this.config, name);
    if (keyEscapeReason(relative) !== undefined) {
      throw new NotAllowedError(
        `the ${what} ${JSON.stringify(relative)} leaves connection "${name}"'s key space "${space}" (no leading "/", "\\", "." or ".." segments)`,
      );
    }
    const key = space + relative;
    if (isStateKey(this.config, key)) {
      throw new NotAllowedError(`the ${what} ${JSON.stringify(key)} lies in ftp2s3's own state`);
    }
    return key;
  }

  /**
   * A logged-in session that ends when `signal` fires, in every phase (the deadline covers them all),
   * within the connection's session budget and at its pace.
   */
  async openSource(name: string, signal: AbortSignal): Promise<FileSource> {
    const connect = () => this.connect(name, signal);
    const budgeted = this.budgetedSessions(name);
    const source = budgeted === undefined ? await connect() : await budgeted.open(connect, signal);
    const pacer = this.pacerOf(name);
    return pacer === undefined ? source : pacedSource(source, pacer);
  }

  /** Settles once the session slots given back so far are released: before an invocation ends. */
  async settled(): Promise<void> {
    await Promise.all([...this.budgeted.values()].map((b) => b.settled()));
  }

  private budgetedSessions(name: string): BudgetedSessions | undefined {
    const { maxSessions } = this.connection(name);
    if (maxSessions === undefined) return undefined;
    let budgeted = this.budgeted.get(name);
    if (budgeted === undefined) {
      budgeted = new BudgetedSessions(
        this.sessionBudgets(name, maxSessions),
        `connection "${name}" (maxSessions ${maxSessions})`,
        this.ports.slotWait ?? DEFAULT_SLOT_WAIT,
      );
      this.budgeted.set(name, budgeted);
    }
    return budgeted;
  }

  private pacerOf(name: string): FilePacer | undefined {
    const { minIntervalMs } = this.connection(name);
    if (minIntervalMs === undefined || minIntervalMs === 0) return undefined;
    let pacer = this.pacers.get(name);
    if (pacer === undefined) {
      pacer = new FilePacer(minIntervalMs);
      this.pacers.set(name, pacer);
    }
    return pacer;
  }

  private async connect(name: string, signal: AbortSignal): Promise<FileSource> {
    const connection = this.connection(name);
    const address = await untilAborted(
      () => resolveAllowedAddress(name, connection.host, connection.allowPrivateAddresses, this.ports.lookup),
      signal,
    );
    const secretArn = connection.passwordSecretArn;
    const password =
      secretArn === undefined ? undefined : await untilAborted(() => this.ports.passwords(secretArn), signal);
    return this.ports.connect({
      signal,
      minBytesPerSecond: connection.minBytesPerSecond,
      minRateWindowMs: connection.minRateWindowMs,
      keepAliveMs: connection.keepAliveMs,
      host: connection.host,
      address,
      port: connection.port,
      user: connection.anonymous ? undefined : connection.user,
      password,
      secure: connection.secure,
      ...(connection.caPem === undefined ? {} : { ca: connection.caPem }),
      ...(connection.encoding === undefined ? {} : { encoding: connection.encoding }),
      ...(connection.pipelining === undefined ? {} : { pipelining: connection.pipelining }),
      timeoutMs: connection.timeoutMs,
    });
  }
}
