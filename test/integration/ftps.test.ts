import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliOutcome, runInProcess, runProcess } from "../support/cli.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";
import { type KeyPair, makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";

// FTPS certificate verification end to end: the real command (in-process) against ftp-srv with TLS,
// copying into s3rver. Verification is always on; --ca-file only says which CA to trust.

const user = "tls-user";
// Distinctive, so that a scan of everything the command printed would find it.
const password = "pw-7f3c91-never-print-me";

type FtpsServer = EmbeddedFtpServer;

function startFtps(root: string, tls: KeyPair, mode: "explicit" | "implicit"): Promise<FtpsServer> {
  return startEmbeddedFtp({ root, user, password, tls: { ...tls, implicit: mode === "implicit" } });
}

const bucket = "ftps-bucket";

type Run = CliOutcome & { logins: number };

describe("FTPS certificate verification (ftp-srv with TLS, the ftp2s3 command, s3rver)", () => {
  let work: string;
  let certs: TestCertificates;
  let s3: EmbeddedS3Server;
  let servers: Record<"right" | "wrongName" | "selfSigned" | "implicit" | "implicitSelfSigned", FtpsServer>;
  const data = randomFile(1024 * 1024);
  /** Everything each run printed, for the password scan. */
  const printed: string[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-ftps-"));
    const root = join(work, "ftp");
    await mkdir(root);
    await writeFile(join(root, "file.bin"), data);
    certs = await makeTestCertificates();
    s3 = await startS3rver(join(work, "s3"));
    await s3.createBucket(bucket); // s3rver wants 3 to 63 characters
    servers = {
      right: await startFtps(root, certs.right, "explicit"),
      wrongName: await startFtps(root, certs.wrongName, "explicit"),
      selfSigned: await startFtps(root, certs.selfSigned, "explicit"),
      implicit: await startFtps(root, certs.right, "implicit"),
      implicitSelfSigned: await startFtps(root, certs.selfSigned, "implicit"),
    };
  });
  afterAll(async () => {
    await Promise.all(Object.values(servers ?? {}).map((server) => server.close()));
    await s3?.close();
    await certs?.remove();
    await rm(work, { recursive: true, force: true });
  });

  /** Runs the command; `logins` counts the logins the server was asked for during the run. */
  async function copy(server: FtpsServer, key: string, ...options: string[]): Promise<Run> {
    const loginsBefore = server.logins;
    const run = await runInProcess(
      [
        `ftps://${user}@127.0.0.1:${server.port}/file.bin`,
        `s3://${bucket}/${key}`,
        "--progress",
        "none",
      ].concat(options),
      { ...s3.env, FTP_PASSWORD: password },
    );
    printed.push(run.stdout, run.stderr);
    return { ...run, logins: server.logins - loginsBefore };
  }

  async function expectCopied(run: Run, key: string): Promise<void> {
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.logins).toBe(1);
    expect(run.result).toMatchObject({
      status: "copied",
      bucket,
      key,
      bytes: data.length,
      sha256: sha256(data),
      source: { url: expect.stringMatching(/^ftps:\/\/tls-user@127\.0\.0\.1:\d+\/file\.bin$/) },
    });
    expect(sha256(await readObject(s3.client(), bucket, key))).toBe(sha256(data));
  }

  /** Exit 1, nothing on stdout, one stderr line: the FTP_CONNECTION refusal, naming what failed; no object. */
  async function expectRefused(run: Run, server: FtpsServer, key: string, reason: RegExp): Promise<void> {
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.split("\n").filter((line) => line !== "");
    expect(lines).toHaveLength(1);
    const prefix = `ftp2s3: FTP_CONNECTION: cannot connect to ftps://${user}@127.0.0.1:${server.port}: `;
    expect(lines[0]?.startsWith(prefix), lines[0]).toBe(true);
    expect(lines[0]?.slice(prefix.length)).toMatch(reason);
    expect(await objectExists(s3.client(), bucket, key)).toBe(false);
    expect(run.logins).toBe(0); // refused at AUTH TLS, before USER/PASS: the password was never sent
  }

  it("copies byte-exact over explicit TLS when the certificate chains to --ca-file", async () => {
    const run = await copy(servers.right, "explicit.bin", "--ca-file", certs.caFile);
    await expectCopied(run, "explicit.bin");
  });

  it("refuses a certificate of the trusted CA issued for another name", async () => {
    const run = await copy(servers.wrongName, "wrong-name.bin", "--ca-file", certs.caFile);
    // Node lists only the certificate's IP altnames after "list:", so here the list is empty.
    await expectRefused(
      run,
      servers.wrongName,
      "wrong-name.bin",
      /^ERR_TLS_CERT_ALTNAME_INVALID: Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list:/,
    );
  });

  it("refuses a self-signed certificate even with a CA file given", async () => {
    const run = await copy(servers.selfSigned, "self-signed.bin", "--ca-file", certs.caFile);
    await expectRefused(
      run,
      servers.selfSigned,
      "self-signed.bin",
      /^DEPTH_ZERO_SELF_SIGNED_CERT: self[- ]signed certificate$/,
    );
  });

  it("refuses the test CA's certificate without --ca-file (Node's built-in CAs do not know it)", async () => {
    const run = await copy(servers.right, "no-ca-file.bin");
    await expectRefused(
      run,
      servers.right,
      "no-ca-file.bin",
      /^UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate$/,
    );
  });

  it("copies over implicit TLS (--implicit-tls): TLS from the first byte, no AUTH TLS", async () => {
    const run = await copy(
      servers.implicit,
      "implicit.bin",
      "--ca-file",
      certs.caFile,
      "--implicit-tls",
      "--verbose",
    );
    await expectCopied(run, "implicit.bin");
    expect(run.stderr).toMatch(/^Connected to 127\.0\.0\.1:\d+ \(TLSv1\.[23]\)$/m);
    expect(run.stderr).not.toMatch(/^> AUTH TLS$/m);
  });

  it("refuses a self-signed certificate over implicit TLS too", async () => {
    const run = await copy(
      servers.implicitSelfSigned,
      "implicit-self-signed.bin",
      "--ca-file",
      certs.caFile,
      "--implicit-tls",
    );
    // basic-ftp reports a failed implicit handshake as an error of the control socket, and says so.
    await expectRefused(
      run,
      servers.implicitSelfSigned,
      "implicit-self-signed.bin",
      /^DEPTH_ZERO_SELF_SIGNED_CERT: self[- ]signed certificate \(control socket\)$/,
    );
  });

  it.each(["explicit", "implicit"] as const)(
    "keeps verifying over %s TLS even with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment",
    async (mode) => {
      const server = mode === "explicit" ? servers.selfSigned : servers.implicitSelfSigned;
      const key = `env-off-${mode}.bin`;

      // A child process: the variable is read by Node's TLS from the real environment.
      const run = await runProcess(
        [
          `ftps://${user}@127.0.0.1:${server.port}/file.bin`,
          `s3://${bucket}/${key}`,
          ...(mode === "implicit" ? ["--implicit-tls"] : []),
        ],
        { ...s3.env, FTP_PASSWORD: password, NODE_TLS_REJECT_UNAUTHORIZED: "0" },
      );

      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(
        /^ftp2s3: FTP_CONNECTION: cannot connect to ftps:.*DEPTH_ZERO_SELF_SIGNED_CERT/m,
      );
      expect(await objectExists(s3.client(), bucket, key)).toBe(false);
    },
  );

  it("never prints the password, even with --verbose; the data connection is TLS too (PROT P)", async () => {
    const good = await copy(servers.right, "verbose.bin", "--ca-file", certs.caFile, "--verbose");
    await expectCopied(good, "verbose.bin");
    const refused = await copy(
      servers.wrongName,
      "verbose-refused.bin",
      "--ca-file",
      certs.caFile,
      "--verbose",
    );
    expect(refused.exitCode).toBe(1);
    expect(refused.logins).toBe(0);
    expect(await objectExists(s3.client(), bucket, "verbose-refused.bin")).toBe(false);

    // The conversation as --verbose shows it: the upgrade, the masked PASS, PROT P accepted, a TLS data connection.
    expect(good.stderr).toMatch(/^> AUTH TLS\n< 234 /m);
    expect(good.stderr).toMatch(/^> PASS ###$/m);
    expect(good.stderr).toMatch(/^> PBSZ 0\n< 200 /m);
    expect(good.stderr).toMatch(/^> PROT P\n< 200 /m);
    expect(good.stderr).toMatch(/^Downloading from 127\.0\.0\.1:\d+ \(TLSv1\.[23]\)$/m);
    expect(refused.stderr).toMatch(/^> AUTH TLS\n< 234 /m);
    expect(refused.stderr).not.toContain("> PASS"); // refused before logging in

    // Every run of this file so far, plain and verbose, successful and refused.
    expect(printed.length).toBeGreaterThanOrEqual(4);
    for (const text of printed) expect(text).not.toContain(password);
  });
});
