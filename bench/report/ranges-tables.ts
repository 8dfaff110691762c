import type { RangesRecord, RangesRun } from "./types.js";

type Table = (header: string[], rows: string[][], align: ("l" | "r")[]) => string[];

const MiB = 1024 * 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Issue 19's section of bench/README.md: sequential against ranged, wall and speed-up (medians). */
export function rangesMarkdown(record: RangesRecord, table: Table): string[] {
  const byRanges = new Map<number, Extract<RangesRun, { ok: true }>[]>();
  for (const run of record.runs) {
    if (!run.ok) continue;
    byRanges.set(run.ranges, [...(byRanges.get(run.ranges) ?? []), run]);
  }
  const sequential = median((byRanges.get(1) ?? []).map((r) => r.wallS));
  const rows = [...byRanges.entries()]
    .sort(([a], [b]) => a - b)
    .map(([ranges, runs]) => {
      const wall = median(runs.map((r) => r.wallS));
      return [
        ranges === 1
          ? "one sequential copy (copyFile)"
          : `${ranges} ranges at once (copyRange × ${ranges}, completeRanges)`,
        String(ranges),
        wall.toFixed(1),
        median(runs.map((r) => r.mibPerSecond)).toFixed(1),
        ranges === 1 ? "1.00×" : `${(sequential / wall).toFixed(2)}×`,
        median(runs.map((r) => r.cpuS)).toFixed(1),
        runs.map((r) => r.wallS.toFixed(1)).join(", "),
      ];
    });
  const failed = record.runs.filter((r) => !r.ok);
  return [
    "## One big file over many sessions: the ranged fan-out (issue 19)",
    "",
    `One file of ${record.fileBytes / MiB} MiB from ${record.server}, which holds every data connection to ${record.sessionBytesPerSecond / MiB} MiB/s`,
    "(its ThrottledDTPHandler: one session over a WAN), into the discard S3 endpoint, in the bench's own process (bench/run/ranges.ts).",
    `The sequential copy is copyFile on one session; the ranged copies plan ${record.partSizeMiB} MiB parts (planRanges), open one`,
    "multipart upload with a full-object CRC64NVME, read every range on its own session at once (copyRange, REST + RETR cut after",
    "the range's last byte) and commit once (completeRanges): what the Lambda's range legs do, without the queue between them.",
    "Wall time from the first connection to the Complete (medians); CPU is this process's (client and discard S3), not the server's.",
    ...(record.loadAverageAtStart === undefined
      ? []
      : [
          `Load average ${record.loadAverageAtStart} when the case started: a throttled session needs little CPU, but 8 of them (pyftpdlib's side and the client's) need more than a busy machine gives, so on one the rows with more sessions vary most.`,
        ]),
    "",
    ...table(["copy", "sessions", "wall s", "MiB/s", "speed-up", "CPU s", "each run's wall s"], rows, [
      "l",
      "r",
      "r",
      "r",
      "r",
      "r",
      "r",
    ]),
    "",
    ...(failed.length === 0
      ? []
      : [
          `Failed runs: ${failed.map((r) => `${r.ranges} ranges, rep ${r.rep}: ${r.ok ? "" : r.error}`).join("; ")}.`,
          "",
        ]),
  ];
}
