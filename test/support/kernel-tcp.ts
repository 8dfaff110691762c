import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";

/** One row of /proc/net/tcp: what the kernel says of a socket, not what the program thinks it set. */
export interface KernelTcpTimer {
  /** The `tr` column: 0 none, 1 retransmit, 2 keepalive (sk_timer), 3 TIME_WAIT, 4 zero-window probe. */
  timer: number;
  /** `tm->when`, converted from clock ticks: seconds until the timer fires. */
  seconds: number;
}

export const NO_TIMER = 0;
export const RETRANSMIT_TIMER = 1;
export const KEEPALIVE_TIMER = 2;

/** Clock ticks a second (USER_HZ), the unit of `tm->when`: 100 on every Linux port in practice. */
const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/**
 * The timer of the established IPv4 socket connected to 127.0.0.1:`remotePort`, i.e. the client end
 * of a connection to a server listening there (the server's end has that port as its local one).
 */
export async function timerOfConnectionTo(remotePort: number): Promise<KernelTcpTimer | undefined> {
  const rows = (await readFile("/proc/net/tcp", "utf8")).trim().split("\n").slice(1);
  const remote = `0100007F:${remotePort.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const row of rows) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    const [, , remAddress, state, , timerColumn] = row.trim().split(/\s+/);
    if (remAddress !== remote || state !== "01") continue;
    const [timer, when] = (timerColumn as string).split(":");
    return {
      timer: Number.parseInt(timer as string, 16),
      seconds: Number.parseInt(when as string, 16) / ticksPerSecond,
    };
  }
  return undefined;
}
