import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import { type FakeFtpServer, retrScripts, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { randomFile, readObject, sha256 } from "../support/objects.js";

const bucket = "polite";
const PASSWORD = "polite-secret-pw";

// `ftp2s3 mirror` against a server that allows few sessions (421 beyond them, as vsftpd's
// max_clients) or wants its files fetched slowly.
describe("ftp2s3 mirror against a server with a session limit", () => {
  let s3: EmbeddedS3Server;
  let ftp: FakeFtpServer | undefined;
  const files: Record<string, Buffer> = Object.fromEntries(
    Array.from({ length: 8 }, (_, n) => [`/in/f${n}.bin`, randomFile(20_000 + n)]),
  );

  beforeAll(async () => {
    s3 = await startFauxqsS3();
    await s3.createBucket(bucket);
  });
  afterEach(async () => {
    await ftp?.close();
  });
  afterAll(async () => {
    await s3?.close();
  });

  function serve(options: { maxSessions?: number } = {}) {
    return startFakeFtpServer({
      user: "u",
      password: PASSWORD,
      features: ["SIZE", "MDTM", "EPSV", "PASV", "UTF8", "MLST type*;size*;modify*;"],
      files,
      // Slow enough that the sessions overlap: 4 chunks 20 ms apart.
      retr: retrScripts.slow(6000, 20),
      listings: {
        "/in": {
          mlsd: [
            "type=cdir; /in",
            ...Object.entries(files).map(
              ([path, data]) => `type=file;size=${data.length};modify=20240102030405; ${path.slice(4)}`,
            ),
          ],
        },
      },
      ...options,
    });
  }

  function mirror(server: FakeFtpServer, prefix: string, ...options: string[]) {
    return runInProcess(
      [
        "mirror",
        `ftp://u@127.0.0.1:${server.port}/in`,
        `s3://${bucket}/${prefix}`,
        "--no-tag",
        "--progress",
        "none",
        ...options,
      ],
      { ...s3.env, FTP_PASSWORD: PASSWORD },
    );
  }

  it("shrinks its pool on 421 and copies every file byte-exact; the server never sees more than it allows", async () => {
    // Arrange
    ftp = await serve({ maxSessions: 2 });

    // Act
    const run = await mirror(ftp, "limited/", "--concurrency", "4");

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({
      copied: 8,
      failed: [],
      poolShrunk: { from: 4, to: 2, reason: expect.stringContaining("421 Too many connections (2)") },
    });
    expect(run.stderr).toContain("the FTP server refused sessions as busy: the mirror went on with 2 of 4");
    expect(ftp.peakSessions).toBe(2);
    for (const [path, data] of Object.entries(files)) {
      const stored = await readObject(s3.client(), bucket, `limited/${path.slice(4)}`);
      expect(sha256(stored)).toBe(sha256(data));
    }
  });

  it("--min-interval: the server's RETRs arrive at least that far apart, over all sessions", async () => {
    // Arrange
    ftp = await serve();

    // Act
    const run = await mirror(ftp, "paced/", "--concurrency", "3", "--min-interval", "400");

    // Assert. The pacer hands out the starts of the downloads; each RETR follows its EPSV's round
    // trip, and the server stamps it in this test's own process, whose event loop the copies keep
    // busy: on two shared cores one gap read 68 ms short of the interval. So each gap may be up to
    // 100 ms short, and the eight RETRs together span seven intervals less that same allowance.
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ copied: 8, failed: [] });
    const times = ftp.retrTimes;
    const gaps = times.slice(1).map((at, n) => at - (times[n] as number));
    expect(gaps).toHaveLength(7);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(400 - 100);
    expect((times[7] as number) - (times[0] as number)).toBeGreaterThanOrEqual(7 * 400 - 100);
  });
});
