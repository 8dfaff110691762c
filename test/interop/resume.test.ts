/**
 * A copy that stops at a part boundary and goes on later (`--stop-after`, `--resume <upload-id>`), against
 * the real servers: the legs ask for the rest of the file with REST <offset> then RETR, so this is where a
 * server's REST (its 350 reply, the bytes it sends from there) and its SIZE and MDTM (the "unchanged"
 * check between legs) are put to the test. S3 is s3rver on loopback behind the recording proxy.
 *
 * Real servers on loopback send 60 MiB in well under a second, so the legs are made deterministic by
 * slowing S3, not FTP: every UploadPart is held back 250 ms by the recorder, and with 5 MiB parts and
 * one part in flight (--queue-size 1) backpressure holds the FTP read, so a leg of 0.9 s gets through
 * a few parts and stops, and no leg can reach the end of the file while it has a deadline.
 */
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CliOutcome, runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { randomFile, readObject, sha256 } from "../support/objects.js";
import { type S3Recorder, startS3Recorder } from "../support/s3-recorder.js";
import {
  INTEROP_PASSWORD,
  INTEROP_USER,
  reachableTempDir,
  skipInterop,
  writeServedFile,
} from "./fixtures.js";
import { type InteropServer, interopServerKinds, startInteropServer } from "./servers.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const MiB = 1024 * 1024;
const PART = 5 * MiB;
/** How long UploadPart is held back: a part takes at least this long. */
const UPLOAD_PART_DELAY_MS = 250;
/**
 * How long a leg with a deadline runs. Long enough for the first part even on a loaded machine (the
 * deadline counts from the login: SIZE, MDTM, HEAD, PASV and 5 MiB come first), short enough that two
 * such legs cannot reach the end of the file: in 0.9 s at most 3 parts complete, 1 is in flight and 1
 * full buffer is sent on stopping, so 5 parts a leg, 10 in two legs, of the 12 the file has.
 */
const LEG_SECONDS = "0.9";
const MAX_LEGS = 12;

const big = randomFile(60 * MiB);

interface ResumeAt {
  offset: number;
  size: number;
  partSize: number;
  modifiedAt: string;
}

/** The resume point a suspended leg printed (without the internal hash state). */
function resumeAtOf(leg: CliOutcome): ResumeAt {
  const resumeAt = leg.result?.resumeAt;
  if (typeof resumeAt !== "object" || resumeAt === null) {
    throw new Error(`no resumeAt in the result: ${legReport("the leg", leg)}`);
  }
  return resumeAt as ResumeAt;
}

/** The `> REST n` of the FTP conversation (--verbose), the reply to it, and whether RETR came after it. */
function restExchange(stderr: string): { offset: number; reply: string; retrAfter: boolean } | undefined {
  const lines = stderr.split("\n");
  const rest = lines.findIndex((line) => /^> REST \d+$/.test(line));
  if (rest < 0) return undefined;
  const replyIndex = lines.findIndex((line, index) => index > rest && line.startsWith("< "));
  const retr = lines.findIndex((line, index) => index > rest && line.startsWith("> RETR "));
  return {
    offset: Number((lines[rest] as string).slice("> REST ".length)),
    reply: replyIndex < 0 ? "" : (lines[replyIndex] as string).slice(2),
    retrAfter: retr > replyIndex && replyIndex > rest,
  };
}

/** What a failed expectation shows: the leg's exit code, output and its FTP conversation. */
function legReport(name: string, leg: CliOutcome): string {
  return `${name}: exit ${leg.exitCode}\nstdout: ${leg.stdout}\nstderr:\n${leg.stderr.slice(-6_000)}`;
}

let work: string;
let s3: EmbeddedS3Server;
let recorder: S3Recorder;

beforeAll(async () => {
  work = await reachableTempDir("ftp2s3-interop-resume-");
  s3 = await startS3rver(path.join(work, "s3"));
  recorder = await startS3Recorder(s3.endpoint);
  recorder.fault = ({ operation }) =>
    operation === "UploadPart" ? { delayMs: UPLOAD_PART_DELAY_MS } : undefined;
});
afterAll(async () => {
  await recorder?.close();
  await s3?.close();
  await rm(work, { recursive: true, force: true });
});

for (const kind of interopServerKinds) {
  describe.skipIf(skipInterop(kind))(`ftp2s3 copy --stop-after/--resume against ${kind}`, () => {
    let server: InteropServer;
    let root: string;
    let stateDir: string;
    const bucket = `resume-${kind}`;

    const urlOf = (file: string) => `ftp://${INTEROP_USER}@127.0.0.1:${server.port}/${file}`;
    const copy = (file: string, ...options: string[]) =>
      runInProcess(
        [
          "copy",
          urlOf(file),
          `s3://${bucket}/in/`,
          "--part-size",
          "5",
          "--queue-size",
          "1",
          "--progress",
          "none",
          ...options,
        ],
        {
          ...s3.env,
          AWS_ENDPOINT_URL_S3: recorder.endpoint,
          FTP_PASSWORD: INTEROP_PASSWORD,
          FTP2S3_STATE_DIR: stateDir,
        },
      );
    const requestsFor = (operation: string) => recorder.requests.filter((r) => r.operation === operation);

    beforeAll(async () => {
      root = path.join(work, `root-${kind}`);
      stateDir = path.join(work, `state-${kind}`);
      await writeServedFile(root, "sixty-mib.bin", big);
      server = await startInteropServer(kind, {
        root,
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
      });
      await s3.createBucket(bucket);
    });
    afterAll(() => server?.stop());
    beforeEach(() => {
      recorder.requests.length = 0; // each test counts its own requests
    });

    it("copies 60 MiB byte-exact in three or more legs, each going on with REST <offset> from the last", async () => {
      const legs: CliOutcome[] = [await copy("sixty-mib.bin", "--stop-after", LEG_SECONDS)];
      const first = legs[0] as CliOutcome;
      expect(first.exitCode, legReport("leg 1", first)).toBe(75);
      expect(first.result).toMatchObject({
        status: "suspended",
        reason: "stop-after",
        key: "in/sixty-mib.bin",
      });
      const uploadId = first.result?.uploadId as string;
      expect(uploadId, legReport("leg 1", first)).toEqual(expect.any(String));
      const firstOffset = resumeAtOf(first).offset;
      expect(first.stderr).toContain(
        // The hint repeats the options the leg ran with, so that it works as printed.
        `ftp2s3: stopped at byte ${firstOffset} of ${big.length}; go on with: ftp2s3 copy ${urlOf("sixty-mib.bin")} s3://${bucket}/in/ --part-size 5 --queue-size 1 --progress none --resume ${uploadId}`,
      );

      // The second leg has a deadline too; then legs without one until the copy ends (one, normally).
      legs.push(await copy("sixty-mib.bin", "--resume", uploadId, "--stop-after", LEG_SECONDS, "--verbose"));
      while (legs.at(-1)?.exitCode === 75 && legs.length < MAX_LEGS) {
        legs.push(await copy("sixty-mib.bin", "--resume", uploadId, "--verbose"));
      }
      const report = legs.map((leg, index) => legReport(`leg ${index + 1}`, leg)).join("\n\n");
      const last = legs.at(-1) as CliOutcome;

      expect(legs.length, report).toBeGreaterThanOrEqual(3);
      expect(
        legs.map((leg) => leg.exitCode),
        report,
      ).toEqual([...legs.slice(0, -1).map(() => 75), 0]);

      // Every suspended leg stopped further on, at a part boundary, with the same upload and source.
      const offsets = legs.slice(0, -1).map((leg) => resumeAtOf(leg).offset);
      let previous = 0;
      for (const [index, offset] of offsets.entries()) {
        expect(offset, `leg ${index + 1}\n${report}`).toBeGreaterThan(previous);
        expect(offset % PART, `leg ${index + 1}`).toBe(0);
        expect(offset).toBeLessThan(big.length);
        previous = offset;
      }
      for (const leg of legs.slice(1, -1)) {
        expect(leg.result).toMatchObject({ status: "suspended", uploadId, resumeAt: { size: big.length } });
      }

      // Every resumed leg asked for the rest from where the one before stopped, the server accepted
      // the REST with a 350, and only then came RETR.
      for (const [index, leg] of legs.slice(1).entries()) {
        const exchange = restExchange(leg.stderr);
        expect(exchange, `leg ${index + 2}: no REST in the FTP conversation\n${report}`).toBeDefined();
        expect(exchange?.offset).toBe(offsets[index]);
        expect(exchange?.reply, `leg ${index + 2}\n${report}`).toMatch(/^350[ -]/);
        expect(exchange?.retrAfter, `leg ${index + 2}\n${report}`).toBe(true);
      }

      expect(last.result, report).toMatchObject({
        status: "copied",
        bytes: big.length,
        sha256: sha256(big),
        resumedFrom: offsets.at(-1),
        sizeCheck: "matched",
      });
      expect(sha256(await readObject(s3.client(), bucket, "in/sixty-mib.bin"))).toBe(sha256(big));
      expect(requestsFor("CreateMultipartUpload")).toHaveLength(1);
      expect(requestsFor("AbortMultipartUpload")).toEqual([]);
      expect(recorder.openUploads()).toEqual([]);
      expect(await readdir(stateDir)).toEqual([]); // the state goes with the copy
    });

    it("starts over, after aborting the old upload, when the source changed between legs", async () => {
      // Seven parts: with two buffers the read stays at most two parts ahead of the uploads, so it
      // cannot end before 1.25 s behind the slowed S3, well past the leg's deadline.
      const before = randomFile(35 * MiB);
      await writeServedFile(root, "changing.bin", before);
      const first = await copy("changing.bin", "--stop-after", LEG_SECONDS);
      expect(first.exitCode, legReport("leg 1", first)).toBe(75);
      const uploadId = first.result?.uploadId as string;
      expect(resumeAtOf(first).size).toBe(before.length);

      // Different content AND a different size: MDTM has a resolution of one second on many servers
      // (vsftpd, proftpd, pure-ftpd answer in whole seconds), so a rewrite of the same size within the
      // same second as the first leg's MDTM cannot be noticed by SIZE+MDTM; the size change can.
      const after = randomFile(12 * MiB + 12_345);
      await writeServedFile(root, "changing.bin", after);
      const next = await copy("changing.bin", "--resume", uploadId);

      expect(next.exitCode, legReport("leg 2", next)).toBe(0);
      expect(next.stderr).toMatch(/^ftp2s3: warning: the source changed since the copy started/m);
      expect(next.stderr).toContain(`size ${before.length} -> ${after.length}`);
      const aborts = requestsFor("AbortMultipartUpload").filter((r) => r.uploadId === uploadId);
      expect(aborts).toHaveLength(1);
      expect(aborts[0]?.status).toBeGreaterThanOrEqual(200);
      expect(aborts[0]?.status).toBeLessThan(300);
      expect(next.result).toMatchObject({ status: "copied", bytes: after.length, sha256: sha256(after) });
      expect(next.result).not.toHaveProperty("resumedFrom"); // from byte 0
      expect(sha256(await readObject(s3.client(), bucket, "in/changing.bin"))).toBe(sha256(after));
      expect(requestsFor("CreateMultipartUpload")).toHaveLength(2); // the old one and the new start
      expect(recorder.openUploads()).toEqual([]);
      expect(await readdir(stateDir)).toEqual([]);
    });
  });
}
