import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import { bucket, callApi, type LambdaRig, secretArn, startLambdaRig } from "../support/lambda-rig.js";
import { objectExists, randomFile, readObject, sha256 } from "../support/objects.js";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";

// The Lambda connects to the address it resolved and checked (pinned against DNS rebinding); TLS
// must still verify the certificate against the configured host name, on the control connection
// and on every data connection.
describe("the handler over FTPS with a pinned address", () => {
  let work: string;
  let certs: TestCertificates;
  let right: EmbeddedFtpServer;
  let wrongName: EmbeddedFtpServer;
  let rig: LambdaRig;
  const data = randomFile(300_000);
  const password = "partner-secret-pw"; // what the rig's mocked Secrets Manager answers

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "ftp2s3-handler-tls-"));
    certs = await makeTestCertificates();
    // A certificate for the name only: it verifies only if TLS checks the name, not the pinned address.
    right = await startEmbeddedFtp({ root: join(work, "ftp"), user: "tls", password, tls: certs.nameOnly });
    wrongName = await startEmbeddedFtp({
      root: join(work, "ftp"),
      user: "tls",
      password,
      tls: certs.wrongName,
    });
    await writeFile(join(work, "ftp", "report.bin"), data);
    const connection = (port: number) => ({
      host: "localhost", // the certificate names localhost; the session connects to its address
      port,
      user: "tls",
      secure: "explicit",
      passwordSecretArn: secretArn,
      caPem: certs.ca,
      roots: ["/"],
      allowPrivateAddresses: true,
    });
    rig = await startLambdaRig({
      connections: { "tls-right": connection(right.port), "tls-wrong-name": connection(wrongName.port) },
    });
  });
  afterAll(async () => {
    await rig?.close();
    await right?.close();
    await wrongName?.close();
    await certs?.remove();
    await rm(work, { recursive: true, force: true });
  });

  it("copies when the certificate names the configured host (and not the address connected to)", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "tls-right",
      path: "/report.bin",
    });

    expect(response.statusCode).toBe(200);
    expect(sha256(await readObject(rig.s3, bucket, "landing/tls-right/report.bin"))).toBe(sha256(data));
  });

  it("refuses a certificate of the trusted CA for another name, before logging in (502)", async () => {
    const response = await callApi(rig, "POST", "/transfers", {
      connection: "tls-wrong-name",
      path: "/report.bin",
    });

    expect(response.statusCode).toBe(502);
    expect(response.body.error).toMatchObject({
      code: "FTP_CONNECTION",
      message: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID.*localhost/),
    });
    expect(wrongName.logins).toBe(0);
    expect(await objectExists(rig.s3, bucket, "landing/tls-wrong-name/report.bin")).toBe(false);
  });
});
