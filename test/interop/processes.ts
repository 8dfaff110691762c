/** The interop servers' processes: their process groups, their logs, and the greeting that says one is up. */
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";

export const runningGroups = new Set<number>();
let exitHookInstalled = false;

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Waits until no process of group `pid` is left (zombies included), up to `timeoutMs`. */
export async function groupGone(pid: number, timeoutMs: number): Promise<boolean> {
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

export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that ends without stop() must not leave servers behind.
  process.on("exit", () => {
    for (const pid of runningGroups) killGroup(pid, "SIGKILL");
  });
}

export async function readLogs(dir: string): Promise<string> {
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

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null; error?: Error };

/** Connects, reads the greeting (multi-line ones too) and says QUIT. `ok` on a 220. */
export function readGreeting(
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
