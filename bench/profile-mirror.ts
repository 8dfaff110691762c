/**
 * Starts the goals' mirror servers (pyftpdlib behind the 20 ms delay proxy, the HTTPS discard S3) and
 * runs one ftp2s3 mirror of 500 × 16 KiB under `node --cpu-prof`, writing the profile to --out.
 * For finding where the per-file CPU goes: `node --import tsx bench/profile-mirror.ts --out DIR`.
 */
import { mkdir, mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startInteropServer } from "../test/interop/servers.js";
import { startDelayProxy } from "./lib/delay-proxy.js";
import { startDiscardS3 } from "./lib/discard-s3.js";
import { cpuSeconds, measure } from "./lib/measure.js";
import { rcloneCopyDirArgs, rcloneEnv } from "./lib/rclone.js";
import { cliPath, execFileAsync, makeWorkDir, repoRoot, writeManyFiles } from "./lib/setup.js";
import { nodeEnv, PASSWORD, USER } from "./run/common.js";

const { values } = parseArgs({
  options: {
    out: { type: "string", default: "/tmp/ftp2s3-prof" },
    files: { type: "string", default: "500" },
    sessions: { type: "string", default: "4" },
    delay: { type: "string", default: "20" },
    runs: { type: "string", default: "1" },
    "no-prof": { type: "boolean", default: false },
    http: { type: "boolean", default: false },
    /** A command the run goes under, split on spaces (e.g. "strace -f -c -o /tmp/strace.txt"). */
    wrap: { type: "string", default: "" },
    /** Runs rclone copy instead of ftp2s3, for the baseline in the same set-up. */
    rclone: { type: "boolean", default: false },
    /** Node flags of the run, split on spaces (default: the command's shebang flag). */
    flags: { type: "string", default: "--max-semi-space-size=1 --heap-growing-percent=50" },
    /** The command to run (e.g. an unminified build, for readable profiles). */
    cli: { type: "string", default: cliPath },
    /** Copies the first file alone (the one-small-file case: with --size 1024) instead of mirroring. */
    copy: { type: "boolean", default: false },
    /** Bytes per file. */
    size: { type: "string", default: String(16 * 1024) },
    /** The Node binary that runs the command (e.g. a Node 22 one, as the Lambda's). */
    node: { type: "string", default: process.execPath },
  },
});
const files = Number(values.files);
const { dir, ftpRoot } = await makeWorkDir();
await writeManyFiles(path.join(ftpRoot, "many"), files, Number(values.size));
const ftp = await startInteropServer("pyftpdlib", { root: ftpRoot, user: USER, password: PASSWORD });
const s3 = await startDiscardS3({ tls: !values.http });
const proxy = await startDelayProxy(ftp.port, Number(values.delay));
await mkdir(values.out!, { recursive: true });
try {
  for (let run = 0; run < Number(values.runs); run++) {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), "ftp2s3-prof-state-"));
    s3.resetStats();
    const flags = !values["no-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values.out}`] : [];
    const wrap = values.wrap ? values.wrap.split(" ") : [];
    const obscured = (await execFileAsync("rclone", ["obscure", PASSWORD])).stdout.trim();
    const measured = values.rclone
      ? await measure(
          "rclone",
          rcloneCopyDirArgs("/many", "discard", `rclone${run}`, Number(values.sessions)),
          {
            env: rcloneEnv({
              ftp: { host: "127.0.0.1", port: proxy.port, user: USER, obscuredPassword: obscured },
              s3: {
                endpoint: s3.endpoint,
                ...s3.credentials,
                ...(s3.caCert === undefined ? {} : { caCert: s3.caCert }),
              },
            }),
            cwd: repoRoot,
            timeoutMs: 300_000,
          },
        )
      : await measure(
          wrap[0] ?? values.node!,
          [
            ...(wrap.length > 0 ? [...wrap.slice(1), values.node!] : []),
            ...values.flags!.split(" ").filter(Boolean),
            ...flags,
            values.cli!,
            ...(values.copy
              ? [
                  "copy",
                  `ftp://${USER}@127.0.0.1:${proxy.port}/many/f0000.bin`,
                  `s3://discard/run${run}/f0000.bin`,
                ]
              : [
                  "mirror",
                  `ftp://${USER}@127.0.0.1:${proxy.port}/many`,
                  `s3://discard/run${run}/`,
                  "--concurrency",
                  values.sessions!,
                ]),
            "--progress",
            "none",
          ],
          { env: nodeEnv(s3, { FTP2S3_STATE_DIR: stateDir }), cwd: repoRoot, timeoutMs: 300_000 },
        );
    console.log(
      JSON.stringify({
        code: measured.code,
        wallMs: Math.round(measured.wallMs),
        cpuS: cpuSeconds(measured),
        userS: measured.userS,
        sysS: measured.sysS,
        cpuMsPerFile: (cpuSeconds(measured) * 1000) / files,
        rssMB: Math.round(measured.maxRssKiB / 1024),
        requests: s3.stats().requests,
        ftpCommands: proxy.commands(),
      }),
    );
    if (measured.code !== 0) console.log(measured.stderr.slice(-2000));
    proxy.resetCommands();
  }
} finally {
  await proxy.close();
  await s3.close();
  await ftp.stop();
  void dir;
}
