import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, runBuilt, runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startFauxqsS3 } from "../support/embedded-s3.js";
import { type FakeFtpServer, startFakeFtpServer } from "../support/fake-ftp-server.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";

const bucket = "encodings";
const MLSD = ["SIZE", "MDTM", "EPSV", "PASV", "MLST type*;size*;modify*;"];

/** A name's bytes as the fake server keys it with encoding "latin1": one character per byte. */
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p)))).toString(
    "latin1",
  );

const mlsdLine = (name: string, data: Buffer) =>
  `type=file;size=${data.length};modify=20240102030405; ${name}`;

// Servers whose names are bytes in their own encoding: they list them raw, and answer SIZE, MDTM and
// RETR only for exactly those bytes (anything else is "550 No such file").
describe("names that are not UTF-8: --encoding", () => {
  let s3: EmbeddedS3Server;
  const servers: FakeFtpServer[] = [];

  async function server(files: Record<string, Buffer>, listing: string[]): Promise<FakeFtpServer> {
    const ftp = await startFakeFtpServer({
      encoding: "latin1",
      features: MLSD,
      files,
      listings: { "/in": { mlsd: ["type=cdir; /in", ...listing] } },
    });
    servers.push(ftp);
    return ftp;
  }

  const run = (args: string[]) =>
    runInProcess([...args, "--no-tag", "--progress", "none"], { ...s3.env, FTP_PASSWORD: "" });

  beforeAll(async () => {
    s3 = await startFauxqsS3();
    await s3.createBucket(bucket);
  });
  afterAll(async () => {
    await Promise.all(servers.map((ftp) => ftp.close()));
    await s3?.close();
  });

  it("copies a Latin-1 name given in UTF-8: RETR sends the server's bytes, the key is UTF-8", async () => {
    // Arrange
    const wire = bytes("/in/caf", [0xe9], ".txt");
    const data = randomFile(3000);
    const ftp = await server({ [wire]: data }, []);

    // Act
    const copy = await run([
      "--encoding",
      "latin1",
      `ftp://u@127.0.0.1:${ftp.port}/in/caf%C3%A9.txt`,
      `s3://${bucket}/copy/`,
    ]);

    // Assert
    expect(copy.stderr).toBe("");
    expect(copy.exitCode).toBe(0);
    expect(copy.result).toMatchObject({ key: "copy/café.txt", bytes: 3000 });
    expect(sha256(await readObject(s3.client(), bucket, "copy/café.txt"))).toBe(sha256(data));
    expect(ftp.commands).toEqual(expect.arrayContaining([`SIZE ${wire}`, `MDTM ${wire}`, `RETR ${wire}`]));
    // Asked to, such a server would switch its names to UTF-8.
    expect(ftp.commands.filter((c) => /^OPTS UTF8/i.test(c))).toEqual([]);
  });

  it("mirrors Windows-1252 names to UTF-8 keys, byte for byte", async () => {
    // Arrange
    const euro = randomFile(1500);
    const cafe = randomFile(2500);
    const ftp = await server(
      { [bytes("/in/", [0x80], "uro.csv")]: euro, [bytes("/in/caf", [0xe9], ".txt")]: cafe },
      [mlsdLine(bytes([0x80], "uro.csv"), euro), mlsdLine(bytes("caf", [0xe9], ".txt"), cafe)],
    );

    // Act
    const mirror = await run([
      "mirror",
      "--encoding",
      "windows-1252",
      `ftp://u@127.0.0.1:${ftp.port}/in`,
      `s3://${bucket}/cp1252/`,
    ]);

    // Assert
    expect(mirror.exitCode).toBe(0);
    expect(mirror.result).toMatchObject({ listed: 2, copied: 2, skipped: 0, failed: [] });
    expect(sha256(await readObject(s3.client(), bucket, "cp1252/€uro.csv"))).toBe(sha256(euro));
    expect(sha256(await readObject(s3.client(), bucket, "cp1252/café.txt"))).toBe(sha256(cafe));
  });

  it("skips and names a Shift-JIS name that is not valid Shift-JIS, copies the rest, and exits 1", async () => {
    // Arrange: あ.txt, and a lead byte (0x82) followed by "." instead of a second byte
    const good = randomFile(1000);
    const bad = randomFile(1000);
    const ftp = await server(
      { [bytes("/in/", [0x82, 0xa0], ".txt")]: good, [bytes("/in/bad", [0x82], ".txt")]: bad },
      [mlsdLine(bytes([0x82, 0xa0], ".txt"), good), mlsdLine(bytes("bad", [0x82], ".txt"), bad)],
    );

    // Act
    const mirror = await run([
      "mirror",
      "--encoding",
      "shift_jis",
      `ftp://u@127.0.0.1:${ftp.port}/in`,
      `s3://${bucket}/sjis/`,
    ]);

    // Assert
    const why =
      "the name's bytes (62 61 64 82 2e 74 78 74) are not valid shift_jis, the server's name encoding: not copied";
    expect(mirror.exitCode).toBe(1);
    expect(mirror.result).toMatchObject({
      listed: 2,
      copied: 1,
      skipped: 1,
      failed: [{ path: "/in/bad\\x82.txt", code: "UNREADABLE_NAME", message: why }],
    });
    expect(mirror.stderr).toContain(`ftp2s3: warning: /in/bad\\x82.txt: ${why}`);
    expect(sha256(await readObject(s3.client(), bucket, "sjis/あ.txt"))).toBe(sha256(good));
    // Never fetched, never stored under a guessed name.
    expect(ftp.commands.filter((c) => c.startsWith("RETR"))).toEqual([
      `RETR ${bytes("/in/", [0x82, 0xa0], ".txt")}`,
    ]);
    expect(await objectExists(s3.client(), bucket, "sjis/bad\uFFFD.txt")).toBe(false);

    // Act: the same run, with that one name excluded by its escaped form
    const excluded = await run([
      "mirror",
      "--encoding",
      "shift_jis",
      "--exclude",
      "bad*",
      `ftp://u@127.0.0.1:${ftp.port}/in`,
      `s3://${bucket}/sjis/`,
    ]);

    // Assert
    expect(excluded.exitCode).toBe(0);
    expect(excluded.result).toMatchObject({ excluded: 1, unchanged: 1, failed: [] });
  });

  it("refuses a path the server's encoding cannot represent, and an unknown encoding before connecting", async () => {
    // Arrange
    const ftp = await server({}, []);
    const url = `ftp://u@127.0.0.1:${ftp.port}/in/snow%E2%98%83.txt`;

    // Act
    const snowman = await run(["--encoding", "latin1", url, `s3://${bucket}/x`]);
    const unknown = await run(["--encoding", "klingon", url, `s3://${bucket}/x`]);
    const utf16 = await run(["--encoding", "utf16le", url, `s3://${bucket}/x`]);

    // Assert
    expect(snowman.exitCode).toBe(2);
    expect(snowman.stderr).toBe(
      `ftp2s3: INVALID_INPUT: "/in/snow☃.txt" has "☃" (U+2603), which latin1 (the server's name encoding) cannot represent\n`,
    );
    expect(ftp.commands.filter((c) => /^(SIZE|RETR)/.test(c))).toEqual([]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toBe(
      'ftp2s3: INVALID_INPUT: --encoding: unknown encoding "klingon" (e.g. utf8, latin1, windows-1252, shift_jis, gbk)\n',
    );
    expect(utf16.exitCode).toBe(2);
    expect(utf16.stderr).toMatch(
      /^ftp2s3: INVALID_INPUT: --encoding: "utf16le" does not write ASCII as ASCII/,
    );
    expect(ftp.connections).toBe(1);
  });

  it("works from the built command, whose iconv-lite is a chunk loaded only for such a server", async () => {
    // Arrange
    buildCli();
    const wire = bytes("/in/", [0x80], "uro.csv");
    const data = randomFile(4000);
    const ftp = await server({ [wire]: data }, []);

    // Act
    const copy = await runBuilt(
      [
        "--encoding",
        "cp1252",
        "--no-tag",
        "--progress",
        "none",
        `ftp://u@127.0.0.1:${ftp.port}/in/%E2%82%ACuro.csv`,
        `s3://${bucket}/built/`,
      ],
      { ...s3.env, FTP_PASSWORD: "" },
    );
    const unknown = await runBuilt(
      ["--encoding", "klingon", `ftp://u@127.0.0.1:${ftp.port}/in/a`, `s3://${bucket}/x`],
      {
        ...s3.env,
        FTP_PASSWORD: "",
      },
    );

    // Assert
    expect(copy.stderr).toBe("");
    expect(copy.exitCode).toBe(0);
    expect(sha256(await readObject(s3.client(), bucket, "built/€uro.csv"))).toBe(sha256(data));
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/^ftp2s3: INVALID_INPUT: --encoding: unknown encoding "klingon"/);
    expect(ftp.connections).toBe(1);
  }, 60_000);

  it("keeps a UTF-8 server on today's path: OPTS UTF8 ON, the name's UTF-8 bytes", async () => {
    // Arrange
    const data = randomFile(100);
    const ftp = await startFakeFtpServer({ files: { "/in/café.txt": data } });
    servers.push(ftp);

    // Act
    const copy = await run([`ftp://u@127.0.0.1:${ftp.port}/in/caf%C3%A9.txt`, `s3://${bucket}/utf8/`]);

    // Assert
    expect(copy.exitCode).toBe(0);
    expect(sha256(await readObject(s3.client(), bucket, "utf8/café.txt"))).toBe(sha256(data));
    expect(ftp.commands).toContain("OPTS UTF8 ON");
    expect(ftp.commands).toContain("RETR /in/café.txt");
  });
});
