/** The targets of issue 7, checked against the summaries. */
import type { BundleResult } from "../lib/bundle.js";
import { MB, ratios } from "./summary.js";
import type { MirrorRecord, SummaryRow, TargetResult } from "./types.js";

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
