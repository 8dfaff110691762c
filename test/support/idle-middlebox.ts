import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * A middlebox that forgets idle flows, as AWS NAT gateways (350 s) and firewalls do: netfilter's
 * connection tracking in a network namespace of its own, with a short timeout for established TCP
 * flows and no pick-up of flows it has forgotten (nf_conntrack_tcp_loose=0), so a packet of a
 * forgotten flow is "invalid" and dropped. Only the kernel sees keepalive probes (they carry no
 * data), so only a kernel middlebox can tell whether they keep a flow: a proxy in user space cannot.
 *
 * The FTP server and the client both run in that namespace (idle-middlebox-scenario.ts), on its own
 * loopback; the rules apply to the control connection's port only.
 */
export interface MiddleboxRun {
  /** Seconds a flow may stay silent before the middlebox forgets it. */
  idleTimeoutSeconds: number;
  /** The client's keepalive idle time; 0: off. */
  keepAliveMs: number;
  /** How long the download keeps the control connection silent. */
  silenceMs: number;
  /** The client's timeout (connect, replies, stalled data). */
  timeoutMs: number;
}

export interface MiddleboxOutcome {
  /** The final reply of RETR, when the download got one. */
  reply?: { code: number; message: string };
  /** The error's code and message, when it failed. */
  error?: { code: string; message: string };
  /** Whether the bytes received are the file's. */
  intact: boolean;
  /** Packets of the control connection the middlebox dropped because it had forgotten the flow. */
  dropped: number;
}

const scenario = fileURLToPath(new URL("./idle-middlebox-scenario.ts", import.meta.url));
const repository = fileURLToPath(new URL("../../", import.meta.url));

/** Why this machine cannot run the middlebox, or undefined when it can. */
export function middleboxUnavailable(): string | undefined {
  if (process.platform !== "linux") return "needs Linux (network namespaces, netfilter)";
  if (process.getuid?.() !== 0) return "needs root to create a network namespace with nftables rules";
  try {
    execFileSync(
      "unshare",
      [
        "--net",
        "--",
        "sh",
        "-c",
        "nft list ruleset && test -w /proc/sys/net/netfilter/nf_conntrack_tcp_loose",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim();
    return `cannot set up a network namespace with nftables conntrack (unshare, nft from Debian's nftables, CONFIG_NF_CONNTRACK): ${stderr || (error as Error).message}`;
  }
  return undefined;
}

/** Runs one download behind the middlebox, in a fresh network namespace. */
export function downloadBehindIdleMiddlebox(run: MiddleboxRun): Promise<MiddleboxOutcome> {
  return new Promise((resolve, reject) => {
    execFile(
      "unshare",
      ["--net", "--", process.execPath, "--import", "tsx", scenario, JSON.stringify(run)],
      { cwd: repository, timeout: 60_000 },
      (error, stdout, stderr) => {
        const last = stdout.trim().split("\n").pop();
        if (error || last === undefined || last === "") {
          reject(new Error(`the middlebox scenario failed: ${error?.message ?? ""}\n${stderr}`));
          return;
        }
        resolve(JSON.parse(last) as MiddleboxOutcome);
      },
    );
  });
}
