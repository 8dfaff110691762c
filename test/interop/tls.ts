/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1 / localhost, made with the
 * machine's `openssl`, for the FTPS interop tests.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface TestCertificates {
  dir: string;
  /** PEM of the test CA, which clients must trust (`secureOptions: { ca }`). */
  caFile: string;
  ca: string;
  /** Server certificate (signed by the test CA) and its unencrypted private key, PEM. */
  certFile: string;
  keyFile: string;
  remove(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync("openssl", args, { cwd });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`openssl ${args.join(" ")} failed: ${stderr ?? (error as Error).message}`);
  }
}

/** Makes the CA and the server certificate in a new temp dir (or in `dir`). */
export async function makeTestCertificates(dir?: string): Promise<TestCertificates> {
  const target = dir ?? (await mkdtemp(path.join(os.tmpdir(), "ftp2s3-interop-tls-")));
  const days = "2";
  await openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      days,
      "-subj",
      "/CN=ftp2s3 interop test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    target,
  );
  await openssl(
    [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=127.0.0.1",
    ],
    target,
  );
  await writeFile(
    path.join(target, "server.ext"),
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "",
    ].join("\n"),
  );
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      days,
      "-extfile",
      "server.ext",
    ],
    target,
  );
  const caFile = path.join(target, "ca.pem");
  return {
    dir: target,
    caFile,
    ca: await readFile(caFile, "utf8"),
    certFile: path.join(target, "server.pem"),
    keyFile: path.join(target, "server.key"),
    remove: () => rm(target, { recursive: true, force: true }),
  };
}
