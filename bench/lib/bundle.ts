/**
 * The Lambda bundle: functions/handler.ts built by esbuild with the options of
 * infra/constructs/transfer-function.ts (NodejsFunction's bundling), its size, and how long Node takes
 * to import it (module load at a cold start, before the first invocation).
 */
import { spawn } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { childOutput, median } from "./measure.js";
import { cacheDir, repoRoot } from "./setup.js";

export interface BundleResult {
  file: string;
  bytes: number;
  sourceMapBytes: number;
  /** Import of the bundle in a fresh `node`, median of the runs, ms. */
  loadMs: number;
  loadRunsMs: number[];
  /** The whole `node` process (start, import, exit), median, ms. */
  processMs: number;
  /** The asset `cdk synth` last wrote, when there is one (a cross-check of the options above). */
  cdkAsset?: { file: string; bytes: number };
}

/** A minimal valid FTP2S3_CONFIG (functions/contracts/config.ts): the handler validates it at import. */
const MINIMAL_CONFIG = JSON.stringify({
  bucket: "bench-bucket",
  connections: { p: { host: "ftp.example.com", anonymous: true, roots: ["/"] } },
});

async function buildBundle(): Promise<{ file: string; bytes: number; sourceMapBytes: number }> {
  const outfile = path.join(cacheDir, "bundle/index.mjs");
  // The options NodejsFunction passes to esbuild for TransferFunction's `bundling`.
  await build({
    entryPoints: [path.join(repoRoot, "functions/handler.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    mainFields: ["module", "main"],
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    minify: true,
    charset: "utf8",
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    external: [],
    logLevel: "warning",
  });
  return {
    file: outfile,
    bytes: (await stat(outfile)).size,
    sourceMapBytes: (await stat(`${outfile}.map`)).size,
  };
}

async function timeImport(file: string): Promise<{ importMs: number; processMs: number }> {
  const script = [
    "const started = performance.now();",
    `await import(${JSON.stringify(pathToFileURL(file).href)});`,
    "process.stdout.write(String(performance.now() - started));",
  ].join("\n");
  const begun = process.hrtime.bigint();
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    env: {
      PATH: process.env.PATH,
      FTP2S3_CONFIG: MINIMAL_CONFIG,
      // The handler refuses to load without its ledger table's name (the stack sets it); none is called here.
      FTP2S3_LEDGER_TABLE: "bench-ledger",
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { code, stdout, stderr } = await childOutput(child);
  const processMs = Number(process.hrtime.bigint() - begun) / 1e6;
  const importMs = Number(stdout);
  if (code !== 0 || !Number.isFinite(importMs)) {
    throw new Error(`importing the bundle failed (exit ${code}): ${stderr.trim()}`);
  }
  return { importMs, processMs };
}

async function findCdkAsset(): Promise<{ file: string; bytes: number } | undefined> {
  try {
    const out = path.join(repoRoot, "cdk.out");
    for (const entry of await readdir(out)) {
      if (!entry.startsWith("asset.")) continue;
      const file = path.join(out, entry, "index.mjs");
      const info = await stat(file).catch(() => undefined);
      if (info) return { file: path.relative(repoRoot, file), bytes: info.size };
    }
  } catch {
    // no cdk.out: synth was not run
  }
  return undefined;
}

export async function measureBundle(runs: number): Promise<BundleResult> {
  const built = await buildBundle();
  await timeImport(built.file); // warm the page cache: every measured run reads the file from memory
  const loads: { importMs: number; processMs: number }[] = [];
  for (let i = 0; i < runs; i++) loads.push(await timeImport(built.file));
  const cdkAsset = await findCdkAsset();
  return {
    file: path.relative(repoRoot, built.file),
    bytes: built.bytes,
    sourceMapBytes: built.sourceMapBytes,
    loadMs: median(loads.map((l) => l.importMs)),
    loadRunsMs: loads.map((l) => Math.round(l.importMs * 10) / 10),
    processMs: median(loads.map((l) => l.processMs)),
    ...(cdkAsset ? { cdkAsset } : {}),
  };
}
