/**
 * How each Debian server is configured and started: its config file, its user database for the one
 * virtual user, and its command line. Where the packages were unpacked is decided here too.
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { InteropServerKind, InteropServerOptions } from "./servers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../..");
/** Where scripts/interop-setup.sh unpacks the packages. */
export const interopUnpackedRoot = path.join(repoRoot, ".cache/interop/root");
export const SESSION_ACCOUNT = "ftp2s3test";
export const VSFTPD_PAM_SERVICE = "ftp2s3-interop-vsftpd";
export const SYSTEM_PYTHON = "/usr/bin/python3";
export const PYFTPDLIB_PATH = path.join(interopUnpackedRoot, "usr/lib/python3/dist-packages");
const PYFTPD_SCRIPT = path.join(here, "pyftpd-server.py");

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

export interface LaunchContext {
  dir: string;
  port: number;
  passive: { min: number; max: number };
  options: InteropServerOptions;
  account: { uid: number; gid: number } | undefined;
  env: NodeJS.ProcessEnv;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Give the server the log file as standard input too (vsftpd writes its "500 OOPS" errors there). */
  stdinToLog?: boolean;
}

export const launchers: Record<InteropServerKind, (ctx: LaunchContext) => Promise<LaunchSpec>> = {
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
      // mod_digest (shipped, not loaded by default): FEAT then lists HASH and XSHA256, XSHA1, XMD5, XCRC.
      `ModulePath ${path.join(interopUnpackedRoot, "usr/lib/proftpd")}`,
      "LoadModule mod_digest.c",
      "DigestEngine on",
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
    if (options.rawNames) args.push("--raw-names");
    if (options.throttleBytesPerSecond !== undefined)
      args.push("--throttle", String(options.throttleBytesPerSecond));
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
