/**
 * The mirror's state and planning at 100,000 and 1,000,000 files (issue 18), the core alone: runMirror
 * in process over an in-memory FTP tree (N files, 1,000 a directory) and an in-memory bucket listed
 * in pages of 1,000, so no server's cost is in the figures. For each N it measures, each case in a
 * child process of its own (a peak RSS belongs to one case):
 * - state: the state objects' size (bytes, and gzipped), the time to encode it, and the time and
 *   heap to read and parse it;
 * - rerun: a rerun over the unchanged tree (list, read the state, plan, nothing to write);
 * - changed: a rerun with 1% of the files changed (copied again, the state rewritten).
 * CPU seconds and peak RSS hold up on a shared machine; wall times do not. RSS "added" is the peak
 * less the RSS once the fake server and bucket are built (their own memory, not the core's).
 *
 * `node --import tsx --expose-gc bench/mirror-scale.ts [--files 100000,1000000]`; writes
 * bench/mirror-scale.json and prints a table.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import {
  type CommittedObject,
  type ExistingObject,
  encodeMirrorState,
  type FileSource,
  type FtpReply,
  type ListedObject,
  normaliseRemotePath,
  type ObjectOptions,
  type ObjectSink,
  type RemoteEntry,
  type RemotePath,
  readMirrorState,
  runMirror,
  type S3Location,
} from "../functions/core/index.js";

const FILES_PER_DIRECTORY = 1_000;
const FILE_SIZE = 16;
const BUCKET = "scale";
const PREFIX = "tree/";
const SOURCE_URL = "ftp://scale.example/tree";
const BEFORE = new Date("2026-01-02T03:04:05Z");
const AFTER = new Date("2026-02-03T04:05:06Z");
const STATE: S3Location = { bucket: BUCKET, key: `.ftp2s3-state/${PREFIX}manifest.json` };
const scriptPath = fileURLToPath(import.meta.url);
const repoRoot = join(scriptPath, "..", "..");

type Case = "state" | "rerun" | "changed";

/** The tree: directory d<i> holds files f<j>.dat; every hundredth file is "changed" in that case. */
function directoryName(i: number): string {
  return `d${String(i).padStart(4, "0")}`;
}
function fileName(j: number): string {
  return `f${String(j).padStart(6, "0")}.dat`;
}
function isChanged(i: number, j: number): boolean {
  return (i * FILES_PER_DIRECTORY + j) % 100 === 0;
}
/** Each file its own time and ETag, as in a real tree (a state of equal values compresses unfairly well). */
function versionOf(n: number): Date {
  return new Date(BEFORE.getTime() + n * 1000);
}
function etagOf(n: number): string {
  return `"${createHash("md5").update(String(n)).digest("hex")}"`;
}

/** An FTP session over the generated tree: each listing built when asked, as a server sends it. */
function treeSource(files: number, changed: boolean): FileSource {
  const directories = Math.ceil(files / FILES_PER_DIRECTORY);
  const root = "/tree";
  return {
    urlOf: (path) => `ftp://scale.example${path}`,
    async list(dir: RemotePath): Promise<RemoteEntry[]> {
      await new Promise((resolve) => setImmediate(resolve));
      if (dir === root) {
        return Array.from({ length: directories }, (_, i) => ({
          name: directoryName(i),
          kind: "directory" as const,
          size: null,
          modifiedAt: BEFORE,
          modifiedRaw: null,
        }));
      }
      const i = Number(dir.slice(root.length + 2));
      const count = Math.min(FILES_PER_DIRECTORY, files - i * FILES_PER_DIRECTORY);
      return Array.from({ length: count }, (_, j) => ({
        name: fileName(j),
        kind: "file" as const,
        size: FILE_SIZE,
        modifiedAt: changed && isChanged(i, j) ? AFTER : versionOf(i * FILES_PER_DIRECTORY + j),
        modifiedRaw: null,
      }));
    },
    stat: async () => ({ size: FILE_SIZE, modifiedAt: AFTER }),
    async download(_path, destination: Writable): Promise<FtpReply> {
      destination.end(Buffer.alloc(FILE_SIZE));
      return { code: 226, message: "Transfer complete" };
    },
    deleteFile: async () => {},
    rename: async () => {},
    makeDirectory: async () => {},
    close: () => {},
  };
}

/** A bucket in memory: what the core asks of S3 for a mirror of small files, nothing more. */
class ScaleBucket implements ObjectSink {
  readonly objects = new Map<string, { size: number; etag: string; metadata: Record<string, string> }>();
  readonly texts = new Map<string, string>();
  listPages = 0;
  textWrites = 0;
  textBytesWritten = 0;

  async list(_bucket: string, prefix: string): Promise<ListedObject[]> {
    // Keys were seeded in order: the fake sorts nothing, so its own cost stays out of the figures.
    const listed: ListedObject[] = [];
    for (const [key, o] of this.objects) {
      if (!key.startsWith(prefix)) continue;
      if (listed.length % 1_000 === 0) {
        this.listPages += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
      // A page is parsed from XML: its strings are new ones, not the bucket's.
      listed.push({ key: `${key} `.slice(0, -1), size: o.size, etag: `${o.etag} `.slice(0, -1) });
    }
    return listed;
  }
  async readText({ key }: S3Location): Promise<string | null> {
    return this.texts.get(key) ?? null;
  }
  async writeText({ key }: S3Location, text: string): Promise<void> {
    this.textWrites += 1;
    this.textBytesWritten += Buffer.byteLength(text);
    this.texts.set(key, text);
  }
  async delete(): Promise<{ key: string; message: string }[]> {
    return [];
  }
  async head({ key }: S3Location): Promise<ExistingObject | null> {
    const o = this.objects.get(key);
    return o === undefined ? null : { size: o.size, etag: o.etag, metadata: { ...o.metadata } };
  }
  async putObject(target: S3Location, body: Uint8Array, options: ObjectOptions): Promise<CommittedObject> {
    const etag = `"${String(this.objects.size).padStart(32, "0")}"`;
    this.objects.set(target.key, { size: body.length, etag, metadata: { ...options.metadata } });
    return { etag, versionId: undefined };
  }
  createMultipartUpload(): Promise<string> {
    throw new Error("files of 16 bytes go in one PutObject");
  }
  uploadPart(): Promise<string> {
    throw new Error("files of 16 bytes go in one PutObject");
  }
  listParts(): Promise<null> {
    throw new Error("files of 16 bytes go in one PutObject");
  }
  completeMultipartUpload(): Promise<CommittedObject> {
    throw new Error("files of 16 bytes go in one PutObject");
  }
  abortMultipartUpload(): Promise<void> {
    throw new Error("files of 16 bytes go in one PutObject");
  }
  async tag(): Promise<void> {}
}

/** The bucket and state a first run over the tree leaves: every file copied and recorded. */
function seededBucket(files: number): ScaleBucket {
  const bucket = new ScaleBucket();
  const recorded: { relativePath: string; size: number; version: string; etag: string }[] = [];
  for (let n = 0; n < files; n += 1) {
    const relativePath = `${directoryName(Math.floor(n / FILES_PER_DIRECTORY))}/${fileName(n % FILES_PER_DIRECTORY)}`;
    const etag = etagOf(n);
    bucket.objects.set(PREFIX + relativePath, { size: FILE_SIZE, etag, metadata: {} });
    recorded.push({ relativePath, size: FILE_SIZE, version: versionOf(n).toISOString(), etag });
  }
  for (const [{ key }, text] of encodeMirrorState(STATE, SOURCE_URL, recorded)) bucket.texts.set(key, text);
  return bucket;
}

interface Sample {
  cpuS: number;
  wallS: number;
  peakHeapMiB: number;
  addedHeapMiB: number;
  peakRssMiB: number;
  addedRssMiB: number;
}

/** Runs `work` and measures it: CPU, wall, the heap's and RSS's high-water marks. */
async function measured<T>(work: () => Promise<T>): Promise<{ result: T; sample: Sample }> {
  globalThis.gc?.();
  const { rss: rssBefore, heapUsed: heapBefore } = process.memoryUsage();
  let peakHeap = heapBefore;
  const timer = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 5);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const wallS = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  clearInterval(timer);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  return {
    result,
    sample: {
      cpuS: Number(((used.user + used.system) / 1e6).toFixed(2)),
      wallS: Number(wallS.toFixed(2)),
      peakHeapMiB: mib(peakHeap),
      addedHeapMiB: mib(peakHeap - heapBefore),
      peakRssMiB: mib(peakRss),
      addedRssMiB: mib(peakRss - rssBefore),
    },
  };
}

async function child(kind: Case, files: number): Promise<Record<string, unknown>> {
  const bucket = seededBucket(files);
  if (kind === "state") {
    const texts = [...bucket.texts.values()];
    const bytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0);
    const gzipped = texts.reduce((sum, t) => sum + gzipSync(t).length, 0);
    const read = await measured(async () => readMirrorState(bucket, STATE, SOURCE_URL));
    const recorded = Array.from({ length: files }, (_, n) => ({
      relativePath: `${directoryName(Math.floor(n / FILES_PER_DIRECTORY))}/${fileName(n % FILES_PER_DIRECTORY)}`,
      size: FILE_SIZE,
      version: versionOf(n + 1).toISOString(),
      etag: etagOf(n + 1),
    }));
    const write = await measured(async () => encodeMirrorState(STATE, SOURCE_URL, recorded));
    return {
      objects: texts.length,
      bytes,
      gzipped,
      bytesPerFile: Math.round(bytes / files),
      read: read.sample,
      write: write.sample,
    };
  }
  const source = treeSource(files, kind === "changed");
  const run = await measured(() =>
    runMirror(
      async () => source,
      bucket,
      BUCKET,
      {
        remoteDir: normaliseRemotePath("/tree"),
        keyPrefix: PREFIX,
        include: [],
        exclude: [],
        recursive: true,
        deleteExtraneous: true,
        dryRun: false,
        state: STATE,
        limits: { maxEntries: files + files / FILES_PER_DIRECTORY + 1 },
      },
      { copy: { tagWithSha256: false }, concurrency: 4 },
    ),
  );
  const summary = run.result;
  return {
    ...run.sample,
    copied: summary.copied,
    unchanged: summary.unchanged,
    failed: summary.failed.length,
    listPages: bucket.listPages,
    stateWrites: bucket.textWrites,
    stateBytesWritten: bucket.textBytesWritten,
  };
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

async function main(): Promise<void> {
  const kind = argument("--child") as Case | undefined;
  const sizes = (argument("--files") ?? "100000,1000000").split(",").map(Number);
  if (kind !== undefined) {
    process.stdout.write(`${JSON.stringify(await child(kind, sizes[0] ?? 0))}\n`);
    return;
  }
  const results: Record<string, Record<string, unknown>> = {};
  for (const files of sizes) {
    for (const c of ["state", "rerun", "changed"] as const) {
      const out = execFileSync(
        process.execPath,
        ["--import", "tsx", "--expose-gc", scriptPath, "--child", c, "--files", String(files)],
        { encoding: "utf8", maxBuffer: 16 * 2 ** 20, stdio: ["ignore", "pipe", "inherit"] },
      );
      const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
      results[`${files} ${c}`] = result;
      process.stdout.write(`${files} ${c}: ${JSON.stringify(result)}\n`);
    }
  }
  await writeFile(
    join(repoRoot, "bench", "mirror-scale.json"),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, results }, null, 2)}\n`,
  );
}

await main();
