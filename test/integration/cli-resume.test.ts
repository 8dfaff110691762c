import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { objectExists, objectTags, randomFile, readObject, sha256 } from "../support/objects.js";
import { type S3Recorder, startS3Recorder } from "../support/s3-recorder.js";

const MiB = 1024 * 1024;
const bucket = "landing";

/** The offset a stopped copy printed (its JSON line's resumeAt.offset). */
function offsetOf(result: Record<string, unknown> | undefined): number {
  return (result?.resumeAt as { offset?: number } | undefined)?.offset ?? Number.NaN;
}

describe("ftp2s3 copy: stop and go on later (--resumable, --stop-after, --resume)", () => {
  let work: string;
  let fake: FakeFtpServer;
  let s3: EmbeddedS3Server;
  let recorder: S3Recorder;
  let env: Record<string, string>;
  const files: Record<string, Buffer> = {};
  let refuseRest = false;
  let noMdtm = false;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-resume-"));
    fake = await startFakeFtpServer({
      files,
      handlers: {
        REST: (ctx) => (refuseRest ? ctx.reply("502 REST not implemented") : ctx.fallback()),
        MDTM: (ctx) => (noMdtm ? ctx.reply("502 Command not implemented") : ctx.fallback()),
      },
      // About 12 MB/s: a 5 MiB part every 0.4 s.
      retr: retrScripts.slow(256 * 1024, 20),
    });
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket(bucket);
    recorder = await startS3Recorder(s3.endpoint);
    env = {
      ...s3.env,
      AWS_ENDPOINT_URL_S3: recorder.endpoint,
      FTP_PASSWORD: "pw",
      FTP2S3_STATE_DIR: join(work, "state"),
    };
  });
  afterAll(async () => {
    await recorder.close();
    await fake.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });
  afterEach(() => {
    refuseRest = false;
    noMdtm = false;
  });

  const urlOf = (name: string) => `ftp://u@127.0.0.1:${fake.port}/out/${name}`;
  const copy = (name: string, ...args: string[]) =>
    runInProcess([urlOf(name), `s3://${bucket}/in/`, "--part-size", "5", "--progress", "none", ...args], env);

  it("stops after the given time, prints the upload id and how to go on, and --resume finishes it byte-exact", async () => {
    const data = randomFile(26 * MiB + 777);
    files["/out/legs.bin"] = data;

    const first = await copy("legs.bin", "--stop-after", "0.9");
    expect(first.exitCode).toBe(75);
    const uploadId = first.result?.uploadId as string;
    expect(first.result).toMatchObject({ status: "suspended", reason: "stop-after", key: "in/legs.bin" });
    const offset = offsetOf(first.result);
    expect(offset % (5 * MiB)).toBe(0);
    expect(offset).toBeGreaterThan(0);
    expect(first.result?.resumeAt).not.toHaveProperty("hashState"); // internal: in the state file
    expect(first.stderr).toContain(
      `ftp2s3: stopped at byte ${offset} of ${data.length}; go on with: ftp2s3 copy ${urlOf("legs.bin")} s3://${bucket}/in/ --part-size 5 --progress none --resume ${uploadId}`,
    );
    expect(existsSync(first.result?.stateFile as string)).toBe(true);

    const second = await copy("legs.bin", "--resume", uploadId, "--stop-after", "0.9");
    expect(second.exitCode).toBe(75);
    expect(offsetOf(second.result)).toBeGreaterThan(offset);

    const last = await copy("legs.bin", "--resume", uploadId);
    expect(last.exitCode).toBe(0);
    expect(last.result).toMatchObject({
      status: "copied",
      bytes: data.length,
      sha256: sha256(data),
      tagged: true,
    });
    expect(sha256(await readObject(s3.client(), bucket, "in/legs.bin"))).toBe(sha256(data));
    expect(await objectTags(s3.client(), bucket, "in/legs.bin")).toEqual({ sha256: sha256(data) });
    expect(recorder.requests.filter((r) => r.operation === "CreateMultipartUpload")).toHaveLength(1);
    expect(recorder.openUploads()).toEqual([]);
    expect(await readdir(env.FTP2S3_STATE_DIR as string)).toEqual([]); // the state goes with the copy
  });

  it("with --resumable, Ctrl-C stops at a part boundary instead of aborting (exit 75)", async () => {
    files["/out/interrupted.bin"] = randomFile(16 * MiB);
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 900);

    const run = await runInProcess(
      [
        urlOf("interrupted.bin"),
        `s3://${bucket}/in/`,
        "--part-size",
        "5",
        "--progress",
        "none",
        "--resumable",
      ],
      env,
      { signal: interrupt.signal },
    );

    expect(run.exitCode).toBe(75);
    expect(run.stderr).toContain("ftp2s3: stopping at the next part boundary (Ctrl-C again quits at once)");
    expect(recorder.openUploads()).toEqual([run.result?.uploadId]);
    expect(await objectExists(s3.client(), bucket, "in/interrupted.bin")).toBe(false);
    // Leave nothing behind for the other tests: go on to the end.
    const rest = await copy("interrupted.bin", "--resume", run.result?.uploadId as string);
    expect(rest.exitCode).toBe(0);
  });

  it("refuses --resumable up front when the server gives no MDTM", async () => {
    files["/out/no-mdtm.bin"] = randomFile(1000);
    noMdtm = true;

    const run = await copy("no-mdtm.bin", "--resumable");

    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe(
      `ftp2s3: INVALID_INPUT: ${urlOf("no-mdtm.bin")} cannot be resumed: the server gave no MDTM (run without --resumable, --stop-after)`,
    );
  });

  it("says clearly when there is nothing saved for an upload id, or it belongs to another copy", async () => {
    const unknown = await copy("legs.bin", "--resume", "no-such-upload");
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(
      /^ftp2s3: INVALID_INPUT: no saved state for upload no-such-upload in .*state/,
    );

    files["/out/mine.bin"] = randomFile(12 * MiB);
    const first = await copy("mine.bin", "--stop-after", "0.6");
    expect(first.exitCode).toBe(75);
    const uploadId = first.result?.uploadId as string;
    const other = await runInProcess(
      [urlOf("mine.bin"), `s3://${bucket}/elsewhere/`, "--part-size", "5", "--resume", uploadId],
      env,
    );
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toContain(
      `upload ${uploadId} belongs to a copy of ${urlOf("mine.bin")} to s3://${bucket}/in/mine.bin, not of ${urlOf("mine.bin")} to s3://${bucket}/elsewhere/mine.bin`,
    );
    expect((await copy("mine.bin", "--resume", uploadId)).exitCode).toBe(0);
  });

  it("refuses a damaged state file with a one-line error, before touching S3", async () => {
    await mkdir(env.FTP2S3_STATE_DIR as string, { recursive: true });
    await writeFile(
      join(env.FTP2S3_STATE_DIR as string, "damaged-id.json"),
      JSON.stringify({
        version: 1,
        source: "x",
        target: "y",
        resumeAt: { uploadId: "damaged-id", offset: "ten" },
      }),
    );
    const before = recorder.requests.length;

    const run = await copy("legs.bin", "--resume", "damaged-id");

    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^ftp2s3: INVALID_INPUT: the state file .*damaged-id\.json is damaged: resumeAt\.modifiedAt is not a string$/,
    );
    expect(recorder.requests.length).toBe(before);
    await rm(join(env.FTP2S3_STATE_DIR as string, "damaged-id.json"));
  });

  it("a server refusing REST on --resume: exit 1, the upload aborted, nothing stored", async () => {
    files["/out/norest.bin"] = randomFile(12 * MiB);
    const first = await copy("norest.bin", "--stop-after", "0.6");
    expect(first.exitCode).toBe(75);
    refuseRest = true;

    const run = await copy("norest.bin", "--resume", first.result?.uploadId as string);

    expect(run.exitCode).toBe(1);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `ftp2s3: FTP_NO_RESTART: ${urlOf("norest.bin")}: the server refused to go on from where the copy stopped (REST); the upload was aborted: run the copy again from the start`,
    );
    expect(recorder.openUploads()).toEqual([]);
    expect(await objectExists(s3.client(), bucket, "in/norest.bin")).toBe(false);
    expect(await readdir(env.FTP2S3_STATE_DIR as string)).toEqual([]);
  });
});

describe("ftp2s3 copy --resume against ftp-srv (the embedded FTP server)", () => {
  it("goes on with REST where the first leg stopped; the object is byte-exact", async () => {
    const work = await mkdtemp(join(tmpdir(), "ftp2s3-resume-ftpsrv-"));
    const ftp = await startEmbeddedFtp({ root: join(work, "ftp") });
    const s3 = await startS3rver(join(work, "s3"));
    const recorder = await startS3Recorder(s3.endpoint);
    try {
      await s3.createBucket(bucket);
      const data = randomFile(21 * MiB);
      await mkdir(join(ftp.root, "out"), { recursive: true });
      await writeFile(join(ftp.root, "out", "big.bin"), data);
      // ftp-srv reads from disk at once: slow S3 down instead, so that a leg ends after a few parts.
      recorder.fault = ({ operation }) => (operation === "UploadPart" ? { delayMs: 200 } : undefined);
      const env = {
        ...s3.env,
        AWS_ENDPOINT_URL_S3: recorder.endpoint,
        FTP_PASSWORD: ftp.password,
        FTP2S3_STATE_DIR: join(work, "state"),
      };
      const args = [
        `ftp://${ftp.user}@127.0.0.1:${ftp.port}/out/big.bin`,
        `s3://${bucket}/ftpsrv/`,
        "--part-size",
        "5",
        "--queue-size",
        "1",
        "--progress",
        "none",
      ];

      const first = await runInProcess([...args, "--stop-after", "0.5"], env);
      expect(first.exitCode).toBe(75);
      const rest = await runInProcess(
        [...args, "--resume", first.result?.uploadId as string, "--verbose"],
        env,
      );

      expect(rest.exitCode).toBe(0);
      const offset = offsetOf(first.result);
      expect(rest.stderr).toMatch(new RegExp(`REST ${offset}\\s[\\s\\S]*< 350`));
      expect(rest.result).toMatchObject({ bytes: data.length, sha256: sha256(data), resumedFrom: offset });
      expect(sha256(await readObject(s3.client(), bucket, "ftpsrv/big.bin"))).toBe(sha256(data));
      expect(recorder.openUploads()).toEqual([]);
    } finally {
      await recorder.close();
      await ftp.close();
      await s3.close();
      await rm(work, { recursive: true, force: true });
    }
  });
});
