/**
 * Throwaway certificates for the FTPS tests, made with the machine's `openssl` in a temp dir: a test CA,
 * a server certificate for 127.0.0.1 / localhost and one for other.example (both signed by that CA), and
 * a self-signed certificate for 127.0.0.1 that no CA vouches for. EC P-256 keys, valid for 2 days.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** PEM certificate and its unencrypted PEM private key, as text and as the files in `dir`. */
export interface KeyPair {
  cert: string;
  key: string;
  /** For servers that read them from disk (vsftpd's rsa_cert_file and rsa_private_key_file). */
  certFile: string;
  keyFile: string;
}

export interface TestCertificates {
  dir: string;
  /** The test CA's PEM file, for `--ca-file`; `ca` is its text. */
  caFile: string;
  ca: string;
  /** Signed by the test CA for IP:127.0.0.1 and DNS:localhost. */
  right: KeyPair;
  /** Signed by the test CA for DNS:localhost only: valid for the name, not for the address. */
  nameOnly: KeyPair;
  /** Signed by the test CA, but for DNS:other.example only. */
  wrongName: KeyPair;
  /** For IP:127.0.0.1, signed by its own key: no CA vouches for it. */
  selfSigned: KeyPair;
  remove(): Promise<void>;
}

const validity = "-days 2";
const newEcKey = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

/** Runs `openssl` with `command` split on spaces (so no argument in it may hold one), then `extra`. */
async function openssl(dir: string, command: string, ...extra: string[]): Promise<void> {
  const args = [...command.split(" "), ...extra];
  try {
    await execFileAsync("openssl", args, { cwd: dir });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`openssl ${args.join(" ")} failed: ${stderr || (error as Error).message}`);
  }
}

/** `name`.pem and `name`.key: a server certificate with exactly these extensions, from the CA or itself. */
async function serverCertificate(
  dir: string,
  name: string,
  subjectAltName: string,
  signer: "ca" | "self",
): Promise<KeyPair> {
  const commonName = subjectAltName.replace(/^(IP|DNS):([^,]+).*$/, "$2");
  await openssl(dir, `req -new ${newEcKey} -keyout ${name}.key -out ${name}.csr -subj /CN=${commonName}`);
  const extensions = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth",
    `subjectAltName=${subjectAltName}`,
  ];
  await writeFile(path.join(dir, `${name}.ext`), `${extensions.join("\n")}\n`);
  // A random serial each: the certificates are made in parallel, so no shared serial file.
  const signWith = signer === "ca" ? "-CA ca.pem -CAkey ca.key" : `-signkey ${name}.key`;
  const serial = `0x${randomBytes(8).toString("hex")}`;
  await openssl(
    dir,
    `x509 -req -in ${name}.csr ${signWith} -set_serial ${serial} ${validity} -extfile ${name}.ext -out ${name}.pem`,
  );
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  return { cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8"), certFile, keyFile };
}

/** Makes the CA and the three server certificates in a new temp dir. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ftp2s3-tls-"));
  try {
    // Node 20's OpenSSL 3 refuses to chain to a CA without keyUsage keyCertSign.
    await openssl(
      dir,
      `req -x509 ${newEcKey} -keyout ca.key -out ca.pem ${validity} -subj /CN=ftp2s3-test-CA`,
      ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    );
    const [right, nameOnly, wrongName, selfSigned] = await Promise.all([
      serverCertificate(dir, "right", "IP:127.0.0.1,DNS:localhost", "ca"),
      serverCertificate(dir, "name-only", "DNS:localhost", "ca"),
      serverCertificate(dir, "wrong-name", "DNS:other.example", "ca"),
      serverCertificate(dir, "self-signed", "IP:127.0.0.1", "self"),
    ]);
    const caFile = path.join(dir, "ca.pem");
    const ca = await readFile(caFile, "utf8");
    const remove = () => rm(dir, { recursive: true, force: true });
    return { dir, caFile, ca, right, nameOnly, wrongName, selfSigned, remove };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
