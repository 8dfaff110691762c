/**
 * What the source's stat asks each real server, and that it reads the same answer either way: one MLST
 * where the server announces it (proftpd, pure-ftpd, pyftpdlib), SIZE and MDTM where it does not
 * (vsftpd), compared with basic-ftp's own SIZE and MDTM on a session of its own.
 */
import { rm, utimes } from "node:fs/promises";
import path from "node:path";
import { Client } from "basic-ftp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";
import { remoteFilePath } from "../../functions/core/paths.js";
import { randomFile } from "../support/objects.js";
import {
  INTEROP_PASSWORD,
  INTEROP_USER,
  reachableTempDir,
  skipInterop,
  writeServedFile,
} from "./fixtures.js";
import {
  type InteropServer,
  type InteropServerKind,
  interopServerKinds,
  startInteropServer,
} from "./servers.js";

const FILE = "dir with space/ünïcødé #1.csv";
const CONTENT = randomFile(1234);
/** A time of its own, away from the test's clock, so that a time read in the wrong zone shows. */
const MODIFIED = new Date("2025-03-04T05:06:07Z");
const STAT_COMMANDS: Record<InteropServerKind, string[]> = {
  vsftpd: [`SIZE /${FILE}`, `MDTM /${FILE}`],
  proftpd: [`MLST /${FILE}`],
  "pure-ftpd": [`MLST /${FILE}`],
  pyftpdlib: [`MLST /${FILE}`],
};

let root: string;
beforeAll(async () => {
  root = await reachableTempDir("ftp2s3-interop-stat-");
  await writeServedFile(root, FILE, CONTENT);
  await utimes(path.join(root, FILE), MODIFIED, MODIFIED);
});
afterAll(() => rm(root, { recursive: true, force: true }));

for (const kind of interopServerKinds) {
  describe.skipIf(skipInterop(kind))(`stat against ${kind}`, () => {
    let server: InteropServer;
    beforeAll(async () => {
      server = await startInteropServer(kind, { root, user: INTEROP_USER, password: INTEROP_PASSWORD });
    });
    afterAll(() => server?.stop());

    it(`asks ${STAT_COMMANDS[kind].map((c) => c.split(" ")[0]).join(" and ")}, and reads what SIZE and MDTM say`, async () => {
      // Arrange
      const log: string[] = [];
      const source = await connectFtpSource({
        host: "127.0.0.1",
        port: server.port,
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
        secure: false,
        timeoutMs: 10_000,
        log: (line) => log.push(line),
      });
      const client = new Client(10_000);
      await client.access({
        host: "127.0.0.1",
        port: server.port,
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
      });
      const loggedIn = log.length;

      // Act
      let info: Awaited<ReturnType<typeof source.stat>>;
      try {
        info = await source.stat(remoteFilePath(`/${FILE}`));
      } finally {
        source.close();
      }
      const byBasicFtp = {
        size: await client.size(`/${FILE}`),
        modifiedAt: await client.lastMod(`/${FILE}`),
      };
      client.close();

      // Assert
      const sent = log.slice(loggedIn).flatMap((line) => (line.startsWith("> ") ? [line.slice(2)] : []));
      expect(sent.filter((command) => command !== "QUIT")).toEqual(STAT_COMMANDS[kind]);
      expect(info).toEqual({ size: CONTENT.length, modifiedAt: MODIFIED });
      expect(byBasicFtp).toEqual(info);
    });
  });
}
