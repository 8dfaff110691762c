/**
 * The mirror's after-copy check of many small files against the real servers: where the server lists
 * with MLSD (proftpd, pure-ftpd, pyftpdlib) one re-listing checks a session's batch, and no MLST (or
 * SIZE and MDTM) is sent per file; vsftpd lists with LIST only and keeps one stat per file. The
 * objects are byte-exact either way. S3 is s3rver on loopback.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";
import { createS3Client } from "../../functions/adapters/s3-client.js";
import { createS3Sink } from "../../functions/adapters/s3-sink.js";
import { runMirror } from "../../functions/core/mirror.js";
import { normaliseRemotePath } from "../../functions/core/paths.js";
import { type EmbeddedS3Server, startS3rver } from "../support/embedded-s3.js";
import { randomFile, readObject, sha256 } from "../support/objects.js";
import {
  INTEROP_PASSWORD,
  INTEROP_USER,
  reachableTempDir,
  skipInterop,
  writeServedFile,
} from "./fixtures.js";
import { type InteropServer, interopServerKinds, startInteropServer } from "./servers.js";

const FILES = 40;
const SESSIONS = 2;
const names = Array.from({ length: FILES }, (_, n) => `f${String(n).padStart(2, "0")}.txt`);
const files = new Map(names.map((name) => [name, randomFile(1000 + names.indexOf(name))]));

let work: string;
let s3: EmbeddedS3Server;

beforeAll(async () => {
  work = await reachableTempDir("ftp2s3-interop-recheck-");
  for (const [name, data] of files) await writeServedFile(path.join(work, "root"), `small/${name}`, data);
  s3 = await startS3rver(path.join(work, "s3"));
});
afterAll(async () => {
  await s3?.close();
  await rm(work, { recursive: true, force: true });
});

for (const kind of interopServerKinds) {
  describe.skipIf(skipInterop(kind))(`a mirror of ${FILES} small files against ${kind}`, () => {
    let server: InteropServer;
    const bucket = `recheck-${kind}`;

    beforeAll(async () => {
      server = await startInteropServer(kind, {
        root: path.join(work, "root"),
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
      });
      await s3.createBucket(bucket);
    });
    afterAll(() => server?.stop());

    it(
      kind === "vsftpd"
        ? "keeps one stat per file (LIST only)"
        : "checks them by re-listing, with no stat per file",
      async () => {
        // Arrange: every command the sessions send, by verb
        const sent: string[] = [];
        const connect = () =>
          connectFtpSource({
            host: "127.0.0.1",
            port: server.port,
            user: INTEROP_USER,
            password: INTEROP_PASSWORD,
            secure: false,
            timeoutMs: 10_000,
            log: (line) => {
              if (line.startsWith("> ")) sent.push(line.slice(2).split(" ")[0] as string);
            },
          });
        const sink = createS3Sink(createS3Client({}, s3.env));
        const count = (verb: string) => sent.filter((v) => v === verb).length;

        // Act
        const summary = await runMirror(
          connect,
          sink,
          bucket,
          {
            remoteDir: normaliseRemotePath("/small"),
            keyPrefix: "m/",
            include: [],
            exclude: [],
            recursive: false,
            deleteExtraneous: false,
            dryRun: false,
          },
          { copy: { tagWithSha256: false }, concurrency: SESSIONS },
        );

        // Assert
        expect(summary).toMatchObject({ copied: FILES, failed: [], changed: [] });
        for (const [name, data] of files) {
          expect(sha256(await readObject(s3.client(), bucket, `m/${name}`)), name).toBe(sha256(data));
        }
        expect(count("RETR")).toBe(FILES);
        if (kind === "vsftpd") {
          // LIST gives no time: SIZE and MDTM before each RETR, and again after it.
          expect(count("SIZE")).toBe(2 * FILES);
          expect(count("MLSD")).toBe(0);
        } else {
          // The planning's listing, then one per session (each holds half the files, fewer than a batch).
          expect(count("MLSD")).toBe(1 + SESSIONS);
          for (const verb of ["MLST", "SIZE", "MDTM"]) expect(count(verb), verb).toBe(0);
        }
      },
    );
  });
}
