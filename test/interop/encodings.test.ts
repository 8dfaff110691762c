/**
 * Names that are not UTF-8 on a real server: pyftpdlib serving files whose names on disk are
 * Windows-1252 and Latin-1 bytes, as it reads and writes them (--raw-names). The command copies and
 * mirrors them to UTF-8 keys with --encoding; a name that is not valid Windows-1252 is skipped and named.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";
import { INTEROP_USER, reachableTempDir, skipInterop } from "./fixtures.js";
import { type InteropServer, startInteropServer } from "./servers.js";

// ASCII: basic-ftp sends the password in the server's encoding's bytes (here Latin-1), while
// pyftpdlib's user database compares it as UTF-8 text.
const PASSWORD = "s3cret-password";
const bucket = "interop-encodings";

/** Bytes of a name on disk: text parts as ASCII, numbers as raw bytes. */
const raw = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

const tree: [Buffer, Buffer][] = [
  [raw("cp1252/caf", [0xe9], ".txt"), randomFile(1000)],
  [raw("cp1252/", [0x80], "uro.csv"), randomFile(2000)],
  [raw("cp1252/d", [0xe9], "p", [0xf4], "t/r", [0xe9], "sum", [0xe9], ".csv"), randomFile(3000)],
  // 0x81 is no character in Windows-1252.
  [raw("cp1252/bad", [0x81], ".csv"), randomFile(10)],
  [raw("latin1/na", [0xef], "ve.csv"), randomFile(4000)],
];
const dataOf = (...parts: (string | number[])[]) =>
  tree.find(([name]) => name.equals(raw(...parts)))?.[1] as Buffer;

describe.skipIf(skipInterop("pyftpdlib"))("ftp2s3 --encoding against pyftpdlib with raw names", () => {
  let work: string;
  let server: InteropServer;
  let s3: EmbeddedS3Server;
  const run = (args: string[]) =>
    runInProcess([...args, "--progress", "none", "--no-tag"], { ...s3.env, FTP_PASSWORD: PASSWORD });
  const url = (dir: string) => `ftp://${INTEROP_USER}@127.0.0.1:${server.port}/${dir}`;

  beforeAll(async () => {
    work = await reachableTempDir("ftp2s3-interop-encodings-");
    const root = path.join(work, "root");
    for (const [name, data] of tree) {
      const file = raw(`${root}/`, [...name]);
      await mkdir(file.subarray(0, file.lastIndexOf(0x2f)), { recursive: true, mode: 0o755 });
      await writeFile(file, data, { mode: 0o644 });
    }
    server = await startInteropServer("pyftpdlib", {
      root,
      user: INTEROP_USER,
      password: PASSWORD,
      rawNames: true,
    });
    s3 = await startS3rver(path.join(work, "s3"));
    await s3.createBucket(bucket);
  });
  afterAll(async () => {
    await server?.stop();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("copies a Windows-1252 name given in UTF-8 to its UTF-8 key, byte-exact", async () => {
    const copy = await run([
      "--encoding",
      "windows-1252",
      url("cp1252/%E2%82%ACuro.csv"),
      `s3://${bucket}/copy/`,
    ]);

    expect(copy.stderr).toBe("");
    expect(copy.exitCode).toBe(0);
    expect(sha256(await readObject(s3.client(), bucket, "copy/€uro.csv"))).toBe(
      sha256(dataOf("cp1252/", [0x80], "uro.csv")),
    );
  });

  it("mirrors a Windows-1252 tree to UTF-8 keys, skipping and naming the name that is not Windows-1252", async () => {
    // Act
    const mirror = await run([
      "mirror",
      "--recursive",
      "--encoding",
      "windows-1252",
      url("cp1252"),
      `s3://${bucket}/m/`,
    ]);

    // Assert
    expect(mirror.exitCode).toBe(1);
    expect(mirror.result).toMatchObject({
      copied: 3,
      skipped: 1,
      failed: [
        {
          path: "/cp1252/bad\\x81.csv",
          code: "UNREADABLE_NAME",
          message:
            "the name's bytes (62 61 64 81 2e 63 73 76) are not valid windows-1252, the server's name encoding: not copied",
        },
      ],
    });
    expect(sha256(await readObject(s3.client(), bucket, "m/café.txt"))).toBe(
      sha256(dataOf("cp1252/caf", [0xe9], ".txt")),
    );
    expect(sha256(await readObject(s3.client(), bucket, "m/€uro.csv"))).toBe(
      sha256(dataOf("cp1252/", [0x80], "uro.csv")),
    );
    expect(sha256(await readObject(s3.client(), bucket, "m/dépôt/résumé.csv"))).toBe(
      sha256(dataOf("cp1252/d", [0xe9], "p", [0xf4], "t/r", [0xe9], "sum", [0xe9], ".csv")),
    );
    expect(await objectExists(s3.client(), bucket, "m/bad\uFFFD.csv")).toBe(false);
  });

  it("mirrors a Latin-1 directory (every byte is a Latin-1 character) with exit 0", async () => {
    const mirror = await run(["mirror", "--encoding", "latin1", url("latin1"), `s3://${bucket}/latin1/`]);

    expect(mirror.exitCode).toBe(0);
    expect(mirror.result).toMatchObject({ copied: 1, failed: [] });
    expect(sha256(await readObject(s3.client(), bucket, "latin1/naïve.csv"))).toBe(
      sha256(dataOf("latin1/na", [0xef], "ve.csv")),
    );
  });
});
