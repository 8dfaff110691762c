/**
 * Real FTP servers from Debian for the interop suite, run as foreground processes on 127.0.0.1.
 *
 * The servers are not installed: scripts/interop-setup.sh downloads the Debian packages and unpacks them
 * under .cache/interop/root/, and it creates, as root, the system account `ftp2s3test` that the servers run
 * each FTP session as, and the PAM service file /etc/pam.d/ftp2s3-interop-vsftpd. vsftpd, proftpd and
 * pure-ftpd need the tests to run as root (they chroot and switch users per session); pyftpdlib doesn't.
 *
 * Every server gets: a free high control port (picked with a listener on port 0, retried when the server
 * could not bind it), a passive port range of its own (a block of 64 ports in 20000-31999, below Linux's
 * ephemeral ports, reserved with a lock file so that servers started at once, even from several processes,
 * never share one), a temp dir holding its config, its user database and its logs, and one virtual user
 * (any name and password) whose home and chroot is `root`. Sessions run as `ftp2s3test` when the tests run as root, so the
 * served tree must be readable by others (the default umask gives that; `root` itself is made o+rx).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, open, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  interopUnpackedRoot,
  launchers,
  PYFTPDLIB_PATH,
  repoRoot,
  SESSION_ACCOUNT,
  SYSTEM_PYTHON,
  VSFTPD_PAM_SERVICE,
} from "./launchers.js";
import { freePort, reservePassiveRange } from "./passive-ports.js";
import {
  type ExitInfo,
  groupGone,
  installExitHook,
  killGroup,
  readGreeting,
  readLogs,
  runningGroups,
} from "./processes.js";

export const interopServerKinds = ["vsftpd", "proftpd", "pure-ftpd", "pyftpdlib"] as const;
export type InteropServerKind = (typeof interopServerKinds)[number];

export interface InteropTlsOptions {
  certFile: string;
  keyFile: string;
  /** Implicit FTPS (TLS from the first byte) instead of explicit `AUTH TLS`. */
  implicit?: boolean;
}

export interface InteropServerOptions {
  /** The served tree: the user's home and chroot. */
  root: string;
  user: string;
  password: string;
  /** Only vsftpd supports TLS here. */
  tls?: InteropTlsOptions;
  /**
   * pyftpdlib only: names are the bytes on disk, not UTF-8, both ways (a server whose names are in
   * Latin-1 or a Windows code page, as its files were named).
   */
  rawNames?: boolean;
  /**
   * pyftpdlib only: each data connection sends at most this many bytes a second (its
   * ThrottledDTPHandler), as one session over a WAN would: the bench's ranged fan-out case.
   */
  throttleBytesPerSecond?: number;
}

export interface InteropServer {
  kind: InteropServerKind;
  host: "127.0.0.1";
  port: number;
  user: string;
  password: string;
  /** The server's process (group leader; its sessions are in its process group). */
  pid: number;
  /** The passive port range the server was configured with. */
  passivePorts: { min: number; max: number };
  /** Temp dir with the server's config and logs; removed by stop() unless FTP2S3_INTEROP_KEEP=1. */
  dir: string;
  /** The server's logs so far (its stdout/stderr and its own log files), for failure messages. */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

const SETUP_HINT = "run scripts/interop-setup.sh first (as root)";
const STARTUP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

const requiredFiles: Record<InteropServerKind, string[]> = {
  vsftpd: [path.join(interopUnpackedRoot, "usr/sbin/vsftpd")],
  proftpd: [path.join(interopUnpackedRoot, "usr/sbin/proftpd")],
  "pure-ftpd": [
    path.join(interopUnpackedRoot, "usr/sbin/pure-ftpd"),
    path.join(interopUnpackedRoot, "usr/bin/pure-pw"),
  ],
  pyftpdlib: [path.join(PYFTPDLIB_PATH, "pyftpdlib/__init__.py")],
};

const isRoot = () => process.getuid?.() === 0;

/** Why `kind` cannot run here, or undefined when it can. */
export function interopUnavailableReason(kind: InteropServerKind): string | undefined {
  const missing = requiredFiles[kind].filter((file) => !existsSync(file));
  if (missing.length > 0) {
    return `${kind} is not unpacked (${path.relative(repoRoot, missing[0]!)} missing): ${SETUP_HINT}`;
  }
  if ((kind === "pyftpdlib" || kind === "vsftpd") && !existsSync(SYSTEM_PYTHON)) {
    return `${kind} needs Debian's ${SYSTEM_PYTHON}: ${SETUP_HINT}`;
  }
  if (kind !== "pyftpdlib" && !isRoot()) {
    return `${kind} needs the tests to run as root (it chroots and switches to ${SESSION_ACCOUNT} per session)`;
  }
  if (isRoot() && !lookupAccount(SESSION_ACCOUNT)) {
    return `account ${SESSION_ACCOUNT} missing: ${SETUP_HINT}`;
  }
  if (kind === "vsftpd" && !existsSync(`/etc/pam.d/${VSFTPD_PAM_SERVICE}`)) {
    return `/etc/pam.d/${VSFTPD_PAM_SERVICE} missing: ${SETUP_HINT}`;
  }
  return undefined;
}

/** The Debian package versions that scripts/interop-setup.sh fetched, by kind (empty before setup). */
export function interopServerVersions(): Partial<Record<InteropServerKind, string>> {
  const file = path.join(repoRoot, ".cache/interop/versions.txt");
  if (!existsSync(file)) return {};
  const versions: Partial<Record<InteropServerKind, string>> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [name, version] = line.split(" ");
    if (name && version && (interopServerKinds as readonly string[]).includes(name)) {
      versions[name as InteropServerKind] = version;
    }
  }
  return versions;
}

function lookupAccount(name: string): { uid: number; gid: number } | undefined {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const fields = line.split(":");
    if (fields[0] === name && fields.length >= 4) return { uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  return undefined;
}

function libraryPath(): string {
  const dirs: string[] = [];
  for (const base of ["lib", "usr/lib"]) {
    const dir = path.join(interopUnpackedRoot, base);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) {
      if (entry.includes("-linux-")) dirs.push(path.join(dir, entry));
    }
  }
  return [...dirs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
}

function checkCredentials(options: InteropServerOptions): void {
  if (!/^[A-Za-z0-9._-]+$/.test(options.user)) {
    throw new Error(
      `interop servers take user names of [A-Za-z0-9._-] only, not ${JSON.stringify(options.user)}`,
    );
  }
  if (/[:\n\r\0]/.test(options.password) || options.password === "") {
    throw new Error("interop server passwords must be non-empty without ':', newlines or NUL");
  }
}

/** Sessions run as ftp2s3test: make `root` itself searchable and check that every parent is. */
async function makeRootReachable(root: string): Promise<void> {
  const info = await stat(root);
  if (!info.isDirectory()) throw new Error(`${root} is not a directory`);
  if (!isRoot()) return;
  if ((info.mode & 0o005) !== 0o005) await chmod(root, (info.mode & 0o7777) | 0o055);
  for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) {
      throw new Error(`${SESSION_ACCOUNT} cannot reach ${root}: ${dir} is not searchable by others (o+x)`);
    }
    if (dir === path.dirname(dir)) break;
  }
}

const BIND_FAILURE = /address already in use|EADDRINUSE|could not bind|unable to bind|cannot bind/i;

/**
 * Starts `kind` serving `options.root` to one user, on 127.0.0.1 at a free port, and resolves once it has
 * greeted a client with 220. Throws with the server's logs when it does not come up.
 */
export async function startInteropServer(
  kind: InteropServerKind,
  options: InteropServerOptions,
): Promise<InteropServer> {
  const unavailable = interopUnavailableReason(kind);
  if (unavailable) throw new Error(unavailable);
  if (options.tls && kind !== "vsftpd") throw new Error(`TLS is only wired up for vsftpd, not ${kind}`);
  checkCredentials(options);
  const root = path.resolve(options.root);
  await makeRootReachable(root);
  const resolved = { ...options, root };
  const account = isRoot() ? lookupAccount(SESSION_ACCOUNT) : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, LD_LIBRARY_PATH: libraryPath() };
  installExitHook();

  const passive = await reservePassiveRange();
  let lastFailure = "";
  try {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const dir = await mkdtemp(path.join(os.tmpdir(), `ftp2s3-interop-${kind}-`));
      await chmod(dir, 0o755);
      const port = await freePort();
      const spec = await launchers[kind]({ dir, port, passive, options: resolved, account, env });
      const output = await open(path.join(dir, "server.log"), "a");
      let child: ChildProcess;
      try {
        // Its own process group (detached), so that stop() ends the sessions' processes too.
        child = spawn(spec.command, spec.args, {
          cwd: dir,
          env: spec.env,
          stdio: [spec.stdinToLog ? output.fd : "ignore", output.fd, output.fd],
          detached: true,
        });
      } finally {
        await output.close();
      }
      child.unref();
      const pid = child.pid;
      const exited = new Promise<ExitInfo>((resolve) => {
        child.once("exit", (code, signal) => resolve({ code, signal }));
        child.once("error", (error) => resolve({ code: null, signal: null, error }));
      });
      let exitInfo: ExitInfo | undefined;
      void exited.then((info) => {
        exitInfo = info;
        if (pid !== undefined) runningGroups.delete(pid);
      });
      if (pid !== undefined) runningGroups.add(pid);

      const deadline = Date.now() + STARTUP_TIMEOUT_MS;
      let greeting = "";
      let ready = false;
      while (!exitInfo && Date.now() < deadline) {
        const result = await readGreeting(port, options.tls?.implicit === true);
        greeting = result.text;
        if (result.ok && !exitInfo) {
          ready = true;
          break;
        }
        if (!result.refused && !exitInfo) break; // something answered, but not with 220
        await new Promise((resolve) => setTimeout(resolve, 50));
      }

      if (ready && pid !== undefined) {
        return makeHandle(kind, resolved, port, passive, dir, pid, exited, () => exitInfo);
      }

      if (pid !== undefined && !exitInfo) {
        killGroup(pid, "SIGKILL");
        await exited;
      }
      const logs = await readLogs(dir);
      const why = exitInfo
        ? exitInfo.error
          ? `could not run ${spec.command}: ${exitInfo.error.message}`
          : `exited with ${exitInfo.signal ?? `code ${exitInfo.code}`} before greeting`
        : greeting
          ? `greeted with ${JSON.stringify(greeting.trim())} instead of 220`
          : `no greeting within ${STARTUP_TIMEOUT_MS} ms`;
      const keep = process.env.FTP2S3_INTEROP_KEEP === "1";
      if (!keep) await rm(dir, { recursive: true, force: true });
      lastFailure =
        `${kind} on 127.0.0.1:${port} (passive ${passive.min}-${passive.max}) ${why}; ` +
        `${keep ? `its temp dir ${dir} is kept` : "FTP2S3_INTEROP_KEEP=1 keeps its temp dir"}.\n${logs}`;
      if (!(exitInfo && BIND_FAILURE.test(logs))) break; // only a lost race for the port is worth a retry
    }
  } catch (error) {
    await passive.release();
    throw error;
  }
  await passive.release();
  throw new Error(lastFailure);
}

function makeHandle(
  kind: InteropServerKind,
  options: InteropServerOptions,
  port: number,
  passive: { min: number; max: number; release(): Promise<void> },
  dir: string,
  pid: number,
  exited: Promise<ExitInfo>,
  exitInfo: () => ExitInfo | undefined,
): InteropServer {
  let stopping: Promise<void> | undefined;
  return {
    kind,
    host: "127.0.0.1",
    port,
    user: options.user,
    password: options.password,
    pid,
    passivePorts: { min: passive.min, max: passive.max },
    dir,
    logs: () => readLogs(dir),
    stop() {
      stopping ??= (async () => {
        if (!exitInfo()) {
          killGroup(pid, "SIGTERM");
          const timer = setTimeout(() => killGroup(pid, "SIGKILL"), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }
        // Session processes may outlive the listener for a moment (or for good): wait, then insist.
        if (!(await groupGone(pid, 2_000))) {
          killGroup(pid, "SIGKILL");
          await groupGone(pid, STOP_TIMEOUT_MS);
        }
        runningGroups.delete(pid);
        await passive.release();
        if (process.env.FTP2S3_INTEROP_KEEP !== "1") await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
