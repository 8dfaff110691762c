/**
 * What the issue 18 runs show about their misses, and what they do not: every cause here is either
 * computed from this run's figures or marked "not measured" (with where a figure came from by hand).
 */
import { median } from "../lib/measure.js";
import { findRow, type GoalRow, sizeLabel, perFileTotal as sum } from "./goals.js";
import type { Results } from "./types.js";

type Goals = NonNullable<Results["goals"]>;

/** CPU per PutObject measured in this run, through the SDK alone and through the sink. */
function putCost(goals: Goals, rcloneMsPerFile: number): string {
  const sdk = goals.sdkPutCpuMs ?? [];
  const sink = goals.sinkPutCpuMs ?? [];
  if (sdk.length === 0) return "";
  const viaSdk = median(sdk);
  const viaSink = sink.length > 0 ? median(sink) : undefined;
  return ` One 16 KiB PutObject over the same endpoint costs ${viaSdk.toFixed(2)} ms of CPU through the AWS SDK alone (${(viaSdk / rcloneMsPerFile).toFixed(2)}× rclone's whole cost per file)${viaSink === undefined ? "" : ` and ${viaSink.toFixed(2)} ms through ftp2s3's sink, which sends small objects itself once the SDK's first has shown the way`} (bench/sdk-put-cost.ts, 4 at a time, median of ${sdk.length}).`;
}

export function goalsKnown(goals: Goals, rows: GoalRow[]): string {
  const s = goals.settings;
  const sessions = s.sessions[0] ?? 4;
  const ours = findRow(rows, "mirror", "ftp2s3", sessions);
  const theirs = findRow(rows, "mirror", "rclone", sessions);
  const lines: string[] = [];
  if (ours && theirs) {
    // Verbs ftp2s3 sends for (nearly) every file and rclone for (nearly) none.
    const onlyOurs = Object.keys(ours.ftpPerFile).filter(
      (verb) => ours.ftpPerFile[verb]! >= 0.9 && (theirs.ftpPerFile[verb] ?? 0) < 0.1,
    );
    lines.push(
      `- **Round trips** (measured: the commands the proxy saw). ftp2s3 sends ${sum(ours.ftpPerFile).toFixed(1)} FTP commands per file, rclone ${sum(theirs.ftpPerFile).toFixed(1)}${onlyOurs.length > 0 ? `; per file, ftp2s3 sends ${onlyOurs.join(" and ")} and rclone does not (it takes size and time from the listing)` : ""}.`,
      `  rclone waits for each reply before its next command: a file's EPSV, then its RETR, two waits of ${s.replyDelayMs} ms in its session. ftp2s3 sends the next transfer's EPSV as soon as a download's data ends (session 9, README: Networks), so that EPSV's answer comes back with the RETR's final reply: one wait a file. The same mirror before (session 8's run, every reply awaited): 6.82 s against rclone's 6.41 s.`,
      `  S3 requests per file: ftp2s3 ${sum(ours.s3PerFile).toFixed(2)}, rclone ${sum(theirs.s3PerFile).toFixed(2)} (on loopback a request costs CPU, not a round trip).`,
      `- **CPU per file** (measured): ${ours.cpuMsPerFile} ms against rclone's ${theirs.cpuMsPerFile} ms.${putCost(goals, theirs.cpuMsPerFile)} Where it goes (by hand, session 7: \`node --cpu-prof\` and callgrind of this mirror, bench/profile-mirror.ts) is spread thin: the SDK's middleware (serialisation, retry, endpoint, signing: about a quarter of the main thread's busy time), garbage collection, socket writes of each FTP command and request, Node's streams and basic-ftp's tasks; no single function above 3%. Cut so far: small objects' PutObject sent without the SDK's per-request work (session 8), one FEAT a session, basic-ftp's per-command stack text formatted only when read, MLST after each small file replaced by one re-listing per directory batch where the listing is MLSD.`,
    );
  }
  const limited = rows
    .filter((r) => r.case === "mirror" && r.subject === "ftp2s3" && r.limited && r.failed < r.runs)
    .sort((a, b) => a.sessions! - b.sessions!);
  const bound = limited.find((r) => r.cpuPerWall >= 0.53);
  if (limited.length > 0) {
    lines.push(
      `- **Under 0.58 core** (measured): ftp2s3's CPU/wall is ${limited.map((r) => `${r.cpuPerWall} at ${r.sessions} sessions`).join(", ")}; ` +
        (bound
          ? `from ${bound.sessions} sessions it is CPU-bound (its files per second grow no further with sessions: ${limited.map((r) => `${r.filesPerS}`).join(", ")}).`
          : "below the limit at every count: it waits, for replies or, on a busy machine, for a core (see the load average above), not for its cgroup's quota."),
    );
  }
  if (ours && theirs) {
    lines.push(
      `- **Mirror memory** (measured: peak ${ours.peakRssMB.toFixed(0)} MB at ${sessions} sessions against rclone's ${theirs.peakRssMB.toFixed(0)}). What makes it up (by hand, session 8: process.memoryUsage() sampled every 100 ms and heap snapshots of bench/profile-mirror.ts): about 57 MB once the command is loaded, then garbage. Each file's objects outlive the 1 MiB young generation (a file waits for its replies), so they land in the old one, which V8 lets grow to 2–3× what is live (10–13 MB) before a full collection; the 64 KiB first buffers of the files read meanwhile (external memory, 17 MB counted) wait for the same collection. The shebang's \`--heap-growing-percent=50\` collects once the old generation grew by half: 88–93 MB → 81–84 at 4 sessions, 101–115 → 96 at 16, a few more 5–15 ms collections. Files waiting for their directory's re-listing are live: at 16 sessions with 500 files nearly all wait at once (a session's 31 files never fill a batch of 64), ~10 KB of heap and a 64 KiB buffer (16 KiB of it touched) each; before session 8 each also held its data socket and basic-ftp's task through the listeners basic-ftp's pipeline leaves on the download's destination (~8 KB more; now let go once the file is read). The Lambda does not get the flag: \`NODE_OPTIONS\` refuses it.`,
    );
  }
  const small = findRow(rows, "small-file", "ftp2s3");
  const smallRclone = findRow(rows, "small-file", "rclone");
  if (small && ours && theirs && smallRclone) {
    lines.push(
      `- **Start-up in the mirror** (derived): a ${sizeLabel(1024)} copy takes ${small.wallS} s with ftp2s3 and ${smallRclone.wallS} s with rclone; taken off the mirrors' ${ours.wallS} and ${theirs.wallS} s, what is left per file is ${(((ours.wallS - small.wallS) / s.mirrorFiles) * 1000).toFixed(1)} against ${(((theirs.wallS - smallRclone.wallS) / s.mirrorFiles) * 1000).toFixed(1)} ms of wall.`,
    );
  }
  if (small) {
    lines.push(
      `- **One ${sizeLabel(1024)} file** (measured): ${small.wallS} s wall, ${small.cpuS} CPU s, ${small.peakRssMB.toFixed(0)} MB${smallRclone ? ` against rclone's ${smallRclone.wallS} s, ${smallRclone.cpuS} CPU s, ${smallRclone.peakRssMB.toFixed(0)} MB` : ""}. A 1 KiB copy moves next to nothing: its CPU seconds are start-up and the requests around the data. By hand (session 7, callgrind, instructions of one copy over this HTTPS endpoint): 1,066 M with the shebang's \`--max-semi-space-size=1\`, 928 M without it (any V8 heap-size flag makes Node reject its built-in code cache); of those, Node's TLS root store (\`NewRootCertStore\`: its ~140 bundled certificates parsed at the first TLS connection, or at start when NODE_EXTRA_CA_CERTS is set, as here) ~200 M, the TLS handshake ~80 M, bare Node ~85 M; the rest is compiling and running the command, the SDK and basic-ftp.`,
    );
  }
  const big = findRow(rows, "big-file", "ftp2s3");
  const bigRclone = findRow(rows, "big-file", "rclone");
  const bigLean = findRow(rows, "big-file", "ftp2s3 --checksums when-required");
  if (big && bigLean) {
    lines.push(
      `- **What the checksums cost** (measured): the same copy with \`--checksums when-required\` (no CRC64NVME, and each part's payload hashed with SHA-256 for its signature instead) takes ${bigLean.cpuSPerGiB} CPU s/GiB and ${bigLean.wallS} s against ${big.cpuSPerGiB} and ${big.wallS} s with the defaults: ${(big.cpuSPerGiB - bigLean.cpuSPerGiB).toFixed(2)} CPU s/GiB for the checksums (each byte's CRC64NVME once, ftp2s3's slicing-by-8, measured alone at 0.8–1.2 CPU s/GiB; the rest not split here).`,
    );
  }
  if (big) {
    lines.push(
      `- **${sizeLabel(s.bigFileBytes)}** (measured): ${big.cpuSPerGiB} CPU s/GiB, peak ${big.peakRssMB.toFixed(0)} MB${bigRclone ? ` against rclone's ${bigRclone.cpuSPerGiB} CPU s/GiB, ${bigRclone.peakRssMB.toFixed(0)} MB` : ""}. What makes up the peak (by hand, session 10: /proc/self/smaps sampled at the peak of this copy, the sampler adding ~6 MB): ~46 MB of file-backed pages, 41 of them the node binary's own (bare node touches 34: V8's compilers, OpenSSL, the builtins' sources); ~73 MB anonymous: the part buffers, 4 × 8 MiB (one a part in flight, as rclone's; a fifth filling meanwhile took 8 MB more and bought no speed here), the V8 heap (~19 MB), the worker thread that computes the CRC64NVMEs and the SHA-256 (its own V8 heap and Node environment, ~8–12 MB), TLS and malloc. The s3rver suite's diagnosis runs (below, when the suite ran) vary the settings.`,
    );
  }
  return lines.length > 0 ? lines.join("\n") : "Nothing measured.";
}
