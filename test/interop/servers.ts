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
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";

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

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
/** Where scripts/interop-setup.sh unpacks the packages. */
const interopUnpackedRoot = path.join(repoRoot, ".cache/interop/root");
const SETUP_HINT = "run scripts/interop-setup.sh first (as root)";
const SESSION_ACCOUNT = "ftp2s3test";
const VSFTPD_PAM_SERVICE = "ftp2s3-interop-vsftpd";
const SYSTEM_PYTHON = "/usr/bin/python3";
const PYFTPDLIB_PATH = path.join(interopUnpackedRoot, "usr/lib/python3/dist-packages");
const PYFTPD_SCRIPT = path.join(here, "pyftpd-server.py");
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

// ---------------------------------------------------------------------------------------------------------
// Ports

/** A free TCP port on 127.0.0.1 (from the kernel's ephemeral range), free at the time of asking. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port from listen(0)"));
      });
    });
  });
}

function portBindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

// Passive ranges come from 20000-31999, below Linux's ephemeral range (32768-60999) so that no control
// port picked with listen(0), and no client's outgoing port, ever lands in one.
const PASSIVE_FIRST = 20_000;
const PASSIVE_LAST = 31_999;
// pure-ftpd caps its clients at half its passive range (64 ports: 32 clients at once).
const PASSIVE_BLOCK = 64;
const PASSIVE_BLOCKS = Math.floor((PASSIVE_LAST - PASSIVE_FIRST + 1) / PASSIVE_BLOCK);
const passiveLockDir = path.join(os.tmpdir(), "ftp2s3-interop-passive-ports");
// Each process starts at its own place, so that parallel processes rarely even try the same block.
let nextPassiveBlock = (process.pid * 7919) % PASSIVE_BLOCKS;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function tryLock(file: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: "wx" });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number(await readFile(file, "utf8").catch(() => ""));
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) return false;
      await rm(file, { force: true }); // left by a process that is gone
    }
  }
  return false;
}

async function reservePassiveRange(): Promise<{ min: number; max: number; release(): Promise<void> }> {
  await mkdir(passiveLockDir, { recursive: true, mode: 0o1777 });
  for (let tried = 0; tried < PASSIVE_BLOCKS; tried++) {
    const block = nextPassiveBlock;
    nextPassiveBlock = (nextPassiveBlock + 1) % PASSIVE_BLOCKS;
    const min = PASSIVE_FIRST + block * PASSIVE_BLOCK;
    const max = min + PASSIVE_BLOCK - 1;
    const lock = path.join(passiveLockDir, `${min}-${max}`);
    if (!(await tryLock(lock))) continue;
    let free = true;
    for (let port = min; port <= max && free; port++) free = await portBindable(port);
    if (!free) {
      await rm(lock, { force: true });
      continue;
    }
    return { min, max, release: () => rm(lock, { force: true }) };
  }
  throw new Error(`no free passive port range of ${PASSIVE_BLOCK} ports in ${PASSIVE_FIRST}-${PASSIVE_LAST}`);
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function run(command: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { env: env ?? process.env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A SHA-512 crypt(3) hash, as proftpd's AuthUserFile and pure-ftpd's puredb take. */
async function cryptHash(password: string): Promise<string> {
  return (await run("openssl", ["passwd", "-6", "-stdin"], `${password}\n`)).trim();
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

// ---------------------------------------------------------------------------------------------------------
// Per-server launch

interface LaunchContext {
  dir: string;
  port: number;
  passive: { min: number; max: number };
  options: InteropServerOptions;
  account: { uid: number; gid: number } | undefined;
  env: NodeJS.ProcessEnv;
}

interface LaunchSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Give the server the log file as standard input too (vsftpd writes its "500 OOPS" errors there). */
  stdinToLog?: boolean;
}

const launchers: Record<InteropServerKind, (ctx: LaunchContext) => Promise<LaunchSpec>> = {
  async vsftpd({ dir, port, passive, options, env }) {
    // Virtual user for pam_userdb (see /etc/pam.d/ftp2s3-interop-vsftpd): db=vsftpd-users is relative to
    // vsftpd's working directory, which is `dir`. Debian's Python writes the Berkeley DB that pam_userdb reads.
    await run(
      SYSTEM_PYTHON,
      [
        "-c",
        "import dbm.ndbm, os\n" +
          "db = dbm.ndbm.open(os.environ['DB'], 'n', 0o600)\n" +
          "db[os.environ['U'].encode()] = os.environ['P'].encode()\n" +
          "db.close()",
      ],
      undefined,
      { ...process.env, DB: path.join(dir, "vsftpd-users"), U: options.user, P: options.password },
    ).catch((error) => {
      throw new Error(`could not write vsftpd's user database: ${(error as Error).message}`);
    });
    const emptyDir = path.join(dir, "empty");
    await mkdir(emptyDir, { mode: 0o755 });
    const lines = [
      "listen=YES",
      "listen_ipv6=NO",
      "background=NO",
      "listen_address=127.0.0.1",
      `listen_port=${port}`,
      "anonymous_enable=NO",
      "local_enable=YES",
      "write_enable=YES",
      "local_umask=022",
      // Virtual users: PAM decides, then the session runs as the guest account.
      `pam_service_name=${VSFTPD_PAM_SERVICE}`,
      "guest_enable=YES",
      `guest_username=${SESSION_ACCOUNT}`,
      "virtual_use_local_privs=YES",
      `local_root=${options.root}`,
      "chroot_local_user=YES",
      "allow_writeable_chroot=YES",
      "pasv_enable=YES",
      `pasv_min_port=${passive.min}`,
      `pasv_max_port=${passive.max}`,
      "utf8_filesystem=YES",
      // Debian's seccomp sandbox and namespaces get in the way in containers and CI machines.
      "seccomp_sandbox=NO",
      "isolate=NO",
      "isolate_network=NO",
      `secure_chroot_dir=${emptyDir}`,
      `vsftpd_log_file=${path.join(dir, "vsftpd.log")}`,
      "log_ftp_protocol=YES",
      "xferlog_enable=YES",
      "syslog_enable=NO",
      "dual_log_enable=NO",
    ];
    if (options.tls) {
      lines.push(
        "ssl_enable=YES",
        `rsa_cert_file=${options.tls.certFile}`,
        `rsa_private_key_file=${options.tls.keyFile}`,
        `implicit_ssl=${options.tls.implicit ? "YES" : "NO"}`,
        "allow_anon_ssl=NO",
        "force_local_logins_ssl=YES",
        "force_local_data_ssl=YES",
        "require_ssl_reuse=YES",
        "ssl_ciphers=HIGH",
        "debug_ssl=YES",
      );
    }
    const config = path.join(dir, "vsftpd.conf");
    await writeFile(config, `${lines.join("\n")}\n`, { mode: 0o600 });
    return {
      command: path.join(interopUnpackedRoot, "usr/sbin/vsftpd"),
      args: [config],
      env,
      stdinToLog: true,
    };
  },

  async proftpd({ dir, port, passive, options, account, env }) {
    const { uid, gid } = account!;
    const passwd = path.join(dir, "passwd");
    const group = path.join(dir, "group");
    const hash = await cryptHash(options.password);
    await writeFile(passwd, `${options.user}:${hash}:${uid}:${gid}::${options.root}:/usr/sbin/nologin\n`, {
      mode: 0o600,
    });
    await writeFile(group, `${SESSION_ACCOUNT}:x:${gid}:\n`, { mode: 0o644 });
    const config = path.join(dir, "proftpd.conf");
    const lines = [
      "ServerType standalone",
      'ServerName "ftp2s3 interop"',
      "DefaultAddress 127.0.0.1",
      "SocketBindTight on",
      "UseIPv6 off",
      `Port ${port}`,
      `PassivePorts ${passive.min} ${passive.max}`,
      `User ${SESSION_ACCOUNT}`,
      `Group ${SESSION_ACCOUNT}`,
      // Virtual users from a passwd-format file; no PAM, no /etc/ftpusers, no shell check.
      "AuthOrder mod_auth_file.c",
      `AuthUserFile ${passwd}`,
      `AuthGroupFile ${group}`,
      "UseFtpUsers off",
      "RequireValidShell off",
      "DefaultRoot ~",
      "Umask 022",
      "AllowOverwrite on",
      "WtmpLog off",
      "DelayEngine off", // mod_delay would hold every login back by ~0.4 s
      "UseReverseDNS off",
      `ScoreboardFile ${path.join(dir, "proftpd.scoreboard")}`,
      `PidFile ${path.join(dir, "proftpd.pid")}`,
      `DelayTable ${path.join(dir, "proftpd.delay")}`,
      `SystemLog ${path.join(dir, "proftpd.log")}`,
      `TransferLog ${path.join(dir, "xferlog")}`,
    ];
    await writeFile(config, `${lines.join("\n")}\n`, { mode: 0o600 });
    return { command: path.join(interopUnpackedRoot, "usr/sbin/proftpd"), args: ["-n", "-c", config], env };
  },

  async "pure-ftpd"({ dir, port, passive, options, account, env }) {
    const { uid, gid } = account!;
    const passwd = path.join(dir, "pureftpd.passwd");
    const pdb = path.join(dir, "pureftpd.pdb");
    // pure-pw's own line format; "/./" marks the chroot. A crypt hash instead of pure-pw's default argon2id
    // keeps each login at milliseconds instead of two seconds.
    const hash = await cryptHash(options.password);
    await writeFile(passwd, `${options.user}:${hash}:${uid}:${gid}::${options.root}/./::::::::::::\n`, {
      mode: 0o600,
    });
    await run(path.join(interopUnpackedRoot, "usr/bin/pure-pw"), ["mkdb", pdb, "-f", passwd], undefined, env);
    const args = [
      "-l",
      `puredb:${pdb}`,
      "-S",
      `127.0.0.1,${port}`,
      "-p",
      `${passive.min}:${passive.max}`,
      "-4", // IPv4 only
      "-E", // no anonymous logins
      "-A", // chroot everyone
      "-H", // no reverse DNS
      // Clients at once, in all and per IP (default 50 and unlimited), but pure-ftpd lowers the total to half
      // its passive range anyway: 32 here.
      "-c",
      String(Math.floor((passive.max - passive.min + 1) / 2)),
      "-C",
      String(Math.floor((passive.max - passive.min + 1) / 2)),
      "-O",
      `w3c:${path.join(dir, "transfer.log")}`,
      "-g",
      path.join(dir, "pure-ftpd.pid"),
    ];
    return { command: path.join(interopUnpackedRoot, "usr/sbin/pure-ftpd"), args, env };
  },

  async pyftpdlib({ port, passive, options, account, env }) {
    const args = [
      PYFTPD_SCRIPT,
      "--port",
      String(port),
      "--passive",
      `${passive.min}-${passive.max}`,
      "--root",
      options.root,
    ];
    if (account) args.push("--run-as", `${account.uid}:${account.gid}`);
    return {
      command: SYSTEM_PYTHON,
      args,
      env: {
        ...env,
        PYTHONPATH: PYFTPDLIB_PATH,
        PYTHONDONTWRITEBYTECODE: "1",
        PYTHONUNBUFFERED: "1",
        LANG: "C.UTF-8",
        FTP2S3_INTEROP_USER: options.user,
        FTP2S3_INTEROP_PASSWORD: options.password,
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------------------
// Process handling

const runningGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Waits until no process of group `pid` is left (zombies included), up to `timeoutMs`. */
async function groupGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(-pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ESRCH") return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that ends without stop() must not leave servers behind.
  process.on("exit", () => {
    for (const pid of runningGroups) killGroup(pid, "SIGKILL");
  });
}

async function readLogs(dir: string): Promise<string> {
  const parts: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return "(no log dir)";
  }
  for (const name of entries) {
    if (!/(\.log|xferlog)$/.test(name)) continue;
    const text = await readFile(path.join(dir, name), "utf8").catch(() => "");
    const tail = text.length > 8_000 ? `…${text.slice(-8_000)}` : text;
    parts.push(`--- ${name} ---\n${tail.trimEnd() || "(empty)"}`);
  }
  return parts.join("\n");
}

type ExitInfo = { code: number | null; signal: NodeJS.Signals | null; error?: Error };

/** Connects, reads the greeting (multi-line ones too) and says QUIT. `ok` on a 220. */
function readGreeting(
  port: number,
  implicitTls: boolean,
): Promise<{ ok: boolean; text: string; refused: boolean }> {
  return new Promise((resolve) => {
    // Implicit FTPS greets only after the TLS handshake; the certificate is the tests' business, not ours.
    const socket = implicitTls
      ? tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false })
      : net.connect({ host: "127.0.0.1", port });
    let text = "";
    let done = false;
    const finish = (result: { ok: boolean; text: string; refused: boolean }) => {
      if (done) return;
      done = true;
      if (result.ok) socket.end("QUIT\r\n");
      else socket.destroy();
      resolve(result);
    };
    socket.setTimeout(5_000, () => finish({ ok: false, text: `${text}(timeout)`, refused: false }));
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      for (const line of text.split("\r\n")) {
        const final = /^(\d{3}) /.exec(line);
        if (final) {
          finish({ ok: final[1] === "220", text, refused: false });
          return;
        }
      }
    });
    socket.on("error", (error: NodeJS.ErrnoException) =>
      finish({ ok: false, text: error.message, refused: error.code === "ECONNREFUSED" }),
    );
    socket.on("close", () => finish({ ok: false, text: `${text}(closed)`, refused: false }));
  });
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
