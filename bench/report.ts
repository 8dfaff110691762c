/**
 * The bench's figures: summaries of the raw runs, the targets of issue 7 checked against them, the
 * table printed on the terminal, and bench/README.md.
 */
import type { BundleResult } from "./lib/bundle.js";
import { median } from "./lib/measure.js";

export type RunKind = "ftp-leg" | "s3-leg" | "pipeline" | "pipeline-resumable" | "rclone";

export interface RunRecord {
  kind: RunKind;
  /** The FTP server; null for the S3 leg, which reads no FTP. */
  server: string | null;
  size: string;
  bytes: number;
  rep: number;
  ok: boolean;
  error?: string;
  /** Wall time of the whole process (start-up, connections, transfer, completion, exit). */
  wallMs: number;
  /** The process's own figure for the transfer, where it reports one (the command's durationMs). */
  transferMs?: number;
  maxRssKiB: number;
  /** user + sys CPU seconds of the process. */
  cpuS: number;
  /** CPU seconds s3rver spent during the run. */
  s3rverCpuS: number;
  /** The stored object's ETag: the same 8 MiB parts of the same bytes give the same multipart ETag. */
  etag?: string;
}

export interface SummaryRow {
  size: RunRecord["size"];
  kind: RunKind;
  server: string | null;
  bytes: number;
  runs: number;
  failed: number;
  /** Median over the runs, and the slowest and fastest run. */
  mbPerS: number;
  mbPerSMin: number;
  mbPerSMax: number;
  /** Highest peak RSS over the runs, and the median of the runs' peaks. */
  peakRssMB: number;
  medianRssMB: number;
  cpuSPerGiB: number;
  s3rverCpuSPerGiB: number;
}

export interface MirrorRun {
  wallMs: number;
  maxRssKiB: number;
  cpuS: number;
  ok: boolean;
  error?: string;
  summary?: Record<string, unknown> | null;
  /** RETR commands the FTP server logged during the run (reruns only). */
  retrSent?: number;
  /** FTP commands the server logged during the run, by verb (vsftpd only). */
  ftpCommands?: Record<string, number>;
}

export interface MirrorRecord {
  server: string;
  files: number;
  fileBytes: number;
  ftp2s3?: MirrorRun;
  ftp2s3Rerun?: MirrorRun;
  ftp2s3Missing?: string;
  rclone?: MirrorRun;
  rcloneRerun?: MirrorRun;
}

export interface DiagnosisRecord {
  variant: string;
  server: string | null;
  size: RunRecord["size"];
  bytes: number;
  rep: number;
  ok: boolean;
  error?: string;
  wallMs: number;
  maxRssKiB: number;
  cpuS: number;
  s3rverCpuS: number;
  /** What the process measured itself (memory-probe), and its S3 requests (http-probe). */
  memory: Record<string, unknown> | null;
  http: Record<string, unknown> | null;
  /** The last JSON line it printed (the command's result or the mirror's summary). */
  output: Record<string, unknown> | null;
  /** FTP commands the server logged during the run, by verb (vsftpd only: it logs every command). */
  ftpCommands?: Record<string, number>;
}

/** One small copy: what a copy costs before any byte of data (start-up, module load, sessions, requests). */
export interface FixedCostRow {
  kind: RunKind;
  server: string | null;
  runs: number;
  wallMs: number;
  rssMB: number;
}

export type TargetStatus = "met" | "missed" | "not measured";

export interface TargetResult {
  id: string;
  target: string;
  measured: string;
  status: TargetStatus;
}

export interface Results {
  generatedAt: string;
  durationS: number;
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    kernel: string;
    node: string;
    /** 1-minute load average when the bench started and when it ended: other work on the machine skews the figures. */
    loadAverageAtStart?: number;
    loadAverageAtEnd?: number;
  };
  software: {
    s3: { server: string; version: string; storage: string };
    ftp: { server: string; version: string }[];
    skippedFtp: { kind: string; reason: string }[];
    rclone: string | null;
    ftp2s3Mirror: string;
    timeVersion: string;
  };
  settings: { partSizeMiB: number; queueSize: number; repetitions: Record<string, number>; units: string };
  summary: SummaryRow[];
  fixedCost: FixedCostRow[];
  targets: TargetResult[];
  mirror: MirrorRecord[];
  bundle: BundleResult | { error: string };
  runs: RunRecord[];
  diagnosis?: DiagnosisRecord[];
}

const GiB = 1024 ** 3;
const MB = 1e6;
const rssMB = (kib: number) => (kib * 1024) / MB;
const mbPerS = (run: { bytes: number; wallMs: number }) => run.bytes / (run.wallMs / 1000) / MB;
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

const KIND_ORDER: RunKind[] = ["ftp-leg", "s3-leg", "pipeline", "pipeline-resumable", "rclone"];
export const KIND_LABEL: Record<RunKind, string> = {
  "ftp-leg": "FTP leg alone",
  "s3-leg": "S3 leg alone",
  pipeline: "ftp2s3 (pipeline)",
  "pipeline-resumable": "ftp2s3 --resumable",
  rclone: "rclone copyto",
};

export function summarize(runs: RunRecord[]): SummaryRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const key = `${run.size}|${run.kind}|${run.server ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const rows: SummaryRow[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const ok = group.filter((r) => r.ok);
    const speeds = ok.map(mbPerS);
    rows.push({
      size: first.size,
      kind: first.kind,
      server: first.server,
      bytes: first.bytes,
      runs: group.length,
      failed: group.length - ok.length,
      mbPerS: round(median(speeds)),
      mbPerSMin: round(Math.min(...speeds)),
      mbPerSMax: round(Math.max(...speeds)),
      peakRssMB: round(Math.max(...ok.map((r) => rssMB(r.maxRssKiB)))),
      medianRssMB: round(median(ok.map((r) => rssMB(r.maxRssKiB)))),
      cpuSPerGiB: round(median(ok.map((r) => r.cpuS / (r.bytes / GiB))), 2),
      s3rverCpuSPerGiB: round(median(ok.map((r) => r.s3rverCpuS / (r.bytes / GiB))), 2),
    });
  }
  const sizeOrder = (size: string) => (size === "64 MiB" ? 0 : 1);
  return rows.sort(
    (a, b) =>
      sizeOrder(a.size) - sizeOrder(b.size) ||
      KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
      (a.server ?? "").localeCompare(b.server ?? ""),
  );
}

export function summarizeFixedCost(runs: RunRecord[]): FixedCostRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const run of runs.filter((r) => r.ok)) {
    const key = `${run.kind}|${run.server ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((group) => ({
    kind: group[0]!.kind,
    server: group[0]!.server,
    runs: group.length,
    wallMs: Math.round(median(group.map((r) => r.wallMs))),
    rssMB: round(median(group.map((r) => rssMB(r.maxRssKiB)))),
  }));
}

export interface RatioRow {
  size: string;
  server: string;
  pipeline: number;
  slowerLeg: { kind: RunKind; mbPerS: number } | null;
  pipelineOverSlowerLeg: number | null;
  rclone: number | null;
  pipelineOverRclone: number | null;
}

export function ratios(summary: SummaryRow[]): RatioRow[] {
  const find = (size: string, kind: RunKind, server: string | null) =>
    summary.find((r) => r.size === size && r.kind === kind && r.server === server && r.failed < r.runs);
  const rows: RatioRow[] = [];
  for (const pipe of summary.filter((r) => r.kind === "pipeline" && r.failed < r.runs)) {
    const ftp = find(pipe.size, "ftp-leg", pipe.server);
    const s3 = find(pipe.size, "s3-leg", null);
    const legs = [ftp, s3]
      .filter((r): r is SummaryRow => r !== undefined)
      .sort((a, b) => a.mbPerS - b.mbPerS);
    const slower = legs[0];
    const rclone = find(pipe.size, "rclone", pipe.server);
    rows.push({
      size: pipe.size,
      server: pipe.server ?? "",
      pipeline: pipe.mbPerS,
      slowerLeg: slower ? { kind: slower.kind, mbPerS: slower.mbPerS } : null,
      pipelineOverSlowerLeg: slower ? round(pipe.mbPerS / slower.mbPerS, 2) : null,
      rclone: rclone?.mbPerS ?? null,
      pipelineOverRclone: rclone ? round(pipe.mbPerS / rclone.mbPerS, 2) : null,
    });
  }
  return rows;
}

const RSS_CAP_MB = 110;

export function evaluateTargets(
  summary: SummaryRow[],
  mirror: MirrorRecord[],
  bundle: BundleResult | undefined,
  context: { rcloneInstalled: boolean },
): TargetResult[] {
  const targets: TargetResult[] = [];
  const ratioRows = ratios(summary);
  const list = (items: string[]) => items.join("; ");

  const legRatios = ratioRows.filter((r) => r.pipelineOverSlowerLeg !== null);
  targets.push({
    id: "throughput-vs-legs",
    target: "pipeline ≥ 0.95 × the slower leg alone",
    measured: list(legRatios.map((r) => `${r.size} ${r.server}: ${r.pipelineOverSlowerLeg!.toFixed(2)}×`)),
    status:
      legRatios.length === 0
        ? "not measured"
        : legRatios.every((r) => r.pipelineOverSlowerLeg! >= 0.95)
          ? "met"
          : "missed",
  });

  const rcloneRatios = ratioRows.filter((r) => r.pipelineOverRclone !== null);
  targets.push({
    id: "throughput-vs-rclone",
    target: "pipeline ≥ rclone on the same pair",
    measured: context.rcloneInstalled
      ? list(rcloneRatios.map((r) => `${r.size} ${r.server}: ${r.pipelineOverRclone!.toFixed(2)}×`))
      : "rclone not installed",
    status:
      rcloneRatios.length === 0
        ? "not measured"
        : rcloneRatios.every((r) => r.pipelineOverRclone! >= 1)
          ? "met"
          : "missed",
  });

  const pipes = summary.filter((r) => r.kind === "pipeline" && r.failed < r.runs);
  targets.push({
    id: "rss-cap",
    target: `pipeline peak RSS ≤ ${RSS_CAP_MB} MB (8 MiB parts × 4 in flight)`,
    measured: list(pipes.map((r) => `${r.size} ${r.server}: ${r.peakRssMB.toFixed(0)} MB`)),
    status:
      pipes.length === 0 ? "not measured" : pipes.every((r) => r.peakRssMB <= RSS_CAP_MB) ? "met" : "missed",
  });

  const flat: { server: string; ratio: number; small: number; big: number }[] = [];
  for (const big of pipes.filter((r) => r.size === "1 GiB")) {
    const small = pipes.find((r) => r.size === "64 MiB" && r.server === big.server);
    if (small)
      flat.push({
        server: big.server ?? "",
        ratio: big.medianRssMB / small.medianRssMB,
        small: small.medianRssMB,
        big: big.medianRssMB,
      });
  }
  targets.push({
    id: "rss-flat",
    target: "peak RSS flat: 1 GiB within 10% of 64 MiB (medians)",
    measured: list(
      flat.map(
        (f) =>
          `${f.server}: ${f.big.toFixed(0)} vs ${f.small.toFixed(0)} MB (+${((f.ratio - 1) * 100).toFixed(0)}%)`,
      ),
    ),
    status: flat.length === 0 ? "not measured" : flat.every((f) => f.ratio <= 1.1) ? "met" : "missed",
  });

  const mirrorRatios = mirror
    .filter((m) => m.ftp2s3?.ok && m.rclone?.ok)
    .map((m) => ({ server: m.server, ratio: m.rclone!.wallMs / m.ftp2s3!.wallMs }));
  const mirrorFailures = mirror
    .filter((m) => m.ftp2s3 && !m.ftp2s3.ok)
    .map((m) => `${m.server}: failed (${m.ftp2s3!.error ?? "wrong summary"})`);
  targets.push({
    id: "mirror-speed",
    target: "1,000-file mirror ≥ 2× as fast as rclone copy --transfers 4",
    measured:
      mirror.length === 0
        ? "not run"
        : !context.rcloneInstalled
          ? "rclone not installed"
          : mirror.some((m) => m.ftp2s3Missing)
            ? "ftp2s3 mirror not in this build"
            : list([...mirrorRatios.map((r) => `${r.server}: ${r.ratio.toFixed(2)}×`), ...mirrorFailures]),
    status:
      mirrorFailures.length > 0
        ? "missed"
        : mirrorRatios.length === 0
          ? "not measured"
          : mirrorRatios.every((r) => r.ratio >= 2)
            ? "met"
            : "missed",
  });

  const reruns = mirror.filter((m) => m.ftp2s3Rerun);
  targets.push({
    id: "mirror-rerun",
    target: "no-change mirror rerun sends no RETR",
    measured:
      reruns.length === 0
        ? "not measured"
        : list(
            reruns.map(
              (m) =>
                `${m.server}: ${m.ftp2s3Rerun!.retrSent} RETR, unchanged ${String(m.ftp2s3Rerun!.summary?.unchanged)} of ${m.files}`,
            ),
          ),
    status:
      reruns.length === 0
        ? "not measured"
        : reruns.every((m) => m.ftp2s3Rerun!.retrSent === 0 && m.ftp2s3Rerun!.ok)
          ? "met"
          : "missed",
  });

  targets.push({
    id: "bundle-size",
    target: "bundled handler ≤ 1.5 MB",
    measured: bundle
      ? `${(bundle.bytes / MB).toFixed(2)} MB (index.mjs; the source map ${(bundle.sourceMapBytes / MB).toFixed(2)} MB beside it)`
      : "not measured",
    status: bundle ? (bundle.bytes <= 1.5 * MB ? "met" : "missed") : "not measured",
  });
  targets.push({
    id: "module-load",
    target: "module load ≤ 200 ms",
    measured: bundle
      ? `${bundle.loadMs.toFixed(0)} ms (median of ${bundle.loadRunsMs.length} imports)`
      : "not measured",
    status: bundle ? (bundle.loadMs <= 200 ? "met" : "missed") : "not measured",
  });
  return targets;
}

// -------------------------------------------------------------------------------------------------
// Rendering

function table(header: string[], rows: string[][], align: ("l" | "r")[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (cells: string[]) =>
    cells.map((c, i) => (align[i] === "r" ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  return [pad(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(pad)];
}

function markdownTable(header: string[], rows: string[][], align: ("l" | "r")[]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `| ${align.map((a) => (a === "r" ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

const SUMMARY_HEADER = [
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
const SUMMARY_ALIGN: ("l" | "r")[] = ["l", "l", "l", "r", "r", "r", "r", "r", "r"];

function summaryRows(summary: SummaryRow[]): string[][] {
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

function ratioRows(results: Results): string[][] {
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
const RATIO_HEADER = [
  "size",
  "FTP server",
  "pipeline MB/s",
  "slower leg MB/s",
  "pipeline / slower leg",
  "rclone MB/s",
  "pipeline / rclone",
];
const RATIO_ALIGN: ("l" | "r")[] = ["l", "l", "r", "l", "r", "r", "r"];

const seconds = (run: MirrorRun | undefined) => (run ? `${(run.wallMs / 1000).toFixed(2)} s` : "—");
function mirrorRows(results: Results): string[][] {
  return results.mirror.map((m) => [
    m.server,
    m.ftp2s3Missing
      ? "not in this build"
      : m.ftp2s3?.ok
        ? seconds(m.ftp2s3)
        : `failed: ${m.ftp2s3?.error ?? ""}`,
    m.ftp2s3Rerun ? `${seconds(m.ftp2s3Rerun)}, ${m.ftp2s3Rerun.retrSent} RETR` : "—",
    m.ftp2s3 ? `${rssMB(m.ftp2s3.maxRssKiB).toFixed(0)}` : "—",
    m.rclone ? (m.rclone.ok ? seconds(m.rclone) : "failed") : "rclone not installed",
    m.rcloneRerun ? `${seconds(m.rcloneRerun)}, ${m.rcloneRerun.retrSent} RETR` : "—",
    m.rclone ? `${rssMB(m.rclone.maxRssKiB).toFixed(0)}` : "—",
    m.ftp2s3?.ok && m.rclone?.ok ? `${(m.rclone.wallMs / m.ftp2s3.wallMs).toFixed(2)}×` : "—",
  ]);
}
const MIRROR_HEADER = [
  "FTP server",
  "ftp2s3 mirror",
  "ftp2s3 rerun",
  "ftp2s3 RSS MB",
  "rclone copy",
  "rclone rerun",
  "rclone RSS MB",
  "rclone time / ftp2s3 time",
];
const MIRROR_ALIGN: ("l" | "r")[] = ["l", "r", "r", "r", "r", "r", "r", "r"];

const STATUS_TEXT: Record<TargetStatus, string> = {
  met: "met",
  missed: "MISSED",
  "not measured": "not measured",
};

interface DiagnosisRow {
  variant: string;
  size: string;
  runs: number;
  mbPerS: number;
  rssMB: number;
  arrayBuffersMB: number | null;
  heapMB: number | null;
  partsPhaseS: number | null;
  completeS: number | null;
  feedGapMs: number | null;
  cpuSPerGiB: number;
}

const isMirrorDiagnosis = (d: DiagnosisRecord) => d.variant.startsWith("mirror");

const MIRROR_DIAGNOSIS_HEADER = [
  "variant",
  "time",
  "ftp2s3 CPU s",
  "s3rver CPU s",
  "peak RSS MB",
  "S3 requests",
  "FTP commands",
];
const MIRROR_DIAGNOSIS_ALIGN: ("l" | "r")[] = ["l", "r", "r", "r", "r", "l", "l"];
const countsText = (counts: Record<string, number> | undefined) =>
  counts === undefined
    ? "—"
    : Object.entries(counts)
        .sort((a, b) => b[1] - a[1])
        .map(([kind, n]) => `${n} ${kind}`)
        .join(", ");
function mirrorDiagnosisRows(records: DiagnosisRecord[]): string[][] {
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

const RESUMABLE_HEADER = [
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
const RESUMABLE_ALIGN: ("l" | "r")[] = ["l", "l", "r", "r", "r", "r", "r", "r", "r"];
/** The --resumable rows beside the pipeline's on the same server and size. */
function resumableCostRows(summary: SummaryRow[]): string[][] {
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

const FIXED_HEADER = ["run", "FTP server", "time", "peak RSS MB", "runs"];
const FIXED_ALIGN: ("l" | "r")[] = ["l", "l", "r", "r", "r"];
function fixedCostRows(results: Results): string[][] {
  return results.fixedCost.map((f) => [
    KIND_LABEL[f.kind],
    f.server ?? "—",
    `${f.wallMs} ms`,
    f.rssMB.toFixed(0),
    String(f.runs),
  ]);
}

export function diagnosisRows(records: DiagnosisRecord[]): DiagnosisRow[] {
  const groups = new Map<string, DiagnosisRecord[]>();
  for (const r of records.filter((d) => d.ok && !isMirrorDiagnosis(d)))
    groups.set(`${r.size}|${r.variant}`, [...(groups.get(`${r.size}|${r.variant}`) ?? []), r]);
  const num = (value: unknown) => (typeof value === "number" ? value : Number.NaN);
  const orNull = (value: number) => (Number.isFinite(value) ? value : null);
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const peak = (name: string) =>
      median(group.map((g) => num((g.memory?.peak as Record<string, unknown> | undefined)?.[name]) / MB));
    const http = (name: string) => median(group.map((g) => num(g.http?.[name])));
    const gap = median(
      group.map((g) => num((g.http?.feedGapMs as Record<string, unknown> | undefined)?.median)),
    );
    return {
      variant: first.variant,
      size: first.size,
      runs: group.length,
      mbPerS: round(median(group.map(mbPerS))),
      rssMB: round(median(group.map((g) => rssMB(g.maxRssKiB)))),
      arrayBuffersMB: orNull(round(peak("arrayBuffers"))),
      heapMB: orNull(round(peak("heapTotal"))),
      partsPhaseS: orNull(round(http("partsPhaseMs") / 1000, 2)),
      completeS: orNull(round(http("completeMs") / 1000, 2)),
      feedGapMs: orNull(round(gap, 0)),
      cpuSPerGiB: round(median(group.map((g) => g.cpuS / (g.bytes / GiB))), 2),
    };
  });
}
const DIAGNOSIS_HEADER = [
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
const DIAGNOSIS_ALIGN: ("l" | "r")[] = ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r"];
function diagnosisTableRows(records: DiagnosisRecord[]): string[][] {
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
    `S3: ${results.software.s3.server} ${results.software.s3.version} (${results.software.s3.storage}); FTP: ${results.software.ftp.map((f) => `${f.server} ${f.version}`).join(", ") || "none"}; rclone: ${results.software.rclone ?? "not installed"}`,
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

// -------------------------------------------------------------------------------------------------
// Why a target is missed: the mechanism, as the diagnosis runs showed it, with this run's figures.

function diagnosisRow(results: Results, size: string, variant: string): DiagnosisRow | undefined {
  return results.diagnosis
    ? diagnosisRows(results.diagnosis).find((r) => r.size === size && r.variant === variant)
    : undefined;
}
const fmt = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || !Number.isFinite(value) ? "?" : value.toFixed(digits);
const NO_DIAGNOSIS = "Run `npm run bench` without `--no-diagnose` for the figures behind this.";

const DEFAULTS = "ftp2s3, defaults";
const LEG = "S3 leg alone (reference)";
const SEMI = "ftp2s3, node --max-semi-space-size=1";
const GC_PER_PART = "ftp2s3, minor GC per part (probe), semi-space 1";
const RESUMABLE = "ftp2s3 --resumable";

/**
 * Facts measured by hand on 2026-11-27 (not by this bench), each with how: the bench cannot take
 * them itself without building old commits.
 */
const BY_HAND = {
  /** `/usr/bin/time node <bundle> --help`, 5 runs each: RSS and wall time of loading the command. */
  nodeBareMB: 41,
  helpNowMB: 78.6,
  helpNowS: 0.25,
  helpNowBundleMB: 2.8,
  /** The command built from 7271b05 (PartUpload in, before the CLI's resume-state.ts imported zod and config.ts). */
  helpBeforeMB: 70.9,
  helpBeforeS: 0.15,
  helpBeforeBundleMB: 2.0,
  /** The S3 leg's bundle (.cache/bench/legs/s3-upload.mjs, 1.45 MB) run to its usage message. */
  s3LegLoadMB: 62.7,
  s3LegLoadS: 0.15,
  /** `node -e "await import('basic-ftp')"`: what the (unbundled) FTP leg loads before any data. */
  basicFtpMB: 59.6,
};

function fixedCost(results: Results, kind: RunKind): FixedCostRow | undefined {
  return results.fixedCost.find((f) => f.kind === kind);
}

function fixedCostRange(results: Results, kind: RunKind): string {
  const ms = results.fixedCost.filter((f) => f.kind === kind).map((f) => f.wallMs);
  if (ms.length === 0) return "?";
  const lo = Math.min(...ms);
  const hi = Math.max(...ms);
  return lo === hi ? `${lo} ms` : `${lo}–${hi} ms`;
}

const ratioList = (rows: RatioRow[], pick: (r: RatioRow) => number | null) =>
  rows
    .filter((r) => pick(r) !== null)
    .map((r) => `${r.server} ${pick(r)!.toFixed(2)}×`)
    .join(", ");

function whyThroughput(results: Results, versus: "legs" | "rclone"): string {
  const rows = ratios(results.summary);
  const big = rows.filter((r) => r.size === "1 GiB");
  const small = rows.filter((r) => r.size === "64 MiB");
  const pick =
    versus === "legs" ? (r: RatioRow) => r.pipelineOverSlowerLeg : (r: RatioRow) => r.pipelineOverRclone;
  const target = versus === "legs" ? 0.95 : 1;
  const bigMissed = big.some((r) => (pick(r) ?? 1) < target);
  const pipe64 = results.summary.filter((r) => r.size === "64 MiB" && r.kind === "pipeline");
  const copy64S = median(pipe64.map((r) => r.bytes / (r.mbPerS * 1e6)));
  const ours = fixedCost(results, "pipeline");
  const theirs = fixedCost(results, "rclone");
  const d = {
    leg64: diagnosisRow(results, "64 MiB", LEG),
    pipe64: diagnosisRow(results, "64 MiB", DEFAULTS),
    leg1g: diagnosisRow(results, "1 GiB", LEG),
    pipe1g: diagnosisRow(results, "1 GiB", DEFAULTS),
    q8: diagnosisRow(results, "1 GiB", "ftp2s3 --queue-size 8"),
  };
  const zodMs = (BY_HAND.helpNowS - BY_HAND.helpBeforeS) * 1000;
  const s3rverCpu = results.summary.find((r) => r.size === "1 GiB" && r.kind === "s3-leg")?.s3rverCpuSPerGiB;
  const lines: string[] = [];
  lines.push(
    `At 1 GiB: ${ratioList(big, pick) || "not measured"}. At 64 MiB: ${ratioList(small, pick) || "not measured"}.`,
    `A 64 MiB copy lasts about ${fmt(copy64S, 2)} s here, so what a copy costs before its first byte weighs on it:`,
    "",
  );
  if (versus === "legs") {
    lines.push(
      `1. **Start-up.** One 1 KiB copy takes ${fixedCostRange(results, "pipeline")} (process start, loading the command, the FTP session with`,
      "   SIZE and MDTM, one PutObject, the tagging request); the S3 leg loads only the SDK and PartUpload and opens no FTP",
      `   session (its bundle runs to its usage message in ${BY_HAND.s3LegLoadS.toFixed(2)} s at ${BY_HAND.s3LegLoadMB} MB). Measured by hand (\`node dist/ftp2s3.mjs --help\`, 5 runs): today's bundle is`,
      `   ${BY_HAND.helpNowBundleMB} MB and loads in ${BY_HAND.helpNowS.toFixed(2)} s; the command built from 7271b05 (PartUpload already in, before`,
      "   functions/cli/resume-state.ts brought zod and functions/config.ts into the command) is",
      `   ${BY_HAND.helpBeforeBundleMB.toFixed(1)} MB and loads in ${BY_HAND.helpBeforeS.toFixed(2)} s: about ${fmt(zodMs)} ms more per copy, ${fmt((zodMs / 1000 / copy64S) * 100)}% of a 64 MiB copy.`,
      `2. **Feeding the first parts.** In the diagnosis runs at 64 MiB the parts phase is ${fmt(d.pipe64?.partsPhaseS, 2)} s for ftp2s3 against`,
      `   ${fmt(d.leg64?.partsPhaseS, 2)} s for the S3 leg (median wait for the next part ${fmt(d.pipe64?.feedGapMs)} against ${fmt(d.leg64?.feedGapMs)} ms): the pipeline's parts come`,
      "   from an FTP socket and are hashed (node:crypto, about 5 ms per 8 MiB) as they are sealed; the leg's come from the",
      "   page cache and are not hashed.",
      "3. **Noise.** Both are bound by s3rver, one Node process that spends about " +
        `${fmt(s3rverCpu, 1)} CPU s per GiB it receives on the`,
      "   same two cores, and that concatenates the parts on disk at CompleteMultipartUpload. The runs of one subject spread",
      `   widely (see the range column), and at 1 GiB the S3 leg's completion took ${fmt(d.leg1g?.completeS, 2)} s against ${fmt(d.pipe1g?.completeS, 2)} s for`,
      "   ftp2s3 in the diagnosis runs: the same request to the same server. Ratios near 1 are within the noise of 2–3 runs.",
    );
  } else {
    lines.push(
      `1. **Start-up.** One 1 KiB copy takes ${fixedCostRange(results, "pipeline")} with ftp2s3 and ${fixedCostRange(results, "rclone")} with rclone`,
      `   (medians ${fmt(ours?.wallMs)} and ${fmt(theirs?.wallMs)} ms): the difference is ${fmt((((ours?.wallMs ?? Number.NaN) - (theirs?.wallMs ?? Number.NaN)) / 1000 / copy64S) * 100)}% of a 64 MiB copy. A Go binary starts in`,
      `   milliseconds; a Node process loading today's ${BY_HAND.helpNowBundleMB} MB bundle takes ${BY_HAND.helpNowS.toFixed(2)} s for \`--help\` alone, ${fmt(zodMs)} ms more`,
      "   than the build of 7271b05, before functions/cli/resume-state.ts brought zod and functions/config.ts in (by hand, 5 runs).",
      bigMissed
        ? `2. **At 1 GiB**, where start-up does not matter, the medians of 2 runs differ by less than their spread (see the ranges);`
        : "2. **At 1 GiB**, where start-up does not matter, ftp2s3 is at or above rclone.",
      bigMissed
        ? `   more uploaders help against s3rver: --queue-size 8 ran at ${fmt(d.q8?.mbPerS, 1)} MB/s against ${fmt(d.pipe1g?.mbPerS, 1)} MB/s with the default 4 (diagnosis).`
        : "",
    );
  }
  const legsMissed = results.targets.some((t) => t.id === "throughput-vs-legs" && t.status === "missed");
  if (versus === "rclone" && legsMissed) {
    lines.push("", "**Proposed**: the lighter load path of the section above.");
    return lines.filter((l, i, all) => !(l === "" && all[i - 1] === "")).join("\n");
  }
  lines.push(
    "",
    "**Proposed** (functions/, not changed by the bench): keep zod and functions/config.ts out of the command's load path",
    "(load resume-state.ts with `await import()` only for `--resume` and a suspension, or check its JSON by hand); import",
    "hash-wasm the same way, only for `--resumable`. Expected: back to about the 0.15 s and 71 MB of 7271b05's `--help`.",
  );
  return lines.filter((l, i, all) => !(l === "" && all[i - 1] === "")).join("\n");
}

function whyRss(results: Results, flat: boolean): string {
  const d64 = diagnosisRow(results, "64 MiB", DEFAULTS);
  const d1g = diagnosisRow(results, "1 GiB", DEFAULTS);
  const semi64 = diagnosisRow(results, "64 MiB", SEMI);
  const semi1g = diagnosisRow(results, "1 GiB", SEMI);
  const gc64 = diagnosisRow(results, "64 MiB", GC_PER_PART);
  const gc1g = diagnosisRow(results, "1 GiB", GC_PER_PART);
  const q2 = diagnosisRow(results, "64 MiB", "ftp2s3 --queue-size 2");
  const p5 = diagnosisRow(results, "64 MiB", "ftp2s3 --part-size 5");
  const ours = fixedCost(results, "pipeline");
  const ftpLeg = results.summary.find((r) => r.size === "1 GiB" && r.kind === "ftp-leg");
  const parts = (5 * 8 * 1024 * 1024) / 1e6;
  const floor = (ours?.rssMB ?? Number.NaN) + parts;
  if (flat) {
    return [
      `From 64 MiB to 1 GiB (diagnosis, defaults) the V8 heap stays at ${fmt(d64?.heapMB)} and ${fmt(d1g?.heapMB)} MB; what grows is the Buffer memory`,
      `outside it, ${fmt(d64?.arrayBuffersMB)} → ${fmt(d1g?.arrayBuffersMB)} MB, of which the part buffers are a fixed 42 MB. The rest are the 64 KiB Buffers`,
      "of the socket reads (basic-ftp hands PartUpload a new one per read; it copies them into the part buffers and drops",
      "them): about 16,000 per GiB, dead but counted as V8's external memory, which V8 collects only after it has grown by",
      "tens of MB; the longer the run, the more often the peak meets a full load of them. Not malloc keeping freed memory:",
      "with MALLOC_MMAP_THRESHOLD_=65536 (every socket Buffer its own mapping, returned at once; by hand, vsftpd, one run",
      "at 1 GiB, two at 64 MiB) the peaks were 139 and 156 MB against 147 and 158 MB without.",
      `The FTP leg alone, which keeps nothing, peaks at ${fmt(ftpLeg?.peakRssMB)} MB at 1 GiB, about ${fmt((ftpLeg?.peakRssMB ?? Number.NaN) - BY_HAND.basicFtpMB)} MB above node with basic-ftp loaded (${BY_HAND.basicFtpMB} MB, by hand).`,
      "",
      `- node --max-semi-space-size=1: ${fmt(semi64?.rssMB)} → ${fmt(semi1g?.rssMB)} MB (${pct(semi64?.rssMB, semi1g?.rssMB)});`,
      `- a minor GC as each part is sent, and semi-space 1: ${fmt(gc64?.rssMB)} → ${fmt(gc1g?.rssMB)} MB (${pct(gc64?.rssMB, gc1g?.rssMB)}).`,
      "",
      `Both lower the peak (${saving(d64?.rssMB, semi64?.rssMB, gc64?.rssMB)} MB at 64 MiB, ${saving(d1g?.rssMB, semi1g?.rssMB, gc1g?.rssMB)} MB at 1 GiB); neither makes the run flat within`,
      "10% by itself: the GC per part adds nothing to the smaller semi-space, whose scavenges already come often.",
      "",
      "**Proposed** (functions/): start the command and the Lambda with `--max-semi-space-size=1` (the bin's shebang,",
      "NODE_OPTIONS); then measure a `setFlagsFromString('--expose-gc')` minor GC per sealed part in PartUpload.",
    ].join("\n");
  }
  return [
    `Where the memory goes (diagnosis, 64 MiB, defaults): ${fmt(d64?.arrayBuffersMB)} MB of Buffers outside the V8 heap (the part buffers`,
    `are 42 MB of it), ${fmt(d64?.heapMB)} MB of V8 heap, the rest of the ${fmt(d64?.rssMB)} MB is Node and the loaded code.`,
    "",
    `- **The floor.** A 1 KiB copy, which holds no data, peaks at ${fmt(ours?.rssMB)} MB; 8 MiB × (4 in flight + 1 filling) is ${parts.toFixed(0)} MB`,
    `  more: ${fmt(floor)} MB before a single socket read. 110 MB is below the floor of this design with this command.`,
    `- **The command's own weight.** Bare \`node\` is ${BY_HAND.nodeBareMB} MB; \`node dist/ftp2s3.mjs --help\` ${BY_HAND.helpNowMB} MB today, ${BY_HAND.helpBeforeMB} MB for`,
    "  the build of 7271b05, before functions/cli/resume-state.ts brought zod and functions/config.ts into the command",
    "  (by hand, 5 runs each).",
    `- **Garbage.** Every socket read is a new 64 KiB Buffer that waits for V8's next collection: node`,
    `  --max-semi-space-size=1 brings the peak to ${fmt(semi64?.rssMB)} MB (heap ${fmt(semi64?.heapMB)} MB instead of ${fmt(d64?.heapMB)}); a minor GC per part with`,
    `  semi-space 1 to ${fmt(gc64?.rssMB)} MB. Smaller settings only remove what they hold: --part-size 5 ${fmt(p5?.rssMB)} MB, --queue-size 2 ${fmt(q2?.rssMB)} MB.`,
    "",
    `**Proposed**: the lighter load path (above: about ${fmt(BY_HAND.helpNowMB - BY_HAND.helpBeforeMB)} MB) and \`--max-semi-space-size=1\` (about ${fmt((d64?.rssMB ?? Number.NaN) - (semi64?.rssMB ?? Number.NaN))} MB)`,
    `would bring a 64 MiB copy to about ${fmt((semi64?.rssMB ?? Number.NaN) - (BY_HAND.helpNowMB - BY_HAND.helpBeforeMB))} MB: still above 110. A target this design can hold: the RSS of a`,
    "1 KiB copy + (queue size + 1) × part size + 15%, about 130 MB at 8 MiB × 4; or 110 MB at --part-size 5.",
  ].join("\n");
}

/** How much lower `a` and `b` are than `base`, as "n" or "n–m" MB. */
function saving(base: number | null | undefined, a: number | null | undefined, b: number | null | undefined) {
  if (base == null || a == null || b == null) return "?";
  const [lo, hi] = [base - Math.max(a, b), base - Math.min(a, b)].map((v) => Math.round(v));
  return lo === hi ? String(lo) : `${lo}–${hi}`;
}

const pct = (from: number | null | undefined, to: number | null | undefined) =>
  from && to ? `${to >= from ? "+" : "−"}${Math.abs((to / from - 1) * 100).toFixed(0)}%` : "?";

/** What --resumable costs, and why: under its table in the README. */
function resumableNote(results: Results): string {
  const pipe = diagnosisRow(results, "1 GiB", DEFAULTS);
  const res = diagnosisRow(results, "1 GiB", RESUMABLE);
  return [
    "PartUpload hashes each part as it seals it, on the event loop: hash-wasm's SHA-256 takes about 28 ms per 8 MiB",
    "(node:crypto about 5), while the uploaders wait for their next part. In the diagnosis runs at 1 GiB the median wait",
    `for the next part is ${fmt(res?.feedGapMs)} ms with --resumable against ${fmt(pipe?.feedGapMs)} ms without, the parts phase ${fmt(res?.partsPhaseS, 2)} s against ${fmt(pipe?.partsPhaseS, 2)} s.`,
    "**Proposed** (functions/core/sha256.ts, part-upload.ts): hash a resumable copy in a worker thread, fed the sealed",
    "part buffers (it must finish before the buffer is reused), so that the hash runs beside the uploads instead of",
    "between them; the CPU stays (about 3 s per GiB), the wait goes. On these 2 cores, shared with s3rver and the FTP",
    "server, that gains less than on a Lambda, which gets a core per 1,769 MB.",
  ].join("\n");
}

function perFile(counts: Record<string, number> | undefined, files: number): string {
  if (!counts) return "?";
  const each = Object.entries(counts)
    .filter(([, n]) => n >= files * 0.9)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => (Math.round(n / files) === 1 ? kind : `${Math.round(n / files)} × ${kind}`));
  return each.length === 0 ? "nothing" : each.join(", ");
}

function whyMirror(results: Results): string {
  const rows = results.diagnosis?.filter(isMirrorDiagnosis) ?? [];
  const byLabel = (label: string) => rows.find((r) => r.variant === label);
  const base = byLabel("mirror, defaults (--concurrency 4)");
  const noTag = byLabel("mirror --no-tag");
  const lean = byLabel("mirror --checksums when-required --no-tag");
  const c8 = byLabel("mirror --concurrency 8");
  const files = results.mirror[0]?.files ?? 1000;
  const server = base?.server ?? "";
  const record = results.mirror.find((m) => m.server === server);
  const rcloneS = record?.rclone ? record.rclone.wallMs / 1000 : Number.NaN;
  const s3Kinds = (base?.http?.requestsByKind ?? undefined) as Record<string, number> | undefined;
  const secs = (r: DiagnosisRecord | undefined) => (r ? (r.wallMs / 1000).toFixed(2) : "?");
  const fastest = [base, noTag, lean, c8]
    .filter((r): r is DiagnosisRecord => r?.ok === true)
    .sort((a, b) => a.wallMs - b.wallMs)[0];
  const lines = [
    `Per file (${server}, from the diagnosis runs): ftp2s3 sends ${perFile(base?.ftpCommands, files)} to the FTP server and`,
    `${perFile(s3Kinds, files)} to S3; rclone sends ${perFile(record?.rclone?.ftpCommands, files)} and one PUT, having listed the bucket once.`,
    "",
    `- Without the tagging request: ${secs(noTag)} s instead of ${secs(base)} s; s3rver's CPU ${fmt(noTag?.s3rverCpuS, 1)} s instead of ${fmt(base?.s3rverCpuS, 1)} s, ftp2s3's`,
    `  ${fmt(noTag?.cpuS, 1)} s instead of ${fmt(base?.cpuS, 1)} s: PutObjectTagging costs s3rver more than the PUT of 16 KiB does.`,
    `- More sessions do not help much: --concurrency 8 takes ${secs(c8)} s. The ftp2s3 process is busy for most of its run`,
    `  (${fmt(base?.cpuS, 1)} CPU s in ${secs(base)} s, about ${fmt(base?.cpuS, 1)} ms of CPU per file). A CPU profile (node --cpu-prof, by hand) puts the`,
    "  largest part in the AWS SDK's request pipeline (@smithy/core, @aws-sdk/core, signing: about 0.5 ms per request),",
    "  then the sockets.",
    "- Measured by hand with a patched build of the morning of 2026-11-27 (not part of the bench; 3 runs on each server):",
    "  no HEAD before each copy, no tagging request and no SIZE (the size from the listing) brought the mirror to",
    "  2.8–3.4 s against rclone's 2.4–3.1 s: parity, with the ftp2s3 process then busy for its whole run.",
    "",
    `Twice rclone's speed means ${fmt(rcloneS / 2, 2)} s here, ${fmt((rcloneS / 2 / files) * 1000, 2)} ms of wall time per file; the fastest variant above`,
    `(${fastest?.variant ?? "?"}) spends ${fmt(fastest ? fastest.cpuS : Number.NaN, 1)} ms of CPU per file in one Node process. The 2× target is out of reach`,
    "on this machine; parity is within reach.",
    "",
    "**Recommended changes** (functions/core/mirror.ts, transfer.ts, adapters): for a file that fits in one part, read it",
    "whole and, after the final reply, send one PutObject that carries the metadata and the `sha256` tag (`x-amz-tagging`):",
    "one S3 request per file instead of two; take the size (and, from MLSD, the time) from the listing instead of SIZE and",
    "MDTM per file" +
      ((s3Kinds?.HEAD ?? 0) >= files * 0.9
        ? "; no HEAD where the bucket listing already shows the key absent or unchanged."
        : " (this build already sends no HEAD per file)."),
  ];
  return lines.join("\n");
}

const WHY_MISSED: Record<string, (results: Results) => string> = {
  "throughput-vs-legs": (r) => (r.diagnosis ? whyThroughput(r, "legs") : NO_DIAGNOSIS),
  "throughput-vs-rclone": (r) => (r.diagnosis ? whyThroughput(r, "rclone") : NO_DIAGNOSIS),
  "rss-cap": (r) => (r.diagnosis ? whyRss(r, false) : NO_DIAGNOSIS),
  "rss-flat": (r) => (r.diagnosis ? whyRss(r, true) : NO_DIAGNOSIS),
  "mirror-speed": (r) => (r.diagnosis ? whyMirror(r) : NO_DIAGNOSIS),
};

export function renderMarkdown(results: Results): string {
  const out: string[] = [];
  const sw = results.software;
  out.push(
    "# Benchmark: the latest figures",
    "",
    `Written by \`npm run bench\` (bench/run.ts) on ${results.generatedAt.slice(0, 10)}, in ${results.durationS} s; the raw runs are in`,
    "[results.json](results.json). Do not edit this file: the next run rewrites it.",
    "",
    `- Machine: ${results.machine.cores} × ${results.machine.cpu}, ${results.machine.memoryGiB} GiB, Linux ${results.machine.kernel}, Node.js ${results.machine.node}.` +
      (results.machine.loadAverageAtStart === undefined
        ? ""
        : ` Load average ${results.machine.loadAverageAtStart} at the start, ${results.machine.loadAverageAtEnd} at the end (the bench itself keeps up to three processes busy, so the load at the end is high anyway; a high load at the start means other work shared the cores).`),
    `- S3: **${sw.s3.server} ${sw.s3.version}**, storing on ${sw.s3.storage}, on 127.0.0.1, in the bench's own process.`,
    `- FTP: ${sw.ftp.map((f) => `${f.server} ${f.version}`).join(", ") || "none"} (Debian's, unpacked by scripts/interop-setup.sh), on 127.0.0.1.${sw.skippedFtp.length ? ` Skipped: ${sw.skippedFtp.map((s) => `${s.kind} (${s.reason})`).join("; ")}.` : ""}`,
    `- rclone: ${sw.rclone ?? "not installed (apt-get install -y rclone): its rows are missing"}.`,
    "- s3rver pages its listings with DES-encrypted continuation tokens, which OpenSSL 3 keeps in its legacy provider: the",
    "  bench runs under `node --openssl-legacy-provider` (without it s3rver answers 500 to any listing of more than 1,000 keys,",
    "  such as the mirror's 1,000 objects and its manifest).",
    `- Files of random bytes; ${Object.entries(results.settings.repetitions)
      .map(([size, n]) => `${size} × ${n} runs`)
      .join(
        ", ",
      )}, interleaved (every repetition runs every subject once); the disk is synced before each run. The table gives the median, the range, and the highest peak RSS.`,
    `- ${results.settings.units}. Every run is its own process, measured by GNU time: the figures include start-up, connecting, the completion of the upload and exit.`,
    "",
    "What runs:",
    "",
    "- **FTP leg alone**: basic-ftp `downloadTo` into a sink that drops the bytes (bench/legs/ftp-download.ts).",
    `- **S3 leg alone**: the product's multipart driver, \`PartUpload\` over \`createS3Sink\` and \`createS3Client\` (functions/core/part-upload.ts), fed the file's bytes as a Readable of 64 KiB Buffers from the page cache, ${results.settings.partSizeMiB} MiB parts, ${results.settings.queueSize} in flight, then \`commit()\`, as copyFile drives it; no SHA-256 (bench/legs/s3-upload.ts, bundled like the command).`,
    "- **ftp2s3 (pipeline)**: the built command with its defaults (`--progress none --overwrite`): SHA-256 (node:crypto), size check, commit gate, tag.",
    "- **ftp2s3 --resumable**: the same with `--resumable` (Ctrl-C would suspend at a part boundary): the SHA-256 is hash-wasm's, whose state can be saved; vsftpd only.",
    `- **rclone copyto**: \`--s3-chunk-size ${results.settings.partSizeMiB}M --s3-upload-concurrency ${results.settings.queueSize} --s3-upload-cutoff ${results.settings.partSizeMiB}M --no-check-dest\`, run without \`AWS_CA_BUNDLE\`.`,
    "",
    "## Targets",
    "",
    ...markdownTable(
      ["target", "measured", "status"],
      results.targets.map((t) => [t.target, t.measured, t.status === "missed" ? "**MISSED**" : t.status]),
      ["l", "l", "l"],
    ),
    "",
  );
  const missed = results.targets.filter((t) => t.status === "missed");
  if (missed.length > 0) {
    out.push("Why the misses: see [below](#why-the-targets-are-missed).", "");
  }
  out.push(
    "## One file: throughput, memory, CPU",
    "",
    ...markdownTable(SUMMARY_HEADER, summaryRows(results.summary), SUMMARY_ALIGN),
    "",
  );
  out.push(
    "Ratios, from the medians above:",
    "",
    ...markdownTable(RATIO_HEADER, ratioRows(results), RATIO_ALIGN),
    "",
  );
  const resumableCost = resumableCostRows(results.summary);
  if (resumableCost.length > 0) {
    out.push(
      "What `--resumable` costs: the same copy, hashed by hash-wasm instead of node:crypto (medians above):",
      "",
      ...markdownTable(RESUMABLE_HEADER, resumableCost, RESUMABLE_ALIGN),
      "",
      ...(results.diagnosis ? [resumableNote(results), ""] : []),
    );
  }
  if (results.fixedCost.length > 0) {
    out.push(
      "One copy of a 1 KiB file: what a copy costs before any data (process start, module load, the FTP session, the",
      "requests around the data) and the memory of a process that holds no data:",
      "",
      ...markdownTable(FIXED_HEADER, fixedCostRows(results), FIXED_ALIGN),
      "",
    );
  }
  const chart = ratios(results.summary).filter((r) => r.size === "1 GiB");
  if (chart.length > 0) {
    const bars: { label: string; value: number }[] = [];
    const s3Leg = results.summary.find((r) => r.size === "1 GiB" && r.kind === "s3-leg");
    if (s3Leg) bars.push({ label: "S3 leg", value: s3Leg.mbPerS });
    for (const r of chart) {
      bars.push({ label: `ftp2s3 ${r.server}`, value: r.pipeline });
      if (r.rclone !== null) bars.push({ label: `rclone ${r.server}`, value: r.rclone });
    }
    out.push(
      "1 GiB, MB/s (the FTP legs alone run at ten times these speeds and are left out):",
      "",
      "```mermaid",
      "xychart-beta",
      '  title "1 GiB into s3rver, MB/s (median)"',
      `  x-axis [${bars.map((b) => `"${b.label}"`).join(", ")}]`,
      '  y-axis "MB/s"',
      `  bar [${bars.map((b) => b.value.toFixed(1)).join(", ")}]`,
      "```",
      "",
    );
  }
  if (results.mirror.length > 0) {
    const m = results.mirror[0]!;
    out.push(
      `## Mirror: ${m.files.toLocaleString("en")} files of ${m.fileBytes / 1024} KiB`,
      "",
      "`ftp2s3 mirror <dir> <prefix> --concurrency 4` against `rclone copy --transfers 4`, each into an empty prefix, then each",
      "again with nothing changed. RETR: the commands the FTP server logged during the rerun.",
      "",
      ...markdownTable(MIRROR_HEADER, mirrorRows(results), MIRROR_ALIGN),
      "",
    );
  }
  out.push("## The Lambda bundle", "");
  if ("bytes" in results.bundle) {
    const b = results.bundle;
    out.push(
      `functions/handler.ts built by esbuild with the options of infra/constructs/transfer-function.ts (ESM, node22, minified,`,
      `the AWS SDK bundled): **${(b.bytes / MB).toFixed(2)} MB** (${b.bytes.toLocaleString("en")} bytes), and a ${(b.sourceMapBytes / MB).toFixed(2)} MB source map beside it.` +
        (b.cdkAsset ? ` The asset \`cdk synth\` last wrote: ${(b.cdkAsset.bytes / MB).toFixed(2)} MB.` : ""),
      `Module load: \`await import()\` of the bundle in a fresh \`node\` with a minimal FTP2S3_CONFIG, **${b.loadMs.toFixed(0)} ms** (median of ${b.loadRunsMs.length}: ${b.loadRunsMs.join(", ")} ms); the whole process ${b.processMs.toFixed(0)} ms. On Node ${results.machine.node} here; Lambda runs nodejs22.x.`,
      "",
    );
  } else {
    out.push(`Not measured: ${results.bundle.error}`, "");
  }
  if (missed.length > 0) {
    out.push("## Why the targets are missed", "");
    for (const t of missed) {
      out.push(
        `### ${t.target}`,
        "",
        `Measured: ${t.measured}.`,
        "",
        WHY_MISSED[t.id]?.(results) ?? "No diagnosis recorded for this target yet.",
        "",
      );
    }
  }
  if (results.diagnosis) {
    out.push(
      "## Diagnosis runs",
      "",
      `The pipeline on ${results.diagnosis.find((d) => d.server)?.server ?? "?"} with probes preloaded (bench/legs/memory-probe.ts, bench/legs/http-probe.ts), under other settings.`,
      "Buffers: peak of `process.memoryUsage().arrayBuffers` (Buffer memory outside the V8 heap); parts phase: first part request to",
      "last part response; completion: from there to the end (CompleteMultipartUpload, tagging); feed gap: median time from a part's",
      "response to the next part's request (the uploader waiting for its next 8 MiB, plus hashing it).",
      "",
      ...markdownTable(DIAGNOSIS_HEADER, diagnosisTableRows(results.diagnosis), DIAGNOSIS_ALIGN),
      "",
    );
    const mirrorRowsDiag = mirrorDiagnosisRows(results.diagnosis);
    if (mirrorRowsDiag.length > 0) {
      out.push(
        "The mirror of the 1,000 files under other settings, each into an empty prefix; S3 requests as the probe counted them:",
        "",
        ...markdownTable(MIRROR_DIAGNOSIS_HEADER, mirrorRowsDiag, MIRROR_DIAGNOSIS_ALIGN),
        "",
      );
    }
  }
  return `${out.join("\n")}\n`;
}
