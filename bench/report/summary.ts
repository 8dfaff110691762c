/** Summaries of the raw runs: medians per subject, ratios between subjects, the diagnosis rows. */
import { median } from "../lib/measure.js";
import type { DiagnosisRecord, FixedCostRow, RunKind, RunRecord, SummaryRow } from "./types.js";

export const GiB = 1024 ** 3;
export const MB = 1e6;
export const rssMB = (kib: number) => (kib * 1024) / MB;
export const mbPerS = (run: { bytes: number; wallMs: number }) => run.bytes / (run.wallMs / 1000) / MB;
export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

const KIND_ORDER: RunKind[] = ["ftp-leg", "s3-leg", "pipeline", "pipeline-resumable", "rclone"];
export const KIND_LABEL: Record<RunKind, string> = {
  "ftp-leg": "FTP leg alone",
  "s3-leg": "S3 leg alone",
  pipeline: "ftp2s3 (pipeline)",
  "pipeline-resumable": "ftp2s3 --resumable",
  rclone: "rclone copyto",
};

/** `items` in groups of equal `key`, in the order each key first appears. */
function groupBy<T>(items: T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return [...groups.values()];
}

export function summarize(runs: RunRecord[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const group of groupBy(runs, (run) => `${run.size}|${run.kind}|${run.server ?? ""}`)) {
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
  const groups = groupBy(
    runs.filter((r) => r.ok),
    (run) => `${run.kind}|${run.server ?? ""}`,
  );
  return groups.map((group) => ({
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

export interface DiagnosisRow {
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

export const isMirrorDiagnosis = (d: DiagnosisRecord) => d.variant.startsWith("mirror");

export function diagnosisRows(records: DiagnosisRecord[]): DiagnosisRow[] {
  const groups = groupBy(
    records.filter((d) => d.ok && !isMirrorDiagnosis(d)),
    (r) => `${r.size}|${r.variant}`,
  );
  const num = (value: unknown) => (typeof value === "number" ? value : Number.NaN);
  const orNull = (value: number) => (Number.isFinite(value) ? value : null);
  return groups.map((group) => {
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
