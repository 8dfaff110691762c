import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import {
  type FakeFtpServer,
  type RetrScript,
  retrScripts,
  startFakeFtpServer,
} from "../support/fake-ftp-server.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

const bucket = "changing";
const PASSWORD = "mirror-secret-pw";
const MiB = 1024 * 1024;

// `ftp2s3 mirror` over MLSD (size and time from the listing, no SIZE or MDTM before a RETR) where one
// file is still being written: it grows right after its first RETR, so the second look differs.
describe("ftp2s3 mirror: a file that changed while it was copied is left for the next run", () => {
  let ftp: FakeFtpServer;
  let s3: EmbeddedS3Server;
  const files: Record<string, Buffer> = {
    "/in/growing.bin": randomFile(6 * MiB),
    "/in/stable.csv": randomFile(2000),
    // One part: its session is handed to the next file before the commit, so the second look comes first.
    "/in/small-growing.txt": randomFile(1000),
    // Written to after the listing: its RETR sends more than the listing announced.
    "/in/grown-since-listed.bin": randomFile(3000),
  };
  const bigGrows = retrScripts.growsAfterFirstRetr(files, "/in/growing.bin", 4096);
  const smallGrows = retrScripts.growsAfterFirstRetr(files, "/in/small-growing.txt", 10);
  const grownBefore = retrScripts.growsBeforeFirstRetr(files, "/in/grown-since-listed.bin", 500);
  const scripts: Record<string, RetrScript> = {
    "/in/small-growing.txt": smallGrows,
    "/in/grown-since-listed.bin": grownBefore,
  };

  beforeAll(async () => {
    s3 = await startFauxqsS3();
    await s3.createBucket(bucket);
    ftp = await startFakeFtpServer({
      user: "u",
      password: PASSWORD,
      features: ["SIZE", "MDTM", "EPSV", "PASV", "UTF8", "MLST type*;size*;modify*;"],
      files,
      retr: (ctx) => (scripts[ctx.arg] ?? bigGrows)(ctx),
      listings: {
        "/in": {
          // Read at each MLSD, so the second run lists the grown size.
          mlsd: {
            *[Symbol.iterator]() {
              yield "type=cdir; /in";
              for (const [path, data] of Object.entries(files)) {
                yield `type=file;size=${data.length};modify=20240102030405; ${path.slice("/in/".length)}`;
              }
            },
          },
        },
      },
    });
  });
  afterAll(async () => {
    await ftp?.close();
    await s3?.close();
  });

  function mirror() {
    return runInProcess(
      [
        "mirror",
        `ftp://u@127.0.0.1:${ftp.port}/in`,
        `s3://${bucket}/m/`,
        "--no-tag",
        "--part-size",
        "5",
        "--progress",
        "none",
      ],
      { ...s3.env, FTP_PASSWORD: PASSWORD },
    );
  }

  it("commits the stable file, reports the growing ones as changed (exit 0), and copies them whole next run", async () => {
    // Act: the first run, while growing.bin is written
    const first = await mirror();

    // Assert
    expect(first.exitCode).toBe(0);
    expect(first.result).toMatchObject({
      copied: 1,
      failed: [],
      // The sessions finish in any order.
      changed: expect.arrayContaining([
        {
          path: "/in/growing.bin",
          message: expect.stringMatching(
            /growing\.bin changed while it was copied \(it was 6291456 bytes .*, it is now 6295552 bytes .*\): nothing was stored, it is left for the next run$/,
          ),
        },
        {
          path: "/in/small-growing.txt",
          message: expect.stringContaining(
            "(it was 1000 bytes modified 2024-01-02T03:04:05.000Z, it is now 1010 bytes",
          ),
        },
        {
          path: "/in/grown-since-listed.bin",
          message: `ftp://u@127.0.0.1:${ftp.port}/in/grown-since-listed.bin grew past the 3000 bytes the listing announced while it was read (still being written): nothing was stored, it is left for the next run`,
        },
      ]),
    });
    expect(first.result?.changed).toHaveLength(3);
    expect(first.stderr).toMatch(
      /^ftp2s3: 3 files changed while they were copied \(left for the next run\): /m,
    );
    expect(sha256(await readObject(s3.client(), bucket, "m/stable.csv"))).toBe(
      sha256(files["/in/stable.csv"] as Buffer),
    );
    expect(await objectExists(s3.client(), bucket, "m/growing.bin")).toBe(false);
    expect(await objectExists(s3.client(), bucket, "m/small-growing.txt")).toBe(false);
    expect(await objectExists(s3.client(), bucket, "m/grown-since-listed.bin")).toBe(false);

    // Act: the next run, the file now stable at its new size
    const second = await mirror();

    // Assert: the manifest did not record it, so it is copied, whole
    expect(second.exitCode).toBe(0);
    expect(second.result).toMatchObject({ copied: 3, unchanged: 1, failed: [], changed: [] });
    const grown = files["/in/growing.bin"] as Buffer;
    expect(grown.length).toBe(6 * MiB + 4096);
    expect(sha256(await readObject(s3.client(), bucket, "m/growing.bin"))).toBe(sha256(grown));
    expect(sha256(await readObject(s3.client(), bucket, "m/small-growing.txt"))).toBe(
      sha256(files["/in/small-growing.txt"] as Buffer),
    );
    expect((files["/in/grown-since-listed.bin"] as Buffer).length).toBe(3500);
    expect(sha256(await readObject(s3.client(), bucket, "m/grown-since-listed.bin"))).toBe(
      sha256(files["/in/grown-since-listed.bin"] as Buffer),
    );
  });
});
