/**
 * Ports for the interop servers: a free control port, and a passive range of each server's own, reserved
 * with a lock file so that servers started at once, even from several processes, never share one.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** A free TCP port on 127.0.0.1 (from the kernel's ephemeral range), free at the time of asking. */
export function freePort(): Promise<number> {
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

export async function reservePassiveRange(): Promise<{ min: number; max: number; release(): Promise<void> }> {
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
