/**
 * ftp2s3 itself against the real servers: the command's byte-exact copies (0 B, 1 MiB, 64 MiB), a
 * missing file as FTP_REPLY 550, a mirror of a tree with spaces and non-ASCII names, and FTPS on
 * vsftpd (explicit and implicit, with the session reuse vsftpd demands; a certificate from an unknown
 * CA refused). S3 is s3rver on loopback.
 */
import { chmod, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";
import { createS3Client } from "../../functions/adapters/s3-client.js";
import { createS3Sink } from "../../functions/adapters/s3-sink.js";
import { runMirror } from "../../functions/core/mirror.js";
import { normaliseRemotePath } from "../../functions/core/paths.js";
import { runInProcess } from "../support/cli.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";
import {
  INTEROP_PASSWORD,
  INTEROP_USER,
  reachableTempDir,
  skipInterop,
  writeServedFile,
} from "./fixtures.js";
import { type InteropServer, interopServerKinds, startInteropServer } from "./servers.js";

const MiB = 1024 * 1024;
const files: Record<string, Buffer> = {
  "empty.bin": randomFile(0),
  "one-mib.bin": randomFile(MiB),
  "sixty-four-mib.bin": randomFile(64 * MiB),
  "tree/dir with space/ünïcødé #1.csv": randomFile(1000),
  "tree/dir with space/plain.csv": randomFile(2000),
  "tree/top.csv": randomFile(3000),
};

let work: string;
let root: string;
let s3: EmbeddedS3Server;

beforeAll(async () => {
  work = await reachableTempDir("ftp2s3-interop-");
  root = path.join(work, "root");
  for (const [name, data] of Object.entries(files)) await writeServedFile(root, name, data);
  await mkdir(path.join(root, "tree/empty dir"), { mode: 0o755 });
  await chmod(path.join(root, "tree/empty dir"), 0o755);
  s3 = await startS3rver(path.join(work, "s3"));
});
afterAll(async () => {
  await s3?.close();
  await rm(work, { recursive: true, force: true });
});

function urlOf(server: InteropServer, file: string, scheme = "ftp"): string {
  const encoded = file.split("/").map(encodeURIComponent).join("/");
  return `${scheme}://${INTEROP_USER}@127.0.0.1:${server.port}/${encoded}`;
}

for (const kind of interopServerKinds) {
  describe.skipIf(skipInterop(kind))(`ftp2s3 against ${kind}`, () => {
    let server: InteropServer;
    const bucket = `interop-${kind}`;
    const env = () => ({ ...s3.env, FTP_PASSWORD: INTEROP_PASSWORD });

    beforeAll(async () => {
      server = await startInteropServer(kind, { root, user: INTEROP_USER, password: INTEROP_PASSWORD });
      await s3.createBucket(bucket);
    });
    afterAll(() => server?.stop());

    it.each(["empty.bin", "one-mib.bin", "sixty-four-mib.bin"])("copies %s byte-exact", async (file) => {
      const data = files[file] as Buffer;

      const run = await runInProcess(
        [urlOf(server, file), `s3://${bucket}/copies/`, "--progress", "none"],
        env(),
      );

      expect(run.stderr).toBe("");
      expect(run.exitCode).toBe(0);
      expect(run.result).toMatchObject({ bytes: data.length, sha256: sha256(data), ftpReply: { code: 226 } });
      expect(sha256(await readObject(s3.client(), bucket, `copies/${file}`))).toBe(sha256(data));
    });

    it.runIf(kind === "proftpd")(
      "has the server vouch for the bytes with its SHA-256 (mod_digest's HASH)",
      async () => {
        const data = files["sixty-four-mib.bin"] as Buffer;

        const run = await runInProcess(
          [
            urlOf(server, "sixty-four-mib.bin"),
            `s3://${bucket}/vouched/`,
            "--progress",
            "none",
            "--server-digest",
            "require",
          ],
          env(),
        );

        expect(run.stderr).toBe("");
        expect(run.exitCode).toBe(0);
        expect(run.result).toMatchObject({
          sha256: sha256(data),
          sourceDigest: { algorithm: "sha-256", value: sha256(data) },
          crc64nvme: expect.stringMatching(/^[A-Za-z0-9+/]{11}=$/),
        });
      },
    );

    it("reports a missing file as the server's 550 and stores nothing", async () => {
      const run = await runInProcess([urlOf(server, "missing.bin"), `s3://${bucket}/missing.bin`], env());

      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/^ftp2s3: FTP_REPLY: RETR .*\/missing\.bin failed: 550 /m);
      expect(await objectExists(s3.client(), bucket, "missing.bin")).toBe(false);
    });

    it("reads every line of its listings: a directory with a space, an empty directory", async () => {
      const source = await connectFtpSource({
        host: "127.0.0.1",
        port: server.port,
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
        secure: false,
        timeoutMs: 10_000,
      });
      try {
        const summary = async (dir: string) =>
          (await source.list(normaliseRemotePath(dir))).map((e) => [e.name, e.kind, e.size]).sort();

        expect(await summary("/tree")).toEqual([
          ["dir with space", "directory", null],
          ["empty dir", "directory", null],
          ["top.csv", "file", 3000],
        ]);
        expect(await summary("/tree/dir with space")).toEqual([
          ["plain.csv", "file", 2000],
          ["ünïcødé #1.csv", "file", 1000],
        ]);
        expect(await summary("/tree/empty dir")).toEqual([]);
      } finally {
        source.close();
      }
    });

    it("mirrors a tree with spaces and non-ASCII names to the same keys", async () => {
      const source = () =>
        connectFtpSource({
          host: "127.0.0.1",
          port: server.port,
          user: INTEROP_USER,
          password: INTEROP_PASSWORD,
          secure: false,
          timeoutMs: 10_000,
        });
      const sink = createS3Sink(createS3Client({}, s3.env));

      const summary = await runMirror(
        source,
        sink,
        bucket,
        {
          remoteDir: normaliseRemotePath("/tree"),
          keyPrefix: "mirror/",
          include: [],
          exclude: [],
          recursive: true,
          deleteExtraneous: false,
          dryRun: false,
        },
        { copy: { tagWithSha256: true }, concurrency: 2 },
      );

      expect(summary).toMatchObject({ copied: 3, failed: [] });
      for (const name of ["dir with space/ünïcødé #1.csv", "dir with space/plain.csv", "top.csv"]) {
        const stored = await readObject(s3.client(), bucket, `mirror/${name}`);
        expect(sha256(stored)).toBe(sha256(files[`tree/${name}`] as Buffer));
      }
    });
  });
}

for (const kind of interopServerKinds) {
  describe.skipIf(skipInterop(kind))(`ftp2s3 mirror against ${kind}`, () => {
    let server: InteropServer;
    let tree: string;
    const bucket = `mirror-${kind}`;
    const mirror = (...options: string[]) =>
      runInProcess(
        [
          "mirror",
          `ftp://${INTEROP_USER}@127.0.0.1:${server.port}/`,
          `s3://${bucket}/m/`,
          "--recursive",
          "--progress",
          "none",
          ...options,
        ],
        { ...s3.env, FTP_PASSWORD: INTEROP_PASSWORD },
      );

    beforeAll(async () => {
      // A tree of its own, so that changing a file here does not disturb the copies above.
      tree = await reachableTempDir("ftp2s3-interop-mirror-");
      for (const name of ["a.csv", "b.csv", "dir with space/ünïcødé.csv", "skip/x.tmp"]) {
        await writeServedFile(tree, name, randomFile(500));
      }
      server = await startInteropServer(kind, {
        root: tree,
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
      });
      await s3.createBucket(bucket);
    });
    afterAll(async () => {
      await server?.stop();
      await rm(tree, { recursive: true, force: true });
    });

    it("copies everything, then nothing, then only the file that changed and the one that appeared", async () => {
      const first = await mirror("--exclude", "**/*.tmp");
      const second = await mirror("--exclude", "**/*.tmp");
      await writeServedFile(tree, "a.csv", randomFile(501));
      await writeServedFile(tree, "c.csv", randomFile(10));
      const third = await mirror("--exclude", "**/*.tmp");

      expect(first.result).toMatchObject({ copied: 3, excluded: 1, failed: [] });
      expect(second.result).toMatchObject({ copied: 0, unchanged: 3, failed: [] });
      expect(third.result).toMatchObject({ copied: 2, unchanged: 2, failed: [] });
      expect(await objectExists(s3.client(), bucket, "m/dir with space/ünïcødé.csv")).toBe(true);
      expect(await objectExists(s3.client(), bucket, "m/skip/x.tmp")).toBe(false);
    });
  });
}

describe.skipIf(skipInterop("vsftpd"))("ftp2s3 over FTPS (vsftpd)", () => {
  let certs: TestCertificates;
  let explicit: InteropServer;
  let implicit: InteropServer;
  const bucket = "interop-ftps";
  const data = () => files["one-mib.bin"] as Buffer;

  beforeAll(async () => {
    certs = await makeTestCertificates();
    const tls = { certFile: certs.right.certFile, keyFile: certs.right.keyFile };
    explicit = await startInteropServer("vsftpd", {
      root,
      user: INTEROP_USER,
      password: INTEROP_PASSWORD,
      tls,
    });
    implicit = await startInteropServer("vsftpd", {
      root,
      user: INTEROP_USER,
      password: INTEROP_PASSWORD,
      tls: { ...tls, implicit: true },
    });
    await s3.createBucket(bucket);
  });
  afterAll(async () => {
    await explicit?.stop();
    await implicit?.stop();
    await certs?.remove();
  });

  it("copies byte-exact over explicit TLS, trusting the test CA", async () => {
    const run = await runInProcess(
      [urlOf(explicit, "one-mib.bin", "ftps"), `s3://${bucket}/explicit.bin`, "--ca-file", certs.caFile],
      { ...s3.env, FTP_PASSWORD: INTEROP_PASSWORD },
    );

    expect(run.exitCode).toBe(0);
    expect(sha256(await readObject(s3.client(), bucket, "explicit.bin"))).toBe(sha256(data()));
  });

  it("copies byte-exact over implicit TLS", async () => {
    const run = await runInProcess(
      [
        urlOf(implicit, "one-mib.bin", "ftps"),
        `s3://${bucket}/implicit.bin`,
        "--implicit-tls",
        "--ca-file",
        certs.caFile,
      ],
      { ...s3.env, FTP_PASSWORD: INTEROP_PASSWORD },
    );

    expect(run.exitCode).toBe(0);
    expect(sha256(await readObject(s3.client(), bucket, "implicit.bin"))).toBe(sha256(data()));
  });

  it("refuses a certificate from a CA it was not told to trust", async () => {
    const run = await runInProcess([urlOf(explicit, "one-mib.bin", "ftps"), `s3://${bucket}/untrusted.bin`], {
      ...s3.env,
      FTP_PASSWORD: INTEROP_PASSWORD,
    });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^ftp2s3: FTP_CONNECTION: cannot connect to ftps:\/\/interop@127\.0\.0\.1:\d+: .*(certificate|UNABLE_TO_VERIFY)/m,
    );
    expect(await objectExists(s3.client(), bucket, "untrusted.bin")).toBe(false);
  });
});
