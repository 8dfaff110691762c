/** The tables, as Markdown and as text for the terminal (renderConsole). */
import { goalsConsole } from "./goals-tables.js";
import { diagnosisRows, isMirrorDiagnosis, KIND_LABEL, MB, ratios, rssMB } from "./summary.js";
import type { DiagnosisRecord, MirrorRun, Results, SummaryRow, TargetStatus } from "./types.js";

function table(header: string[], rows: string[][], align: ("l" | "r")[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (cells: string[]) =>
    cells.map((c, i) => (align[i] === "r" ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  return [pad(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(pad)];
}

export function markdownTable(header: string[], rows: string[][], align: ("l" | "r")[]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `| ${align.map((a) => (a === "r" ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

export const SUMMARY_HEADER = [
  "size",
  "run",
  "FTP server",
  "MB/s",
  "range",
  "peak RSS MB",
  "CPU s/GiB",
  "s3rver CPU s/GiB",
  "runs",
];
export const SUMMARY_ALIGN: ("l" | "r")[] = ["l", "l", "l", "r", "r", "r", "r", "r", "r"];

export function summaryRows(summary: SummaryRow[]): string[][] {
  return summary.map((r) => [
    r.size,
    KIND_LABEL[r.kind],
    r.server ?? "—",
    r.failed === r.runs ? "failed" : r.mbPerS.toFixed(1),
    r.failed === r.runs ? "" : `${r.mbPerSMin.toFixed(0)}–${r.mbPerSMax.toFixed(0)}`,
    r.failed === r.runs ? "" : r.peakRssMB.toFixed(0),
    r.failed === r.runs ? "" : r.cpuSPerGiB.toFixed(2),
    r.kind === "ftp-leg" || r.failed === r.runs ? "—" : r.s3rverCpuSPerGiB.toFixed(1),
    r.failed > 0 ? `${r.runs - r.failed}/${r.runs}` : String(r.runs),
  ]);
}

export function ratioRows(results: Results): string[][] {
  return ratios(results.summary).map((r) => [
    r.size,
    r.server,
    r.pipeline.toFixed(1),
    r.slowerLeg ? `${KIND_LABEL[r.slowerLeg.kind]} ${r.slowerLeg.mbPerS.toFixed(1)}` : "—",
    r.pipelineOverSlowerLeg === null ? "—" : `${r.pipelineOverSlowerLeg.toFixed(2)}×`,
    r.rclone === null ? "—" : r.rclone.toFixed(1),
    r.pipelineOverRclone === null ? "—" : `${r.pipelineOverRclone.toFixed(2)}×`,
  ]);
}
export const RATIO_HEADER = [
  "size",
  "FTP server",
  "pipeline MB/s",
  "slower leg MB/s",
  "pipeline / slower leg",
  "rclone MB/s",
  "pipeline / rclone",
];
export const RATIO_ALIGN: ("l" | "r")[] = ["l", "l", "r", "l", "r", "r", "r"];

const seconds = (run: MirrorRun | undefined) => (run ? `${(run.wallMs / 1000).toFixed(2)} s` : "—");
export function mirrorRows(results: Results): string[][] {
  return results.mirror.map((m) => [
    m.server,
    m.ftp2s3?.ok ? seconds(m.ftp2s3) : `failed: ${m.ftp2s3?.error ?? ""}`,
    m.ftp2s3Rerun ? `${seconds(m.ftp2s3Rerun)}, ${m.ftp2s3Rerun.retrSent} RETR` : "—",
    m.ftp2s3 ? `${rssMB(m.ftp2s3.maxRssKiB).toFixed(0)}` : "—",
    m.rclone ? (m.rclone.ok ? seconds(m.rclone) : "failed") : "rclone not installed",
    m.rcloneRerun ? `${seconds(m.rcloneRerun)}, ${m.rcloneRerun.retrSent} RETR` : "—",
    m.rclone ? `${rssMB(m.rclone.maxRssKiB).toFixed(0)}` : "—",
    m.ftp2s3?.ok && m.rclone?.ok ? `${(m.rclone.wallMs / m.ftp2s3.wallMs).toFixed(2)}×` : "—",
  ]);
}
export const MIRROR_HEADER = [
  "FTP server",
  "ftp2s3 mirror",
  "ftp2s3 rerun",
  "ftp2s3 RSS MB",
  "rclone copy",
  "rclone rerun",
  "rclone RSS MB",
  "rclone time / ftp2s3 time",
];
export const MIRROR_ALIGN: ("l" | "r")[] = ["l", "r", "r", "r", "r", "r", "r", "r"];

const STATUS_TEXT: Record<TargetStatus, string> = {
  met: "met",
  missed: "MISSED",
  "not measured": "not measured",
  reported: "reported",
};

export const MIRROR_DIAGNOSIS_HEADER = [
  "variant",
  "time",
  "ftp2s3 CPU s",
  "s3rver CPU s",
  "peak RSS MB",
  "S3 requests",
  "FTP commands",
];
export const MIRROR_DIAGNOSIS_ALIGN: ("l" | "r")[] = ["l", "r", "r", "r", "r", "l", "l"];
const countsText = (counts: Record<string, number> | undefined) =>
  counts === undefined
    ? "—"
    : Object.entries(counts)
        .sort((a, b) => b[1] - a[1])
        .map(([kind, n]) => `${n} ${kind}`)
        .join(", ");
export function mirrorDiagnosisRows(records: DiagnosisRecord[]): string[][] {
  return records
    .filter(isMirrorDiagnosis)
    .map((d) => [
      d.variant,
      d.ok ? `${(d.wallMs / 1000).toFixed(2)} s` : `failed: ${d.error ?? ""}`,
      d.cpuS.toFixed(2),
      d.s3rverCpuS.toFixed(2),
      rssMB(d.maxRssKiB).toFixed(0),
      countsText(d.http?.requestsByKind as Record<string, number> | undefined),
      countsText(d.ftpCommands),
    ]);
}

export const RESUMABLE_HEADER = [
  "size",
  "FTP server",
  "pipeline MB/s",
  "--resumable MB/s",
  "throughput",
  "pipeline CPU s/GiB",
  "--resumable CPU s/GiB",
  "extra CPU s/GiB",
  "peak RSS MB (pipeline, --resumable)",
];
export const RESUMABLE_ALIGN: ("l" | "r")[] = ["l", "l", "r", "r", "r", "r", "r", "r", "r"];
/** The --resumable rows beside the pipeline's on the same server and size. */
export function resumableCostRows(summary: SummaryRow[]): string[][] {
  const rows: string[][] = [];
  for (const res of summary.filter((r) => r.kind === "pipeline-resumable" && r.failed < r.runs)) {
    const pipe = summary.find(
      (r) => r.kind === "pipeline" && r.size === res.size && r.server === res.server && r.failed < r.runs,
    );
    if (!pipe) continue;
    const change = (res.mbPerS / pipe.mbPerS - 1) * 100;
    rows.push([
      res.size,
      res.server ?? "—",
      pipe.mbPerS.toFixed(1),
      res.mbPerS.toFixed(1),
      `${change >= 0 ? "+" : "−"}${Math.abs(change).toFixed(0)}%`,
      pipe.cpuSPerGiB.toFixed(2),
      res.cpuSPerGiB.toFixed(2),
      `${res.cpuSPerGiB - pipe.cpuSPerGiB >= 0 ? "+" : "−"}${Math.abs(res.cpuSPerGiB - pipe.cpuSPerGiB).toFixed(2)}`,
      `${pipe.peakRssMB.toFixed(0)}, ${res.peakRssMB.toFixed(0)}`,
    ]);
  }
  return rows;
}

export const FIXED_HEADER = ["run", "FTP server", "time", "peak RSS MB", "runs"];
export const FIXED_ALIGN: ("l" | "r")[] = ["l", "l", "r", "r", "r"];
export function fixedCostRows(results: Results): string[][] {
  return results.fixedCost.map((f) => [
    KIND_LABEL[f.kind],
    f.server ?? "—",
    `${f.wallMs} ms`,
    f.rssMB.toFixed(0),
    String(f.runs),
  ]);
}

export const DIAGNOSIS_HEADER = [
  "size",
  "variant",
  "MB/s",
  "peak RSS MB",
  "Buffers MB",
  "V8 heap MB",
  "parts phase s",
  "completion s",
  "feed gap ms",
  "CPU s/GiB",
  "runs",
];
export const DIAGNOSIS_ALIGN: ("l" | "r")[] = ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r"];
export function diagnosisTableRows(records: DiagnosisRecord[]): string[][] {
  const show = (value: number | null, digits = 0) => (value === null ? "—" : value.toFixed(digits));
  return diagnosisRows(records).map((r) => [
    r.size,
    r.variant,
    r.mbPerS.toFixed(1),
    r.rssMB.toFixed(0),
    show(r.arrayBuffersMB),
    show(r.heapMB),
    show(r.partsPhaseS, 2),
    show(r.completeS, 2),
    show(r.feedGapMs),
    r.cpuSPerGiB.toFixed(2),
    String(r.runs),
  ]);
}

export function renderConsole(results: Results): string {
  const lines: string[] = [""];
  lines.push(
    `ftp2s3 bench, ${results.generatedAt}, ${results.durationS} s: ${results.machine.cores} × ${results.machine.cpu}, node ${results.machine.node}`,
    `load average ${results.machine.loadAverageAtStart ?? "?"} at the start, ${results.machine.loadAverageAtEnd ?? "?"} at the end; rclone: ${results.software.rclone ?? "not installed"}`,
    "",
  );
  if (results.goals) lines.push(...goalsConsole(results.goals, table), "");
  if (results.runs.length === 0) return `${lines.join("\n")}\n`;
  lines.push(
    `s3rver suite: S3 ${results.software.s3.server} ${results.software.s3.version} (${results.software.s3.storage}); FTP: ${results.software.ftp.map((f) => `${f.server} ${f.version}`).join(", ") || "none"}`,
    "",
  );
  lines.push(...table(SUMMARY_HEADER, summaryRows(results.summary), SUMMARY_ALIGN), "");
  lines.push(...table(RATIO_HEADER, ratioRows(results), RATIO_ALIGN), "");
  const resumableCost = resumableCostRows(results.summary);
  if (resumableCost.length > 0) lines.push(...table(RESUMABLE_HEADER, resumableCost, RESUMABLE_ALIGN), "");
  if (results.fixedCost.length > 0) {
    lines.push(
      "one 1 KiB copy (the fixed cost):",
      ...table(FIXED_HEADER, fixedCostRows(results), FIXED_ALIGN),
      "",
    );
  }
  if (results.mirror.length > 0) lines.push(...table(MIRROR_HEADER, mirrorRows(results), MIRROR_ALIGN), "");
  if ("bytes" in results.bundle) {
    lines.push(
      `bundle: ${(results.bundle.bytes / MB).toFixed(2)} MB, module load ${results.bundle.loadMs.toFixed(0)} ms (median), whole node process ${results.bundle.processMs.toFixed(0)} ms`,
      "",
    );
  } else {
    lines.push(`bundle: ${results.bundle.error}`, "");
  }
  lines.push(
    ...table(
      ["target", "measured", "status"],
      results.targets.map((t) => [t.target, t.measured, STATUS_TEXT[t.status]]),
      ["l", "l", "l"],
    ),
    "",
  );
  if (results.diagnosis) {
    lines.push(...table(DIAGNOSIS_HEADER, diagnosisTableRows(results.diagnosis), DIAGNOSIS_ALIGN), "");
    const mirrorRowsDiag = mirrorDiagnosisRows(results.diagnosis);
    if (mirrorRowsDiag.length > 0)
      lines.push(...table(MIRROR_DIAGNOSIS_HEADER, mirrorRowsDiag, MIRROR_DIAGNOSIS_ALIGN), "");
  }
  const failures = results.runs.filter((r) => !r.ok);
  for (const f of failures) lines.push(`FAILED: ${f.size} ${f.kind} ${f.server ?? ""} #${f.rep}: ${f.error}`);
  return `${lines.join("\n")}\n`;
}
