import { mkdir, mkdtemp, rm, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";
import { type S3Recorder, startS3Recorder } from "../support/s3-recorder.js";

const bucket = "mirror-bucket";

// `ftp2s3 mirror` against ftp-srv (MLSD-less: it lists with LIST, like vsftpd) into fauxqs behind the
// recording proxy, so each test sees the RETRs the server served and the requests S3 received.
describe("ftp2s3 mirror", () => {
  let work: string;
  let ftp: EmbeddedFtpServer;
  let s3: EmbeddedS3Server;
  let recorder: S3Recorder;
  const tree: Record<string, Buffer> = {
    "a.csv": randomFile(1000),
    "b.txt": randomFile(2000),
    "sub dir/ünïcødé #1 100%.csv": randomFile(3000),
    "sub dir/deeper/z.csv": randomFile(4000),
    "tmp/partial.csv": randomFile(10),
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-mirror-"));
    ftp = await startEmbeddedFtp({ root: join(work, "ftp") });
    for (const [path, data] of Object.entries(tree)) await put(path, data);
    s3 = await startFauxqsS3(); // fauxqs mistakes tagging for a PutObject: --no-tag below
    await s3.createBucket(bucket);
    recorder = await startS3Recorder(s3.endpoint);
  });
  afterAll(async () => {
    await recorder?.close();
    await ftp?.close();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function put(path: string, data: Buffer) {
    await mkdir(dirname(join(ftp.root, "data", path)), { recursive: true });
    await writeFile(join(ftp.root, "data", path), data);
  }

  function mirror(prefix: string, ...options: string[]) {
    return mirrorFrom("data", prefix, ...options);
  }

  /** Runs `ftp2s3 mirror` of `remoteDir`, counting the RETRs the server served and the S3 requests. */
  async function mirrorFrom(remoteDir: string, prefix: string, ...options: string[]) {
    recorder.requests.length = 0;
    const retrievedBefore = ftp.retrieved;
    const run = await runInProcess(
      [
        "mirror",
        `ftp://${ftp.user}@127.0.0.1:${ftp.port}/${remoteDir}`,
        `s3://${bucket}/${prefix}`,
        "--no-tag",
        "--progress",
        "none",
        ...options,
      ],
      { ...s3.env, AWS_ENDPOINT_URL_S3: recorder.endpoint, FTP_PASSWORD: ftp.password },
    );
    return {
      ...run,
      retrieved: ftp.retrieved - retrievedBefore,
      operations: recorder.requests.map((r) => r.operation),
    };
  }

  it("copies the tree to the same relative keys, byte-exact, names with spaces, %, # and non-ASCII included", async () => {
    const run = await mirror("all/", "--recursive");

    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ copied: 5, unchanged: 0, failed: [], bytes: 10_010 });
    for (const [path, data] of Object.entries(tree)) {
      expect(sha256(await readObject(s3.client(), bucket, `all/${path}`))).toBe(sha256(data));
    }
  });

  it("reruns over an unchanged tree with no RETR and no HEAD: list requests and the manifest only", async () => {
    await mirror("rerun/", "--recursive");

    const again = await mirror("rerun/", "--recursive");

    expect(again.exitCode).toBe(0);
    expect(again.result).toMatchObject({ copied: 0, unchanged: 5, failed: [] });
    expect(again.retrieved).toBe(0);
    expect(again.operations).toEqual(["ListObjectsV2", "GetObject"]);
  });

  it("copies again a file whose size or modification time changed, and a new one, and only those", async () => {
    await mirror("changes/", "--recursive");
    await put("a.csv", randomFile(1001)); // another size
    const sameSize = randomFile(2000);
    await put("b.txt", sameSize);
    // LIST shows minutes (hh:mm) for recent files: move the time by more than that.
    const later = new Date(Date.now() + 3 * 60_000);
    await utimes(join(ftp.root, "data", "b.txt"), later, later);
    await put("new.csv", randomFile(5));

    const run = await mirror("changes/", "--recursive");

    expect(run.result).toMatchObject({ copied: 3, unchanged: 3, failed: [] });
    expect(run.retrieved).toBe(3);
    expect(sha256(await readObject(s3.client(), bucket, "changes/b.txt"))).toBe(sha256(sameSize));
    await unlink(join(ftp.root, "data", "new.csv"));
    tree["a.csv"] = await import("node:fs/promises").then((fs) =>
      fs.readFile(join(ftp.root, "data", "a.csv")),
    );
    tree["b.txt"] = sameSize;
  });

  it("honours include and exclude, and stays in the directory without --recursive", async () => {
    const flat = await mirror("flat/");
    const filtered = await mirror("filtered/", "--recursive", "--include", "**/*.csv", "--exclude", "tmp/**");

    expect(flat.result).toMatchObject({ copied: 2, skipped: 2 });
    expect(filtered.result).toMatchObject({ copied: 3, excluded: 2 });
    expect(await objectExists(s3.client(), bucket, "filtered/tmp/partial.csv")).toBe(false);
    expect(await objectExists(s3.client(), bucket, "filtered/b.txt")).toBe(false);
  });

  it("deletes objects whose source is gone only with --delete, and --dry-run changes nothing", async () => {
    await mirror("pruned/", "--recursive");
    await put("gone.csv", randomFile(7));
    await mirror("pruned/", "--recursive");
    await unlink(join(ftp.root, "data", "gone.csv"));

    const kept = await mirror("pruned/", "--recursive");
    const dry = await mirror("pruned/", "--recursive", "--delete", "--dry-run");
    expect(await objectExists(s3.client(), bucket, "pruned/gone.csv")).toBe(true);
    const pruned = await mirror("pruned/", "--recursive", "--delete");

    expect(kept.result).toMatchObject({ deleted: 0 });
    expect(dry.result).toMatchObject({ wouldCopy: [], wouldDelete: ["pruned/gone.csv"], deleted: 0 });
    expect(dry.operations).toEqual(["ListObjectsV2", "GetObject"]);
    expect(pruned.result).toMatchObject({ deleted: 1, failed: [] });
    expect(await objectExists(s3.client(), bucket, "pruned/gone.csv")).toBe(false);
    expect(await objectExists(s3.client(), bucket, "pruned/a.csv")).toBe(true);
  });

  it("opens as many FTP sessions as --concurrency, reusing each from file to file", async () => {
    const loginsBefore = ftp.logins;

    const run = await mirror("parallel/", "--recursive", "--concurrency", "3");

    expect(run.result).toMatchObject({ copied: 5, failed: [] });
    expect(ftp.logins - loginsBefore).toBe(3); // 5 files over 3 sessions: each session served several
  });

  it("reruns over 1,000 files with one list page and the manifest: no HEAD, no RETR", async () => {
    for (let i = 0; i < 1000; i += 1) await put(`many/f${String(i).padStart(4, "0")}.dat`, Buffer.alloc(0));
    const first = await mirrorFrom("data/many", "many/");
    const firstMs = first.result?.durationMs;

    const again = await mirrorFrom("data/many", "many/");
    console.info(`1,000 empty files: first run ${firstMs} ms, rerun ${again.result?.durationMs} ms`);

    expect(first.result).toMatchObject({ copied: 1000, failed: [] });
    expect(again.result).toMatchObject({ copied: 0, unchanged: 1000, failed: [] });
    expect(again.retrieved).toBe(0);
    // 1,000 objects, one page of ListObjectsV2 (the manifest lives outside the prefix).
    expect(again.operations.sort()).toEqual(["GetObject", "ListObjectsV2"]);
  });

  it("goes on after a file fails, names it, and exits 1", async () => {
    recorder.fault = ({ operation }) => (operation === "PutObject" ? 500 : undefined);
    try {
      const run = await mirror("failing/", "--recursive", "--include", "**/*.csv", "--exclude", "tmp/**");

      expect(run.exitCode).toBe(1);
      expect(run.result).toMatchObject({ copied: 0 });
      expect(
        ((run.result?.failed ?? []) as { path: string; code: string }[]).map((f) => [f.path, f.code]).sort(),
      ).toEqual([
        ["/data/a.csv", "S3"],
        ["/data/sub dir/deeper/z.csv", "S3"],
        ["/data/sub dir/ünïcødé #1 100%.csv", "S3"],
      ]);
    } finally {
      recorder.fault = undefined;
    }
  });
});
