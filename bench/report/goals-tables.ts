/** The issue 18 section: its targets, its tables (Markdown and terminal), how it measures. */
import { findRow, type GoalRow, perFileTotal, sizeLabel, summarizeGoals } from "./goals.js";
import { goalsKnown } from "./goals-why.js";
import type { Results, TargetResult } from "./types.js";

type Goals = NonNullable<Results["goals"]>;

const counts = (perFile: Record<string, number>) =>
  Object.entries(perFile)
    .filter(([, n]) => n >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ") || "—";

export const MIRROR_HEADER = [
  "sessions",
  "CPU",
  "client",
  "wall s",
  "CPU s",
  "CPU ms/file",
  "files/s",
  "CPU/wall",
  "peak RSS MB",
  "S3 req/file",
  "FTP cmd/file",
  "runs",
];
export const MIRROR_ALIGN: ("l" | "r")[] = ["r", "l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r"];

const runsText = (r: GoalRow) => (r.failed > 0 ? `${r.runs - r.failed}/${r.runs}` : String(r.runs));

export function goalMirrorRows(rows: GoalRow[]): string[][] {
  return rows
    .filter((r) => r.case === "mirror")
    .sort((a, b) => Number(a.limited) - Number(b.limited) || a.sessions! - b.sessions!)
    .map((r) =>
      r.failed === r.runs
        ? [
            String(r.sessions),
            r.limited ? "0.58" : "free",
            r.subject,
            "failed",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            runsText(r),
          ]
        : [
            String(r.sessions),
            r.limited ? "0.58" : "free",
            r.subject,
            r.wallS.toFixed(2),
            r.cpuS.toFixed(2),
            r.cpuMsPerFile.toFixed(2),
            r.filesPerS.toFixed(0),
            r.cpuPerWall.toFixed(2),
            r.peakRssMB.toFixed(0),
            perFileTotal(r.s3PerFile).toFixed(1),
            perFileTotal(r.ftpPerFile).toFixed(1),
            runsText(r),
          ],
    );
}

export const ONE_FILE_HEADER = [
  "file",
  "client",
  "wall s",
  "CPU s",
  "CPU s/GiB",
  "peak RSS MB",
  "S3 requests",
  "runs",
];
export const ONE_FILE_ALIGN: ("l" | "r")[] = ["l", "l", "r", "r", "r", "r", "l", "r"];

export function goalOneFileRows(rows: GoalRow[]): string[][] {
  return rows
    .filter((r) => r.case !== "mirror")
    .sort((a, b) => a.bytes - b.bytes)
    .map((r) =>
      r.failed === r.runs
        ? [sizeLabel(r.bytes), r.subject, "failed", "", "", "", "", runsText(r)]
        : [
            sizeLabel(r.bytes),
            r.subject,
            r.wallS.toFixed(2),
            r.cpuS.toFixed(2),
            r.case === "big-file" ? r.cpuSPerGiB.toFixed(2) : "—",
            r.peakRssMB.toFixed(0),
            counts(r.s3PerFile),
            runsText(r),
          ],
    );
}

/** What each client asks per file in the free 4-session mirror: the round trips behind the wall times. */
export function requestsPerFile(rows: GoalRow[], sessions: number): string[] {
  return (["ftp2s3", "rclone"] as const).flatMap((subject) => {
    const row = findRow(rows, "mirror", subject, sessions, false);
    return row
      ? [`- **${subject}** per file: FTP ${counts(row.ftpPerFile)}; S3 ${counts(row.s3PerFile)}.`]
      : [];
  });
}

export function goalTargetRows(targets: TargetResult[]): string[][] {
  return targets.map((t) => [t.target, t.measured, t.status === "missed" ? "**MISSED**" : t.status]);
}

export function goalsMarkdown(
  goals: Goals,
  markdownTable: (header: string[], rows: string[][], align: ("l" | "r")[]) => string[],
): string[] {
  const s = goals.settings;
  const rows = summarizeGoals(goals.runs);
  const failures = goals.runs.filter((r) => !r.ok);
  return [
    "## Issue 18: cost per file, start-up, memory, a Lambda's share of a core",
    "",
    "How it measures (bench/run/goals.ts):",
    "",
    `- FTP: ${s.ftpServer} on 127.0.0.1. The mirrors reach it through a proxy that holds every reply for ${s.replyDelayMs} ms (bench/lib/delay-proxy.ts: a WAN round trip per command; the data connections go direct, undelayed); the one-file copies reach it directly.`,
    "- S3: an endpoint in the bench's process that reads every body to its end and drops it (bench/lib/discard-s3.ts): checksums echoed, not verified; ETags from the client's Content-MD5 or made up; objects ≤ 1 MiB (the manifest) kept. The client's cost is measured, not an S3 server's. Over HTTPS (a self-signed certificate the clients are told to trust), as S3 is: both clients pay for TLS, and ftp2s3 signs checksummed parts UNSIGNED-PAYLOAD only over HTTPS.",
    `- CPU limit: ${goals.cpuLimit.applied ? `${goals.cpuLimit.detail}; the client joins the cgroup before it starts (bench/lib/cpu-limit.ts)` : `**not available here** (${goals.cpuLimit.detail}): the 0.58-core rows are missing`}. 0.58 core is a 1,024 MB Lambda's share.`,
    `- Each run is its own process under GNU time (wall, user + sys CPU, peak RSS); ${s.repetitions} repetitions of the mirrors and the ${sizeLabel(s.bigFileBytes)} copy, ${s.smallFileRepetitions} of the 1 KiB copy, the clients alternating (which goes first swaps every repetition); medians, and the highest peak RSS.${s.quick ? " **BENCH_QUICK run: fewer files, a smaller big file, one repetition — a smoke test, not figures.**" : ""}`,
    `- ftp2s3: the built \`dist/ftp2s3.mjs\` (its shebang's Node flags), \`mirror --concurrency N\` and \`copy --overwrite\`, with its defaults (checksums, tags). rclone: \`copy --transfers N\` and \`copyto --s3-chunk-size 8M --s3-upload-concurrency 4 --s3-upload-cutoff 8M\`.`,
    "",
    ...markdownTable(["target (issue 18)", "measured", "status"], goalTargetRows(goals.targets), [
      "l",
      "l",
      "l",
    ]),
    "",
    `### Mirror: ${s.mirrorFiles} files of ${s.mirrorFileBytes / 1024} KiB, ${s.replyDelayMs} ms per FTP reply`,
    "",
    "CPU: free or held to 0.58 core. CPU/wall: the client's CPU seconds per second of its run (near 0.58 under the limit: CPU-bound).",
    "",
    ...markdownTable(MIRROR_HEADER, goalMirrorRows(rows), MIRROR_ALIGN),
    "",
    ...requestsPerFile(rows, s.sessions[0] ?? 4),
    "",
    "### One file",
    "",
    ...markdownTable(ONE_FILE_HEADER, goalOneFileRows(rows), ONE_FILE_ALIGN),
    "",
    ...(failures.length > 0
      ? ["Failed runs:", "", ...failures.map((f) => `- ${f.case} ${f.subject} #${f.rep}: ${f.error}`), ""]
      : []),
    "### What is known about the misses",
    "",
    goalsKnown(goals, rows),
    "",
  ];
}

export function goalsConsole(
  goals: Goals,
  table: (header: string[], rows: string[][], align: ("l" | "r")[]) => string[],
): string[] {
  const rows = summarizeGoals(goals.runs);
  return [
    `issue 18 (${goals.settings.quick ? "BENCH_QUICK smoke run" : "full"}; CPU limit ${goals.cpuLimit.applied ? "applied" : `unavailable: ${goals.cpuLimit.detail}`}):`,
    ...table(MIRROR_HEADER, goalMirrorRows(rows), MIRROR_ALIGN),
    "",
    ...table(ONE_FILE_HEADER, goalOneFileRows(rows), ONE_FILE_ALIGN),
    "",
    ...table(
      ["target (issue 18)", "measured", "status"],
      goals.targets.map((t) => [t.target, t.measured, t.status === "missed" ? "MISSED" : t.status]),
      ["l", "l", "l"],
    ),
    "",
    ...goals.runs.filter((r) => !r.ok).map((f) => `FAILED: ${f.case} ${f.subject} #${f.rep}: ${f.error}`),
  ];
}
