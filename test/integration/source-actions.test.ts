import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

const bucket = "taken";

// afterCopy against ftp-srv, which implements DELE, RNFR/RNTO and MKD on its folder: the source file
// is deleted or moved once, after the object is committed, and a mirror never deletes an object
// because ftp2s3 took its source away.
describe("ftp2s3 --after-copy against ftp-srv", () => {
  let work: string;
  let ftp: EmbeddedFtpServer;
  let s3: EmbeddedS3Server;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-after-copy-"));
    ftp = await startEmbeddedFtp({ root: join(work, "ftp") });
    s3 = await startFauxqsS3();
    await s3.createBucket(bucket);
  });
  afterAll(async () => {
    await ftp?.close();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function put(path: string, data: Buffer) {
    await mkdir(join(ftp.root, path, ".."), { recursive: true });
    await writeFile(join(ftp.root, path), data);
  }

  const env = () => ({ ...s3.env, FTP_PASSWORD: ftp.password });
  const url = (path: string) => `ftp://${ftp.user}@127.0.0.1:${ftp.port}${path}`;

  it("copy --after-copy delete: the object holds the file's bytes, then the file is gone", async () => {
    // Arrange
    const data = randomFile(3000);
    await put("/out/a.csv", data);

    // Act
    const run = await runInProcess(
      [url("/out/a.csv"), `s3://${bucket}/in/`, "--no-tag", "--progress", "none", "--after-copy", "delete"],
      env(),
    );

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ status: "copied", afterCopy: { action: "deleted" } });
    expect(sha256(await readObject(s3.client(), bucket, "in/a.csv"))).toBe(sha256(data));
    expect(await readdir(join(ftp.root, "out"))).not.toContain("a.csv");
  });

  it("copy --after-copy move:<dir>: the file lands in the dated directory, made on the way", async () => {
    // Arrange
    const data = randomFile(2000);
    await put("/out/b.csv", data);
    const now = new Date();
    const month = `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, "0")}`;

    // Act
    const run = await runInProcess(
      [url("/out/b.csv"), `s3://${bucket}/in/`, "--no-tag", "--progress", "none"].concat([
        "--after-copy",
        "move:/archive/{yyyy}/{MM}/",
      ]),
      env(),
    );

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ afterCopy: { action: "moved", to: url(`/archive/${month}/b.csv`) } });
    expect(sha256(await readObject(s3.client(), bucket, "in/b.csv"))).toBe(sha256(data));
    expect(await readFile(join(ftp.root, "archive", month, "b.csv"))).toEqual(data);
    expect(await readdir(join(ftp.root, "out"))).not.toContain("b.csv");
  });

  it.each([
    ["move:/out/", "where the files are read from"],
    ["move:archive", "not absolute"],
    ["move:/archive/{hh}", "placeholder {hh}"],
    ["rename", 'expected "keep", "delete" or "move:<dir>"'],
  ])("refuses --after-copy %s before anything is contacted (exit 2)", async (value, why) => {
    // Arrange
    await put("/out/c.csv", randomFile(10));
    const loginsBefore = ftp.logins;

    // Act
    const run = await runInProcess([url("/out/c.csv"), `s3://${bucket}/in/`, "--after-copy", value], env());

    // Assert
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("INVALID_INPUT");
    expect(run.stderr).toContain(why);
    expect(ftp.logins).toBe(loginsBefore);
    expect(await objectExists(s3.client(), bucket, "in/c.csv")).toBe(false);
  });

  it("never runs after a failed copy: a file refused by S3 stays where it is", async () => {
    // Arrange: the key holds another object, which a copy without --overwrite refuses
    await put("/out/d.csv", randomFile(100));
    await runInProcess(
      [url("/out/d.csv"), `s3://${bucket}/in/d.csv`, "--no-tag", "--progress", "none"],
      env(),
    );
    await put("/out/d.csv", randomFile(200));

    // Act
    const run = await runInProcess(
      [
        url("/out/d.csv"),
        `s3://${bucket}/in/d.csv`,
        "--no-tag",
        "--progress",
        "none",
        "--after-copy",
        "delete",
      ],
      env(),
    );

    // Assert
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("OBJECT_EXISTS");
    expect(await readdir(join(ftp.root, "out"))).toContain("d.csv");
  });

  it("mirror --delete --after-copy delete: files taken away once; the next run keeps their objects", async () => {
    // Arrange
    const files = { "x.csv": randomFile(1500), "y.csv": randomFile(2500) };
    for (const [name, data] of Object.entries(files)) await put(`/feed/${name}`, data);
    const mirror = () =>
      runInProcess(
        ["mirror", url("/feed"), `s3://${bucket}/feed/`, "--no-tag", "--progress", "none"].concat([
          "--delete",
          "--after-copy",
          "delete",
        ]),
        env(),
      );

    // Act
    const first = await mirror();
    const retrievedAfterFirst = ftp.retrieved;
    const second = await mirror();

    // Assert
    expect(first.exitCode).toBe(0);
    expect(first.result).toMatchObject({ copied: 2, afterCopy: { done: 2, failed: [] } });
    expect(await readdir(join(ftp.root, "feed"))).toEqual([]);
    expect(second.exitCode).toBe(0);
    expect(second.result).toMatchObject({
      listed: 0,
      copied: 0,
      deleted: 0,
      afterCopy: { done: 0, failed: [] },
    });
    expect(ftp.retrieved).toBe(retrievedAfterFirst);
    for (const [name, data] of Object.entries(files)) {
      expect(sha256(await readObject(s3.client(), bucket, `feed/${name}`))).toBe(sha256(data));
    }
  });
  it("mirror --recursive --after-copy move:<dir>: each file moved once to its path below the archive", async () => {
    // Arrange
    const files = { "p.csv": randomFile(700), "deep/q.csv": randomFile(900) };
    for (const [name, data] of Object.entries(files)) await put(`/drop/${name}`, data);
    const year = String(new Date().getUTCFullYear());

    // Act
    const run = await runInProcess(
      [
        "mirror",
        url("/drop"),
        `s3://${bucket}/drop/`,
        "--recursive",
        "--no-tag",
        "--progress",
        "none",
      ].concat(["--after-copy", "move:/done/{yyyy}"]),
      env(),
    );

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ copied: 2, afterCopy: { done: 2, failed: [] } });
    expect((await readdir(join(ftp.root, "done", year))).sort()).toEqual(["deep", "p.csv"]);
    expect(await readdir(join(ftp.root, "done", year, "deep"))).toEqual(["q.csv"]);
    expect(await readdir(join(ftp.root, "drop", "deep"))).toEqual([]);
    for (const [name, data] of Object.entries(files)) {
      expect(sha256(await readObject(s3.client(), bucket, `drop/${name}`))).toBe(sha256(data));
    }
  });
});
