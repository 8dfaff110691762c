/** The bench's records: the raw runs, their summaries, and results.json as a whole. */
import type { BundleResult } from "../lib/bundle.js";

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

export type TargetStatus = "met" | "missed" | "not measured" | "reported";

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
  /** The issue 18 cases (discard S3, delayed FTP replies, the CPU limit) and their targets. */
  goals?: GoalsRecord & { targets: TargetResult[] };
  /** Issue 19's case: the ranged fan-out against one throttled session. */
  ranges?: RangesRecord;
}

export type GoalCase = "mirror" | "small-file" | "big-file";
/**
 * The clients; "ftp2s3 --checksums when-required" (the 1 GiB copy only) sends no CRC64NVME, neither its
 * own full-object one nor the SDK's per part: beside the default run, what the checksums cost.
 */
export type Subject = "ftp2s3" | "rclone" | "ftp2s3 --checksums when-required";

/** One measured run of an issue 18 case. */
export interface GoalRun {
  case: GoalCase;
  subject: Subject;
  /** FTP sessions of a mirror (ftp2s3 --concurrency, rclone --transfers); null for one file. */
  sessions: number | null;
  /** Run under the 0.58-core cgroup. */
  limited: boolean;
  rep: number;
  files: number;
  bytes: number;
  ok: boolean;
  error?: string;
  wallMs: number;
  cpuS: number;
  maxRssKiB: number;
  /** Requests the discard S3 endpoint received during the run, by operation. */
  s3Requests: Record<string, number>;
  /** Commands the client sent through the delay proxy, by verb (mirrors only). */
  ftpCommands?: Record<string, number>;
  /** Limited runs: cfs periods (100 ms) in which the cgroup had work, and in which it was throttled. */
  cgroupPeriods?: number;
  throttledPeriods?: number;
}

/** One copy of issue 19's case: the file in `ranges` ranges read at once (1: the sequential copyFile). */
export type RangesRun =
  | { ranges: number; rep: number; ok: true; wallS: number; mibPerSecond: number; cpuS: number }
  | { ranges: number; rep: number; ok: false; error: string };

/** Issue 19's case: one big file from a server that throttles each session, sequential vs ranged. */
export interface RangesRecord {
  server: string;
  fileBytes: number;
  sessionBytesPerSecond: number;
  partSizeMiB: number;
  queueSize: number;
  /** 1-minute load average when the case started: its walls are a throttled server's, but 8 sessions of it need CPU. */
  loadAverageAtStart?: number;
  runs: RangesRun[];
}

export interface GoalsRecord {
  settings: {
    ftpServer: string;
    replyDelayMs: number;
    /** Sessions of the mirror under the CPU limit; the first also without it. */
    sessions: number[];
    mirrorFiles: number;
    mirrorFileBytes: number;
    bigFileBytes: number;
    repetitions: number;
    smallFileRepetitions: number;
    quick: boolean;
  };
  /** Whether the 0.58-core limit could be set up, and how (or why not). */
  cpuLimit: { applied: boolean; detail: string };
  runs: GoalRun[];
  /** CPU ms per 16 KiB PutObject through the SDK alone (bench/sdk-put-cost.ts), per repetition. */
  sdkPutCpuMs?: number[];
  /** The same through the product's sink, which sends them itself after the first (s3-direct-put.ts). */
  sinkPutCpuMs?: number[];
}
