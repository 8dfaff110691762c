import type { S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";
import { ListingError } from "../../functions/core/errors.js";
import { normaliseRemotePath } from "../../functions/core/paths.js";
import type { FileSource } from "../../functions/core/ports.js";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import {
  type FakeFtpOptions,
  type FakeFtpServer,
  replySplits,
  startFakeFtpServer,
} from "../support/fake-ftp-server.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

// Listings as real servers send them, scripted on the fake server: what is mirrored, what is refused,
// and what the user is told when a directory cannot be listed.
const bucket = "listings";
const PASSWORD = "listing-secret-pw";
const MLSD_FEATURES = ["SIZE", "MDTM", "EPSV", "PASV", "UTF8", "MLST type*;size*;modify*;unique*;perm*;"];
const line = (type: string, size: number | string, name: string) =>
  `${type}   1 ftp  ftp ${String(size).padStart(8)} Jan  2 03:04 ${name}`;

let s3: EmbeddedS3Server;
let client: S3Client;
let ftp: FakeFtpServer | undefined;
let source: FileSource | undefined;
let counter = 0;

beforeAll(async () => {
  s3 = await startFauxqsS3();
  await s3.createBucket(bucket);
  client = s3.client();
});
afterAll(async () => {
  await s3.close();
});
afterEach(async () => {
  source?.close();
  source = undefined;
  await ftp?.close();
  ftp = undefined;
});

async function serve(options: FakeFtpOptions): Promise<FakeFtpServer> {
  ftp = await startFakeFtpServer({ user: "u", password: PASSWORD, ...options });
  return ftp;
}

async function connect(server: FakeFtpServer, listing?: { maxEntries?: number; maxBytes?: number }) {
  source = await connectFtpSource({
    host: server.host,
    port: server.port,
    user: "u",
    password: PASSWORD,
    secure: false,
    timeoutMs: 5_000,
    ...(listing ? { listing } : {}),
  });
  return source;
}

/** `ftp2s3 mirror --recursive` of `dir` into a fresh prefix. */
async function mirror(server: FakeFtpServer, dir: string, ...args: string[]) {
  counter += 1;
  const prefix = `run-${counter}/`;
  const run = await runInProcess(
    [
      "mirror",
      `ftp://u@127.0.0.1:${server.port}${dir}`,
      `s3://${bucket}/${prefix}`,
      "--recursive",
      "--no-tag",
      "--progress",
      "none",
      "--timeout",
      "5",
      ...args,
    ],
    { ...s3.env, FTP_PASSWORD: PASSWORD },
  );
  return { ...run, prefix };
}

describe("Unix LIST from a BSD-derived server (inetutils ftpd: LIST's argument split at spaces)", () => {
  const a = randomFile(1000);
  const b = randomFile(2000);
  const special = randomFile(10);

  it("mirrors a directory with a space in its name (CWD, then LIST) and skips devices, sockets, fifos and links", async () => {
    // Arrange
    const server = await serve({
      listArgument: "split-at-spaces",
      files: {
        "/tree/a.csv": a,
        "/tree/sub dir/b.csv": b,
        "/tree/null": special,
        "/tree/sda": special,
        "/tree/sock": special,
        "/tree/fifo": special,
        "/tree/link": special,
      },
      listings: {
        "/tree": {
          list: [
            "total 8",
            line("-rw-r--r--", 1000, "a.csv"),
            line("drwxr-xr-x", 4096, "sub dir"),
            line("crw-rw-rw-", "1, 3", "null"),
            line("brw-rw----", "8, 0", "sda"),
            line("srwxrwxrwx", 0, "sock"),
            line("prw-r--r--", 0, "fifo"),
            line("lrwxrwxrwx", 5, "link -> a.csv"),
          ],
        },
        "/tree/sub dir": { list: [line("-rw-r--r--", 2000, "b.csv")] },
      },
    });

    // Act
    const run = await mirror(server, "/tree");

    // Assert
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ copied: 2, failed: [] });
    expect(sha256(await readObject(client, bucket, `${run.prefix}a.csv`))).toBe(sha256(a));
    expect(sha256(await readObject(client, bucket, `${run.prefix}sub dir/b.csv`))).toBe(sha256(b));
    for (const name of ["null", "sda", "sock", "fifo", "link"]) {
      expect(await objectExists(client, bucket, `${run.prefix}${name}`)).toBe(false);
    }
    expect(server.commands.filter((c) => c.startsWith("RETR")).sort()).toEqual([
      "RETR /tree/a.csv",
      "RETR /tree/sub dir/b.csv",
    ]);
    expect(server.commands).toContain("CWD /tree/sub dir");
    expect(server.commands).not.toContain("LIST -a /tree/sub dir");
  });
});

describe("MLSD", () => {
  it("an entry without a size fact is copied whole: SIZE is asked, no SIZE_MISMATCH", async () => {
    const data = randomFile(3000);
    const server = await serve({
      features: MLSD_FEATURES,
      files: { "/m/no-size.bin": data },
      listings: { "/m": { mlsd: ["type=cdir; /m", "type=file;modify=20240102030405;perm=r; no-size.bin"] } },
    });

    const run = await mirror(server, "/m");

    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(sha256(await readObject(client, bucket, `${run.prefix}no-size.bin`))).toBe(sha256(data));
    expect(server.commands).toContain("MLSD /m");
    expect(server.commands).toContain("SIZE /m/no-size.bin");
  });

  it("a refused path is listed from inside the directory: CWD, then MLSD", async () => {
    const server = await serve({
      features: MLSD_FEATURES,
      handlers: { MLSD: (ctx) => (ctx.arg === "" ? ctx.fallback() : ctx.reply("501 No arguments, please")) },
      listings: { "/m": { mlsd: ["type=file;size=5; x"] } },
    });
    const ftpSource = await connect(server);

    const entries = await ftpSource.list(normaliseRemotePath("/m"));

    expect(entries.map((e) => [e.name, e.kind, e.size])).toEqual([["x", "file", 5]]);
    expect(server.commands.filter((c) => /^(MLSD|LIST|CWD)/.test(c))).toEqual(["MLSD /m", "CWD /m", "MLSD"]);
  });
});

describe("a directory that cannot be listed fails with FTP_LISTING, named", () => {
  it("a line of no known format fails that directory's listing; the mirror names it and exits 1", async () => {
    const server = await serve({
      files: { "/t/a.csv": randomFile(10), "/t/sub/b.csv": randomFile(10) },
      listings: {
        "/t": { list: [line("-rw-r--r--", 10, "a.csv"), line("drwxr-xr-x", 4096, "sub")] },
        "/t/sub": { list: [line("-rw-r--r--", 10, "b.csv"), "?? this is not a listing line ??"] },
      },
    });
    const ftpSource = await connect(server);

    const listing = ftpSource.list(normaliseRemotePath("/t/sub"));
    await expect(listing).rejects.toBeInstanceOf(ListingError);
    await expect(listing).rejects.toMatchObject({
      code: "FTP_LISTING",
      dir: "/t/sub",
      reason: "unparsable",
      message: `cannot list ftp://u@127.0.0.1:${server.port}/t/sub: 1 line of the LIST listing match no listing format (MLSD, Unix, DOS) or name an unsafe name; the first: "?? this is not a listing line ??"`,
    });
    const run = await mirror(server, "/t");

    expect(run.exitCode).toBe(1);
    expect(JSON.stringify(run.result?.failed)).toContain("?? this is not a listing line ??");
    expect(JSON.stringify(run.result?.failed)).toContain("FTP_LISTING");
    expect(await objectExists(client, bucket, `${run.prefix}sub/b.csv`)).toBe(false);
  });

  it("every way refused: the message names each command and reply, not the control connection", async () => {
    const server = await serve({ listings: { "/elsewhere": { list: [] } } });
    const ftpSource = await connect(server);

    const listing = ftpSource.list(normaliseRemotePath("/gone dir"));

    await expect(listing).rejects.toMatchObject({
      code: "FTP_LISTING",
      reason: "refused",
      message: `cannot list ftp://u@127.0.0.1:${server.port}/gone%20dir: CWD /gone dir: 550 /gone dir: No such file or directory`,
    });
    const byPath = await ftpSource.list(normaliseRemotePath("/gone")).catch((error: Error) => error.message);
    expect(byPath).toBe(
      `cannot list ftp://u@127.0.0.1:${server.port}/gone: LIST -a /gone: 450 /gone: No such file or directory; LIST /gone: 450 /gone: No such file or directory; CWD /gone: 550 /gone: No such file or directory`,
    );
  });
});

describe("bounds: a listing past its limit fails 'cut short', and the session goes on", () => {
  it("more entries than maxEntries", async () => {
    const server = await serve({
      listings: {
        "/many": { list: Array.from({ length: 11 }, (_, i) => line("-rw-r--r--", 1, `f${i}`)) },
        "/few": { list: [line("-rw-r--r--", 1, "only")] },
      },
    });
    const ftpSource = await connect(server, { maxEntries: 10 });

    await expect(ftpSource.list(normaliseRemotePath("/many"))).rejects.toMatchObject({
      code: "FTP_LISTING",
      reason: "cut-short",
      message: `cannot list ftp://u@127.0.0.1:${server.port}/many: the listing was cut short at 10 entries (the limit for one directory)`,
    });
    expect((await ftpSource.list(normaliseRemotePath("/few"))).map((e) => e.name)).toEqual(["only"]);
  });

  it("an endless listing stops at maxBytes; the next command gets its own reply", async () => {
    function* endless() {
      for (let i = 0; ; i++) yield line("-rw-r--r--", 1, `file-${i}`);
    }
    const server = await serve({
      listings: { "/endless": { list: endless() }, "/few": { list: [line("-rw-r--r--", 1, "only")] } },
    });
    const ftpSource = await connect(server, { maxBytes: 256 * 1024, maxEntries: 1_000_000 });

    const error = await ftpSource.list(normaliseRemotePath("/endless")).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: "FTP_LISTING", reason: "cut-short" });
    expect((error as Error).message).toMatch(/cut short at \d+ bytes/);
    expect((await ftpSource.list(normaliseRemotePath("/few"))).map((e) => e.name)).toEqual(["only"]);
  });
});

describe("replies split across TCP segments (patched basic-ftp)", () => {
  it.each([
    ["one byte at a time", replySplits.bytes()],
    ["after the first character of the code", replySplits.at(1)],
    ["after the second character of the code", replySplits.at(2)],
  ])("%s: the copy and the listing succeed", async (_how, split) => {
    const data = randomFile(5000);
    const server = await serve({
      replySplit: split,
      files: { "/s/data.bin": data },
      listings: { "/s": { list: [line("-rw-r--r--", 5000, "data.bin")] } },
    });
    counter += 1;
    const key = `split-${counter}.bin`;

    const run = await runInProcess(
      [
        `ftp://u@127.0.0.1:${server.port}/s/data.bin`,
        `s3://${bucket}/${key}`,
        "--no-tag",
        "--progress",
        "none",
        "--timeout",
        "5",
      ],
      { ...s3.env, FTP_PASSWORD: PASSWORD },
    );
    const ftpSource = await connect(server);
    const entries = await ftpSource.list(normaliseRemotePath("/s"));

    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(sha256(await readObject(client, bucket, key))).toBe(sha256(data));
    expect(entries.map((e) => [e.name, e.size])).toEqual([["data.bin", 5000]]);
  });
});
