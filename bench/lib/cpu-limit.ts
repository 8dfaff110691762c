/**
 * Holds a client to 0.58 of a core, a 1,024 MB Lambda's share (Lambda gives a full core at 1,769 MB):
 * a cgroup (v1 cpu controller) with cpu.cfs_quota_us = 58,000 per cpu.cfs_period_us = 100,000. The
 * client joins it before it runs a line of its own: `sh -c 'echo $$ > cgroup.procs; exec client…'`.
 * Where the controller is not mounted or not writable (not root, cgroup v2 only), `unavailable` says
 * why and the limited rows are skipped.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";

export const CPU_SHARE = 0.58;
const PERIOD_US = 100_000;
const CPU_CONTROLLER = "/sys/fs/cgroup/cpu";

export interface CpuLimit {
  dir: string;
  /** `command args` wrapped so that the process joins the cgroup first. */
  wrap(command: string, args: string[]): { command: string; args: string[] };
  /**
   * cfs periods (100 ms) so far in which the cgroup had work (nr_periods: proof that a client ran in
   * it) and in which it was throttled (nr_throttled: it wanted more than 0.58 core).
   */
  periods(): Promise<{ active: number; throttled: number }>;
  remove(): Promise<void>;
}

export type CpuLimitSetup = { limit: CpuLimit } | { unavailable: string };

export async function createCpuLimit(): Promise<CpuLimitSetup> {
  if (!existsSync(path.join(CPU_CONTROLLER, "cpu.cfs_quota_us")))
    return { unavailable: `no cgroup v1 cpu controller at ${CPU_CONTROLLER}` };
  const dir = path.join(CPU_CONTROLLER, `ftp2s3-bench-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "cpu.cfs_period_us"), String(PERIOD_US));
    await writeFile(path.join(dir, "cpu.cfs_quota_us"), String(Math.round(CPU_SHARE * PERIOD_US)));
  } catch (error) {
    await rmdir(dir).catch(() => {});
    return { unavailable: `cannot set up ${dir}: ${(error as Error).message}` };
  }
  const procs = path.join(dir, "cgroup.procs");
  return {
    limit: {
      dir,
      wrap: (command, args) => ({
        command: "/bin/sh",
        args: ["-c", 'echo $$ > "$0" && exec "$@"', procs, command, ...args],
      }),
      async periods() {
        const stat = await readFile(path.join(dir, "cpu.stat"), "utf8");
        const field = (name: string) =>
          Number(new RegExp(`^${name} (\\d+)$`, "m").exec(stat)?.[1] ?? Number.NaN);
        return { active: field("nr_periods"), throttled: field("nr_throttled") };
      },
      // A cgroup goes only once its processes have: every measured run has exited by now.
      remove: () => rmdir(dir),
    },
  };
}
