/**
 * A mirror of 10,000 empty files from pyftpdlib into s3rver, then a rerun over the unchanged tree:
 * the rerun must copy nothing, send no RETR and no HeadObject, and list the bucket in pages (11
 * ListObjectsV2 requests for 10,000 objects and the manifest). Writes bench/mirror-10k.json.
 *
 * Run with `npm run bench` (after bench/run.ts), or alone:
 * `npm run build && node --openssl-legacy-provider --import tsx bench/mirror-10k.ts`
 * (s3rver needs the legacy provider to page listings, see bench/README.md).
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { interopUnavailableReason, startInteropServer } from "../test/interop/servers.js";
import { startS3rver } from "../test/support/embedded-s3.js";
import { startS3Recorder } from "../test/support/s3-recorder.js";
import { cliPath, execFileAsync, makeWorkDir, repoRoot } from "./lib/setup.js";
import { ftpUrl, nodeEnv, PASSWORD, QUICK, USER } from "./run/common.js";

const FILES = 10_000;

async function main(): Promise<void> {
  const unavailable = interopUnavailableReason("pyftpdlib");
  if (unavailable) throw new Error(`pyftpdlib: ${unavailable}`);
  const work = await makeWorkDir();
  const tree = join(work.ftpRoot, "tree");
  await mkdir(tree, { mode: 0o755 });
  for (let i = 0; i < FILES; i += 1)
    await writeFile(join(tree, `f${String(i).padStart(5, "0")}.dat`), "", { mode: 0o644 });
  const ftp = await startInteropServer("pyftpdlib", { root: work.ftpRoot, user: USER, password: PASSWORD });
  const s3 = await startS3rver(work.s3Dir);
  await s3.createBucket("bench-10k");
  const recorder = await startS3Recorder(s3.endpoint);
  try {
    const mirror = async () => {
      recorder.requests.length = 0;
      const started = Date.now();
      const { stdout } = await execFileAsync(
        process.execPath,
        [cliPath, "mirror", ftpUrl(ftp, "/tree"), "s3://bench-10k/tree/", "--progress", "none"],
        { env: nodeEnv(s3, { AWS_ENDPOINT_URL_S3: recorder.endpoint }), maxBuffer: 64 * 1024 * 1024 },
      );
      const operations = recorder.requests.map((r) => r.operation);
      const count = (op: string) => operations.filter((o) => o === op).length;
      const summary = JSON.parse(stdout) as { copied: number; unchanged: number; failed: unknown[] };
      return {
        wallS: (Date.now() - started) / 1000,
        copied: summary.copied,
        unchanged: summary.unchanged,
        failed: summary.failed.length,
        listRequests: count("ListObjectsV2"),
        headRequests: count("HeadObject"),
        putRequests: count("PutObject"),
      };
    };
    const first = await mirror();
    const rerun = await mirror();
    const met =
      rerun.copied === 0 && rerun.unchanged === FILES && rerun.headRequests === 0 && rerun.putRequests === 0;
    const result = {
      generatedAt: new Date().toISOString(),
      files: FILES,
      ftpServer: "pyftpdlib",
      s3: "s3rver",
      first,
      rerun,
      met,
    };
    await writeFile(join(repoRoot, "bench", "mirror-10k.json"), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      `10,000 empty files: first mirror ${first.wallS.toFixed(1)} s (${first.copied} copied), ` +
        `rerun ${rerun.wallS.toFixed(1)} s (${rerun.copied} copied, ${rerun.listRequests} list requests, ` +
        `${rerun.headRequests} HEAD, ${rerun.putRequests} PUT): ${met ? "met" : "MISSED"}\n`,
    );
    process.exitCode = met ? 0 : 1;
  } finally {
    await recorder.close();
    await s3.close();
    await ftp.stop();
    await rm(work.dir, { recursive: true, force: true });
  }
}

// BENCH_QUICK=1 (a smoke run of `npm run bench`) leaves this out: it is a scale check, not a smoke test.
if (QUICK) process.stdout.write("mirror-10k: skipped (BENCH_QUICK=1)\n");
else await main();
