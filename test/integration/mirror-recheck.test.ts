import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import {
  type CommandHandler,
  type FakeFtpServer,
  type RetrScript,
  retrScripts,
  startFakeFtpServer,
} from "../support/fake-ftp-server.js";
import { objectExists, readObject, sha256 } from "../support/objects.js";

const PASSWORD = "recheck-secret-pw";
const FILES = 40;
const names = Array.from({ length: FILES }, (_, n) => `f${String(n).padStart(2, "0")}.txt`);
const stamp = "20240102030405";

/**
 * A directory of FILES small files served over MLSD whose listing is read from the live `files` and
 * `modified` at each MLSD: a change made after a RETR shows in the re-listing, as on a real server.
 */
function directory() {
  const files: Record<string, Buffer> = {};
  const modified: Record<string, string> = {};
  for (const name of names) {
    files[`/in/${name}`] = randomBytes(1000);
    modified[`/in/${name}`] = stamp;
  }
  const mlsd = {
    *[Symbol.iterator]() {
      yield "type=cdir; /in";
      for (const [path, data] of Object.entries(files)) {
        yield `type=file;size=${data.length};modify=${modified[path]}; ${path.slice("/in/".length)}`;
      }
    },
  };
  return { files, modified, mlsd };
}

/** Runs `change` once, right after the RETR of `path` completed (the file was read whole before it). */
function afterRetrOf(path: string, change: () => void): RetrScript {
  let done = false;
  return async (ctx) => {
    await retrScripts.normal()(ctx);
    if (ctx.arg !== path || done) return;
    done = true;
    change();
  };
}

/** Answers the first MLSD as the server would, and refuses every later one (and LIST). */
function refusedAfterFirst(): CommandHandler {
  let first = true;
  return async (ctx) => {
    if (!first) return ctx.reply("550 listing not available now");
    first = false;
    await ctx.fallback();
  };
}

const count = (commands: string[], verb: string) => commands.filter((c) => c.split(" ")[0] === verb).length;

describe("ftp2s3 mirror: small files checked after their transfer by one re-listing (MLSD)", () => {
  let s3: EmbeddedS3Server;
  let ftp: FakeFtpServer | undefined;
  let bucketCount = 0;
  let bucket = "";

  beforeAll(async () => {
    s3 = await startFauxqsS3();
  });
  afterAll(async () => {
    await s3?.close();
  });
  afterEach(async () => {
    await ftp?.close();
    ftp = undefined;
  });

  async function serve(
    dir: ReturnType<typeof directory>,
    options: { retr?: RetrScript; handlers?: Record<string, CommandHandler> } = {},
  ): Promise<FakeFtpServer> {
    bucketCount += 1;
    bucket = `recheck-${bucketCount}`;
    await s3.createBucket(bucket);
    ftp = await startFakeFtpServer({
      user: "u",
      password: PASSWORD,
      features: ["SIZE", "MDTM", "EPSV", "PASV", "UTF8", "MLST type*;size*;modify*;"],
      files: dir.files,
      listings: { "/in": { mlsd: dir.mlsd } },
      ...options,
      // MDTM answers as the listing does (the fake's own answer is one fixed time).
      handlers: {
        MDTM: (ctx) => ctx.reply(ctx.file ? `213 ${dir.modified[ctx.arg]}` : "550 No such file"),
        ...options.handlers,
      },
    });
    return ftp;
  }

  function mirror(server: FakeFtpServer) {
    return runInProcess(
      [
        "mirror",
        `ftp://u@127.0.0.1:${server.port}/in`,
        `s3://${bucket}/m/`,
        "--no-tag",
        "--concurrency",
        "1",
        "--progress",
        "none",
      ],
      { ...s3.env, FTP_PASSWORD: PASSWORD },
    );
  }

  async function expectStored(dir: ReturnType<typeof directory>, stored: string[]) {
    for (const name of names) {
      const key = `m/${name}`;
      if (!stored.includes(name)) {
        expect(await objectExists(s3.client(), bucket, key), key).toBe(false);
        continue;
      }
      expect(sha256(await readObject(s3.client(), bucket, key)), key).toBe(
        sha256(dir.files[`/in/${name}`] as Buffer),
      );
    }
  }

  it("copies every file byte-exact with one MLSD to plan and one to check, and no stat per file", async () => {
    // Arrange
    const dir = directory();
    const server = await serve(dir);

    // Act
    const run = await mirror(server);

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ copied: FILES, failed: [], changed: [] });
    await expectStored(dir, names);
    expect(count(server.commands, "RETR")).toBe(FILES);
    expect(count(server.commands, "MLSD")).toBe(2);
    for (const verb of ["MLST", "SIZE", "MDTM"]) expect(count(server.commands, verb), verb).toBe(0);
  });

  it("stores no file that grew, was touched or was deleted between its RETR and the re-listing; the next run copies the changed ones", async () => {
    // Arrange: once f35 is read, f10 (read before) grows, f20 gets a new time and f30 is deleted; the
    // re-listing comes after all 40 are read.
    const dir = directory();
    const server = await serve(dir, {
      retr: afterRetrOf("/in/f35.txt", () => {
        dir.files["/in/f10.txt"] = Buffer.concat([dir.files["/in/f10.txt"] as Buffer, randomBytes(10)]);
        dir.modified["/in/f20.txt"] = "20240102030406";
        delete dir.files["/in/f30.txt"];
      }),
    });
    const url = `ftp://u@127.0.0.1:${server.port}/in`;
    const was = "it was 1000 bytes modified 2024-01-02T03:04:05.000Z";

    // Act: the first run, while they change
    const run = await mirror(server);

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ copied: FILES - 3, failed: [] });
    const left = "nothing was stored, it is left for the next run";
    expect(run.result?.changed).toHaveLength(3);
    expect(run.result?.changed).toEqual(
      expect.arrayContaining([
        {
          path: "/in/f10.txt",
          message: `${url}/f10.txt changed while it was copied (${was}, it is now 1010 bytes modified 2024-01-02T03:04:05.000Z): ${left}`,
        },
        {
          path: "/in/f20.txt",
          message: `${url}/f20.txt changed while it was copied (${was}, it is now 1000 bytes modified 2024-01-02T03:04:06.000Z): ${left}`,
        },
        {
          path: "/in/f30.txt",
          message: `${url}/f30.txt changed while it was copied (${was}, it is gone): ${left}`,
        },
      ]),
    );
    const unchanged = names.filter((n) => !["f10.txt", "f20.txt", "f30.txt"].includes(n));
    await expectStored(dir, unchanged);
    expect(count(server.commands, "MLSD")).toBe(2);
    expect(count(server.commands, "MLST")).toBe(0);

    // Act: the next run, the files stable again
    const rerun = await mirror(server);

    // Assert: the grown and the touched file are copied; the deleted one is no longer listed
    expect(rerun.exitCode).toBe(0);
    expect(rerun.result).toMatchObject({ copied: 2, unchanged: FILES - 3, failed: [], changed: [] });
    await expectStored(
      dir,
      names.filter((n) => n !== "f30.txt"),
    );
  });

  it("checks each file on its own when the re-listing is refused, and still catches a change", async () => {
    // Arrange: f07 grows right after it is read; every MLSD after the planning one is refused.
    const dir = directory();
    const server = await serve(dir, {
      retr: afterRetrOf("/in/f07.txt", () => {
        dir.files["/in/f07.txt"] = Buffer.concat([dir.files["/in/f07.txt"] as Buffer, randomBytes(10)]);
      }),
      handlers: { MLSD: refusedAfterFirst() },
    });

    // Act
    const run = await mirror(server);

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ copied: FILES - 1, failed: [] });
    expect(run.result?.changed).toEqual([
      {
        path: "/in/f07.txt",
        message: expect.stringContaining(
          "f07.txt changed while it was copied (it was 1000 bytes modified 2024-01-02T03:04:05.000Z, it is now 1010 bytes",
        ),
      },
    ]);
    expect(run.stderr).toMatch(
      /re-listing ftp:\/\/u@127\.0\.0\.1:\d+\/in to check the files just read failed: each is checked on its own/,
    );
    await expectStored(
      dir,
      names.filter((n) => n !== "f07.txt"),
    );
    // The fake server has no MLST (502, given up for the session): SIZE and MDTM per file instead.
    expect(count(server.commands, "SIZE")).toBe(FILES);
    expect(count(server.commands, "MDTM")).toBe(FILES);
  });

  it("fails the files, storing none, when neither the re-listing nor a stat can check them", async () => {
    // Arrange: the re-listing is refused and SIZE answers a count no file can have
    const dir = directory();
    const server = await serve(dir, {
      handlers: { MLSD: refusedAfterFirst(), SIZE: (ctx) => ctx.reply("213 1000abc") },
    });

    // Act
    const run = await mirror(server);

    // Assert
    expect(run.exitCode).not.toBe(0);
    expect(run.result).toMatchObject({ copied: 0, changed: [] });
    expect(run.result?.failed).toHaveLength(FILES);
    const failed = run.result?.failed as { code: string; message: string }[];
    expect(new Set(failed.map((f) => f.code))).toEqual(new Set(["FTP_REPLY"]));
    expect(failed[0]?.message).toMatch(/: its SIZE reply "1000abc" is not a byte count$/);
    await expectStored(dir, []);
  });
});
