/** Why a target is missed: the mechanism, as the diagnosis runs showed it, with this run's figures. */
import { median } from "../lib/measure.js";
import { type DiagnosisRow, diagnosisRows, isMirrorDiagnosis, type RatioRow, ratios } from "./summary.js";
import type { DiagnosisRecord, FixedCostRow, Results, RunKind } from "./types.js";

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
  helpNowMB: 69,
  helpNowS: 0.15,
  helpNowBundleMB: 2.05,
  /** The same with zod and config.ts in the command (resume-state.ts validated with zod for a while, 2026-11-27). */
  helpWithZodMB: 78.6,
  helpWithZodS: 0.25,
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
      "   login, SIZE and MDTM, one PutObject carrying its tag); the S3 leg loads only the SDK and PartUpload and opens no FTP",
      `   session (its bundle runs to its usage message in ${BY_HAND.s3LegLoadS.toFixed(2)} s at ${BY_HAND.s3LegLoadMB} MB). The command's own load is no heavier:`,
      `   its ${BY_HAND.helpNowBundleMB} MB bundle runs \`--help\` in ${BY_HAND.helpNowS.toFixed(2)} s at ${BY_HAND.helpNowMB} MB (by hand, 5 runs; ${BY_HAND.helpWithZodS.toFixed(2)} s while zod was in it,`,
      "   which is why the command checks its state files by hand). What is left is the FTP session before the first byte.",
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
      `   milliseconds; a Node process loading the ${BY_HAND.helpNowBundleMB} MB bundle takes ${BY_HAND.helpNowS.toFixed(2)} s for \`--help\` alone (by hand, 5 runs).`,
      bigMissed
        ? `2. **At 1 GiB**, where start-up does not matter, the medians of 2 runs differ by less than their spread (see the ranges);`
        : "2. **At 1 GiB**, where start-up does not matter, ftp2s3 is at or above rclone.",
      bigMissed
        ? `   more uploaders help against s3rver: --queue-size 8 ran at ${fmt(d.q8?.mbPerS, 1)} MB/s against ${fmt(d.pipe1g?.mbPerS, 1)} MB/s with the default 4 (diagnosis).`
        : "",
    );
  }
  lines.push(
    "",
    "**Done**: the command's load path holds no zod and loads hash-wasm only for a copy that may stop (about 100 ms and",
    "8 MB less per start). **Left**: Node's start and the FTP session's round trips before the first byte, a fixed cost",
    "that a 64 MiB copy on loopback feels and a long copy does not.",
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
  const parts = (4 * 8 * 1024 * 1024) / 1e6;
  const floor = (ours?.rssMB ?? Number.NaN) + parts;
  if (flat) {
    return [
      `From 64 MiB to 1 GiB (diagnosis, defaults) the V8 heap stays at ${fmt(d64?.heapMB)} and ${fmt(d1g?.heapMB)} MB; what grows is the Buffer memory`,
      `outside it, ${fmt(d64?.arrayBuffersMB)} → ${fmt(d1g?.arrayBuffersMB)} MB, of which the part buffers are a fixed 34 MB. The rest are the 64 KiB Buffers`,
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
      "**Done**: the bin's shebang and the Lambda's NODE_OPTIONS set `--max-semi-space-size=1`: the pipeline rows above",
      "run the bin and include it (the diagnosis runs call node directly: their defaults do not). **Not done**: a minor GC",
      "per part, which adds nothing to the smaller semi-space here.",
    ].join("\n");
  }
  return [
    `Where the memory goes (diagnosis, 64 MiB, defaults): ${fmt(d64?.arrayBuffersMB)} MB of Buffers outside the V8 heap (the part buffers`,
    `are 34 MB of it), ${fmt(d64?.heapMB)} MB of V8 heap, the rest of the ${fmt(d64?.rssMB)} MB is Node and the loaded code.`,
    "",
    `- **The floor.** A 1 KiB copy, which holds no data, peaks at ${fmt(ours?.rssMB)} MB; 8 MiB × 4 (a buffer a part in flight) is ${parts.toFixed(0)} MB`,
    `  more: ${fmt(floor)} MB before a single socket read. 110 MB is below the floor of this design with this command.`,
    `- **The command's own weight.** Bare \`node\` is ${BY_HAND.nodeBareMB} MB; \`node dist/ftp2s3.mjs --help\` ${BY_HAND.helpNowMB} MB (${BY_HAND.helpWithZodMB} MB`,
    "  while zod was in the command; by hand, 5 runs each): the AWS SDK and basic-ftp are most of the difference.",
    `- **Garbage.** Every socket read is a new 64 KiB Buffer that waits for V8's next collection: node`,
    `  --max-semi-space-size=1 brings the peak to ${fmt(semi64?.rssMB)} MB (heap ${fmt(semi64?.heapMB)} MB instead of ${fmt(d64?.heapMB)}); a minor GC per part with`,
    `  semi-space 1 to ${fmt(gc64?.rssMB)} MB. Smaller settings only remove what they hold: --part-size 5 ${fmt(p5?.rssMB)} MB, --queue-size 2 ${fmt(q2?.rssMB)} MB.`,
    "",
    "**Done**: no zod in the command, and `--max-semi-space-size=1` in the bin's shebang and the Lambda's NODE_OPTIONS",
    "(the pipeline rows above include both). **Left**: the floor. A target this design can hold: the RSS of a 1 KiB",
    "copy + queue size × part size + 15%, about 110 MB at 8 MiB × 4; or 95 MB at --part-size 5.",
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
export function resumableNote(results: Results): string {
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
    "- The `sha256` tag rides in the PUT (`x-amz-tagging`): one S3 request a file. s3rver (with the tests' addition that",
    `  stores such tags) still writes them to a file of their own: --no-tag takes ${secs(noTag)} s instead of ${secs(base)} s, s3rver's CPU`,
    `  ${fmt(noTag?.s3rverCpuS, 1)} s instead of ${fmt(base?.s3rverCpuS, 1)} s, ftp2s3's ${fmt(noTag?.cpuS, 1)} s instead of ${fmt(base?.cpuS, 1)} s.`,
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
    "**Done**: a file that fits in one part is one PutObject carrying its metadata and its `sha256` tag.",
    "**Left** (functions/core/mirror.ts): from a LIST-only server (vsftpd) the mirror asks SIZE and MDTM per file,",
    "because LIST's times have minute precision and the object records the exact time; taking both from the listing",
    "would save two round trips a file at that cost" +
      ((s3Kinds?.HEAD ?? 0) >= files * 0.9
        ? "; and no HEAD where the bucket listing already shows the key absent or unchanged."
        : " (this build sends no HEAD per file)."),
  ];
  return lines.join("\n");
}

export const WHY_MISSED: Record<string, (results: Results) => string> = {
  "throughput-vs-legs": (r) => (r.diagnosis ? whyThroughput(r, "legs") : NO_DIAGNOSIS),
  "throughput-vs-rclone": (r) => (r.diagnosis ? whyThroughput(r, "rclone") : NO_DIAGNOSIS),
  "rss-cap": (r) => (r.diagnosis ? whyRss(r, false) : NO_DIAGNOSIS),
  "rss-flat": (r) => (r.diagnosis ? whyRss(r, true) : NO_DIAGNOSIS),
  "mirror-speed": (r) => (r.diagnosis ? whyMirror(r) : NO_DIAGNOSIS),
};
