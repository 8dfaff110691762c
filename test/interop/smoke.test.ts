/**
 * Smoke test of the interop harness against each real server: login, SIZE, byte-exact downloads of
 * 0 B / 1 MiB / 64 MiB files, 550 for a missing file, a path with spaces and non-ASCII characters, and
 * directory listings, with basic-ftp's Client. A server that is not set up is skipped with the reason
 * ("run scripts/interop-setup.sh first"); with FTP2S3_INTEROP_REQUIRE=1 (CI) it fails instead.
 */
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { type AccessOptions, Client, FTPError } from "basic-ftp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";
import { INTEROP_PASSWORD, INTEROP_USER, interopRequired, skipInterop } from "./fixtures.js";
import {
  type InteropServer,
  type InteropServerKind,
  interopServerKinds,
  interopServerVersions,
  interopUnavailableReason,
  startInteropServer,
} from "./servers.js";

const MiB = 1024 * 1024;
const UNICODE_DIR = "dir with space";
const UNICODE_FILE = `${UNICODE_DIR}/ünïcødé.bin`;
const FILES: Record<string, number> = {
  "empty.bin": 0,
  "one-mib.bin": MiB,
  "sixty-four-mib.bin": 64 * MiB,
  [UNICODE_FILE]: 100_000,
};
/** The listing command basic-ftp settles on: MLSD where the server announces MLST in FEAT. */
const LIST_COMMAND: Record<InteropServerKind, string> = {
  vsftpd: "LIST -a",
  proftpd: "MLSD",
  "pure-ftpd": "MLSD",
  pyftpdlib: "MLSD",
};

for (const kind of interopServerKinds) {
  const reason = interopUnavailableReason(kind);
  if (reason && !interopRequired) console.warn(`interop: skipping ${kind}: ${reason}`);
}

let fixtureRoot = "";
const digests = new Map<string, string>();

async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  const out = createWriteStream(file, { mode: 0o644 });
  for (let written = 0; written < size; ) {
    const chunk = randomBytes(Math.min(MiB, size - written));
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, "drain");
    written += chunk.length;
  }
  out.end();
  await finished(out);
  return hash.digest("hex");
}

beforeAll(async () => {
  fixtureRoot = await mkdtemp(path.join(os.tmpdir(), "ftp2s3-interop-files-"));
  await mkdir(path.join(fixtureRoot, UNICODE_DIR), { mode: 0o755 });
  for (const [name, size] of Object.entries(FILES)) {
    digests.set(name, await writeRandomFile(path.join(fixtureRoot, name), size));
  }
});

afterAll(async () => {
  if (fixtureRoot) await rm(fixtureRoot, { recursive: true, force: true });
});

async function connect(server: InteropServer, extra: Partial<AccessOptions> = {}): Promise<Client> {
  const client = new Client(30_000);
  await client.access({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    ...extra,
  });
  return client;
}

async function download(client: Client, remotePath: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback();
    },
  });
  await client.downloadTo(sink, remotePath);
  return { sha256: hash.digest("hex"), bytes };
}

async function ftpError(promise: Promise<unknown>): Promise<FTPError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FTPError);
  return error as FTPError;
}

/** Runs `fn` with a connected client and closes it, adding the server's logs to any failure. */
async function withClient(
  server: InteropServer,
  fn: (client: Client) => Promise<void>,
  extra?: Partial<AccessOptions>,
): Promise<void> {
  let client: Client | undefined;
  try {
    client = await connect(server, extra);
    await fn(client);
  } catch (error) {
    if (error instanceof Error) error.message += `\n${await server.logs()}`;
    throw error;
  } finally {
    client?.close();
  }
}

function suiteName(kind: InteropServerKind, reason: string | undefined, label: string = kind): string {
  const version = interopServerVersions()[kind];
  const name = version ? `${label} ${version}` : label;
  return reason && !interopRequired ? `${name} (skipped: ${reason})` : name;
}

for (const kind of interopServerKinds) {
  const reason = interopUnavailableReason(kind);

  if (reason && interopRequired) {
    describe(suiteName(kind, undefined), () => {
      it("is set up (FTP2S3_INTEROP_REQUIRE=1)", () => {
        throw new Error(reason);
      });
    });
    continue;
  }

  describe.skipIf(reason !== undefined)(suiteName(kind, reason), () => {
    let server: InteropServer;

    beforeAll(async () => {
      server = await startInteropServer(kind, {
        root: fixtureRoot,
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
      });
    });

    afterAll(async () => {
      await server?.stop();
    });

    it("logs in with the user and password and answers SIZE", async () => {
      await withClient(server, async (client) => {
        expect(await client.size("one-mib.bin")).toBe(MiB);
        expect(await client.size("empty.bin")).toBe(0);
        expect(await client.size(UNICODE_FILE)).toBe(FILES[UNICODE_FILE]);
      });
    });

    it("refuses a wrong password with 530", async () => {
      const client = new Client(30_000);
      try {
        const error = await ftpError(
          client.access({ host: server.host, port: server.port, user: INTEROP_USER, password: "wrong" }),
        );
        expect(error.code).toBe(530);
      } finally {
        client.close();
      }
    });

    it.each(["empty.bin", "one-mib.bin", "sixty-four-mib.bin"])("downloads %s byte-exact", async (name) => {
      await withClient(server, async (client) => {
        const got = await download(client, name);
        expect(got.bytes).toBe(FILES[name]);
        expect(got.sha256).toBe(digests.get(name));
      });
    });

    it("answers 550 for a missing file", async () => {
      await withClient(server, async (client) => {
        expect((await ftpError(client.size("no-such-file.bin"))).code).toBe(550);
        const retr = await download(client, "no-such-file.bin").then(
          () => new Error("downloaded a missing file"),
          (error: unknown) => error,
        );
        if (kind === "proftpd") {
          // proftpd answers the RETR with 550, but first closes its passive listener, and the data
          // connection that basic-ftp had already opened gets a reset: basic-ftp reports that instead
          // (every time on loopback here) and closes the client.
          expect(retr).toSatisfy(
            (error: unknown) =>
              (error instanceof FTPError && error.code === 550) ||
              (error as NodeJS.ErrnoException).code === "ECONNRESET",
          );
        } else {
          expect(retr).toBeInstanceOf(FTPError);
          expect((retr as FTPError).code).toBe(550);
          expect(await client.size("one-mib.bin")).toBe(MiB); // the connection stays usable
        }
      });
    });

    it("downloads a file whose path has spaces and non-ASCII characters byte-exact", async () => {
      await withClient(server, async (client) => {
        const got = await download(client, UNICODE_FILE);
        expect(got.bytes).toBe(FILES[UNICODE_FILE]);
        expect(got.sha256).toBe(digests.get(UNICODE_FILE));
      });
    });

    it(`lists directories with ${LIST_COMMAND[kind]} and the names come back intact`, async () => {
      await withClient(server, async (client) => {
        const top = await client.list("/");
        expect(client.availableListCommands).toEqual([LIST_COMMAND[kind]]);
        const names = top.map((entry) => entry.name).filter((name) => name !== "." && name !== "..");
        expect(names.sort()).toEqual(["dir with space", "empty.bin", "one-mib.bin", "sixty-four-mib.bin"]);
        expect(top.find((entry) => entry.name === "sixty-four-mib.bin")?.size).toBe(64 * MiB);
        expect(top.find((entry) => entry.name === UNICODE_DIR)?.isDirectory).toBe(true);

        const inner = (await client.list(UNICODE_DIR)).filter((e) => e.name !== "." && e.name !== "..");
        expect(inner.map((entry) => entry.name)).toEqual(["ünïcødé.bin"]);
        expect(inner[0]?.size).toBe(FILES[UNICODE_FILE]);

        await client.cd(UNICODE_DIR);
        expect(await client.pwd()).toBe(`/${UNICODE_DIR}`);
        const here = (await client.list()).filter((e) => e.name !== "." && e.name !== "..");
        expect(here.map((entry) => entry.name)).toEqual(["ünïcødé.bin"]);
      });
    });
  });
}

describe("the harness", () => {
  const available = interopServerKinds.filter((kind) => interopUnavailableReason(kind) === undefined);

  it.skipIf(available.length === 0)(
    `starts ${available.join(", ") || "the servers"} at once on distinct ports and passive ranges, and stop() ends them`,
    async () => {
      const servers = await Promise.all(
        available.map((kind) =>
          startInteropServer(kind, { root: fixtureRoot, user: INTEROP_USER, password: INTEROP_PASSWORD }),
        ),
      );
      try {
        expect(new Set(servers.map((server) => server.port)).size).toBe(servers.length);
        const ranges = servers.map((server) => server.passivePorts).sort((a, b) => a.min - b.min);
        for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.min).toBeGreaterThan(ranges[i - 1]!.max);
        await Promise.all(
          servers.map((server) =>
            withClient(server, async (client) => {
              expect(await client.size("one-mib.bin")).toBe(MiB);
              expect((await client.list()).map((entry) => entry.name)).toContain("one-mib.bin");
            }),
          ),
        );
      } finally {
        await Promise.all(servers.map((server) => server.stop()));
      }
      for (const server of servers) {
        expect(() => process.kill(-server.pid, 0), `${server.kind}'s processes after stop()`).toThrow();
      }
    },
  );

  it.skipIf(!available.includes("vsftpd"))(
    "reports a server that does not start, with its own words",
    async () => {
      const start = startInteropServer("vsftpd", {
        root: fixtureRoot,
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
        tls: { certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem" },
      });
      await expect(start).rejects.toThrow(
        /vsftpd on 127\.0\.0\.1:\d+ .*exited with code \d+ before greeting[\s\S]*500 OOPS/,
      );
    },
  );
});

// FTPS against vsftpd with a throwaway CA.
const tlsReason = interopUnavailableReason("vsftpd");
describe.skipIf(skipInterop("vsftpd"))(suiteName("vsftpd", tlsReason, "vsftpd FTPS"), () => {
  let certs: TestCertificates;
  let explicit: InteropServer;
  let implicit: InteropServer;

  beforeAll(async () => {
    certs = await makeTestCertificates();
    const tls = { certFile: certs.right.certFile, keyFile: certs.right.keyFile };
    explicit = await startInteropServer("vsftpd", {
      root: fixtureRoot,
      user: INTEROP_USER,
      password: INTEROP_PASSWORD,
      tls,
    });
    implicit = await startInteropServer("vsftpd", {
      root: fixtureRoot,
      user: INTEROP_USER,
      password: INTEROP_PASSWORD,
      tls: { ...tls, implicit: true },
    });
  });

  afterAll(async () => {
    await explicit?.stop();
    await implicit?.stop();
    await certs?.remove();
  });

  it("downloads byte-exact over explicit FTPS (AUTH TLS) when the client trusts the test CA", async () => {
    await withClient(
      explicit,
      async (client) => {
        for (const name of ["one-mib.bin", UNICODE_FILE]) {
          const got = await download(client, name);
          expect(got.sha256).toBe(digests.get(name));
        }
        const names = (await client.list(UNICODE_DIR)).map((entry) => entry.name);
        expect(names).toContain("ünïcødé.bin");
      },
      { secure: true, secureOptions: { ca: certs.ca } },
    );
  });

  it("downloads byte-exact over implicit FTPS", async () => {
    await withClient(
      implicit,
      async (client) => {
        const got = await download(client, "one-mib.bin");
        expect(got.sha256).toBe(digests.get("one-mib.bin"));
      },
      { secure: "implicit", secureOptions: { ca: certs.ca } },
    );
  });

  it("is refused by a client that does not trust the test CA", async () => {
    const client = new Client(30_000);
    try {
      await expect(
        client.access({
          host: explicit.host,
          port: explicit.port,
          user: INTEROP_USER,
          password: INTEROP_PASSWORD,
          secure: true,
        }),
      ).rejects.toThrow(/certificate/i);
    } finally {
      client.close();
    }
  });

  it("refuses a plain-text login with 530", async () => {
    const client = new Client(30_000);
    try {
      const error = await ftpError(
        client.access({
          host: explicit.host,
          port: explicit.port,
          user: INTEROP_USER,
          password: INTEROP_PASSWORD,
        }),
      );
      expect(error.code).toBe(530);
    } finally {
      client.close();
    }
  });
});
