import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

const bucket = "readiness";

// `ftp2s3 mirror --min-age / --done-marker / --stable-for` against ftp-srv, which lists with LIST (no
// parsed times: --min-age asks MDTM), into fauxqs. Each test has its own directory on the server.
describe("ftp2s3 mirror: files still being written wait", () => {
  let work: string;
  let ftp: EmbeddedFtpServer;
  let s3: EmbeddedS3Server;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-readiness-"));
    ftp = await startEmbeddedFtp({ root: join(work, "ftp") });
    s3 = await startFauxqsS3(); // fauxqs mistakes tagging for a PutObject: --no-tag below
    await s3.createBucket(bucket);
  });
  afterAll(async () => {
    await ftp?.close();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function put(dir: string, name: string, data: Buffer, modifiedAt?: Date) {
    await mkdir(join(ftp.root, dir), { recursive: true });
    const path = join(ftp.root, dir, name);
    await writeFile(path, data);
    if (modifiedAt !== undefined) await utimes(path, modifiedAt, modifiedAt);
  }

  function mirror(dir: string, ...options: string[]) {
    return runInProcess(
      [
        "mirror",
        `ftp://${ftp.user}@127.0.0.1:${ftp.port}/${dir}`,
        `s3://${bucket}/${dir}/`,
        "--no-tag",
        "--progress",
        "none",
        ...options,
      ],
      { ...s3.env, FTP_PASSWORD: ftp.password },
    );
  }

  const exists = (key: string) => objectExists(s3.client(), bucket, key);

  it("--min-age: a file modified just now waits, one modified two hours ago is copied", async () => {
    const old = randomFile(1000);
    await put("age", "old.csv", old, new Date(Date.now() - 2 * 3600_000));
    await put("age", "young.csv", randomFile(500));

    const run = await mirror("age", "--min-age", "600");

    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({
      copied: 1,
      failed: [],
      waiting: [{ path: "/age/young.csv", reason: expect.stringMatching(/younger than minAge$/) }],
    });
    expect(sha256(await readObject(s3.client(), bucket, "age/old.csv"))).toBe(sha256(old));
    expect(await exists("age/young.csv")).toBe(false);
  });

  it("--done-marker {name}.done: a file without its marker waits, with it is copied, the marker never", async () => {
    const marked = randomFile(700);
    await put("marker", "a.csv", marked);
    await put("marker", "a.csv.done", Buffer.alloc(0));
    await put("marker", "b.csv", randomFile(300));

    const run = await mirror("marker", "--done-marker", "{name}.done", "--delete");

    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({
      copied: 1,
      deleted: 0,
      waiting: [{ path: "/marker/b.csv", reason: "no done marker: b.csv.done is not listed" }],
    });
    expect(sha256(await readObject(s3.client(), bucket, "marker/a.csv"))).toBe(sha256(marked));
    expect(await exists("marker/a.csv.done")).toBe(false);
    expect(await exists("marker/b.csv")).toBe(false);

    // The partner finishes b.csv: the next run takes it, and still not the markers.
    await put("marker", "b.csv.done", Buffer.alloc(0));
    const next = await mirror("marker", "--done-marker", "{name}.done", "--delete");
    expect(next.result).toMatchObject({ copied: 1, unchanged: 1, deleted: 0 });
    expect(next.result).not.toHaveProperty("waiting");
    expect(await exists("marker/b.csv.done")).toBe(false);
  });

  it("--stable-for: the first run sees the file and waits, a run that long later copies it unchanged", async () => {
    const data = randomFile(900);
    await put("stable", "a.csv", data);

    const first = await mirror("stable", "--stable-for", "1");
    expect(first.exitCode).toBe(0);
    expect(first.result).toMatchObject({
      copied: 0,
      waiting: [{ path: "/stable/a.csv", reason: expect.stringMatching(/less than stableFor$/) }],
    });
    expect(await exists("stable/a.csv")).toBe(false);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await mirror("stable", "--stable-for", "1");

    expect(second.result).toMatchObject({ copied: 1, failed: [] });
    expect(second.result).not.toHaveProperty("waiting");
    expect(sha256(await readObject(s3.client(), bucket, "stable/a.csv"))).toBe(sha256(data));
  });

  it("refuses a done marker naming another directory before connecting (exit 2)", async () => {
    const run = await mirror("marker", "--done-marker", "done/{name}");

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(
      /^ftp2s3: INVALID_INPUT: --done-marker: the done marker "done\/\{name\}" contains "\/"/,
    );
  });
});
