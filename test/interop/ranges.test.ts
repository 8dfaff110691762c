/**
 * Ranged reads against the real servers: REST start + RETR, then we close the data connection after
 * the range's last byte. Each server answers that cut its own way (see the table below); none of its
 * answers may fail the range, and its bytes must be exact. Then a file copied in four ranges at once
 * (copyRange x 4, completeRanges) into s3rver, byte-exact with one Complete.
 *
 * What the servers answered here (Debian bookworm builds, loopback; the first range is read without
 * REST; the last range ends where the file does, so the server had sent everything when we cut):
 *
 * | server           | first and middle range                          | last range                        |
 * |------------------|-------------------------------------------------|-----------------------------------|
 * | vsftpd 3.0.3     | 426 Failure writing network stream.             | 226 Transfer complete.            |
 * | proftpd 1.3.8    | 426 Transfer aborted. Data connection closed    | 226 Transfer complete             |
 * | pure-ftpd 1.0.50 | nothing (not within 40 s either)                | 226 File successfully transferred |
 * | pyftpdlib 1.5.7  | 426 Transfer aborted; 3735552 bytes transmitted. | 226 Transfer complete.           |
 * | ftp-srv (tests)  | nothing (first), 551 write ECONNRESET (middle)  | 226                               |
 *
 * The tests accept any of 226, 426, 451 and 551, or no reply at all, as the end of a cut range.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtpSource } from "../../functions/adapters/ftp-source.js";
import { createS3Client } from "../../functions/adapters/s3-client.js";
import { createS3Sink } from "../../functions/adapters/s3-sink.js";
import {
  completeRanges,
  copyRange,
  type FileSource,
  planRanges,
  type RangeReadEnd,
  type SourceVersion,
} from "../../functions/core/index.js";
import { objectKey } from "../../functions/core/locations.js";
import { remoteFilePath } from "../../functions/core/paths.js";
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

const MiB = 1024 * 1024;
const big = randomFile(4 * 5 * MiB + 4321);
const path_ = remoteFilePath("/ranges.bin");

let work: string;
let s3: EmbeddedS3Server;

beforeAll(async () => {
  work = await reachableTempDir("ftp2s3-interop-ranges-");
  await writeServedFile(path.join(work, "root"), "ranges.bin", big);
  s3 = await startS3rver(path.join(work, "s3"));
});
afterAll(async () => {
  await s3?.close();
  await rm(work, { recursive: true, force: true });
});

/** The replies a server may give to a transfer we cut on purpose, or none. */
const CUT_REPLIES = [226, 426, 451, 551];

for (const kind of interopServerKinds) {
  describe.skipIf(skipInterop(kind))(`ranged reads against ${kind}`, () => {
    let server: InteropServer;
    const bucket = `ranges-${kind}`;
    const session = (): Promise<FileSource> =>
      connectFtpSource({
        host: "127.0.0.1",
        port: server.port,
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
        secure: false,
        timeoutMs: 10_000,
      });

    beforeAll(async () => {
      server = await startInteropServer(kind, {
        root: path.join(work, "root"),
        user: INTEROP_USER,
        password: INTEROP_PASSWORD,
      });
      await s3.createBucket(bucket);
    });
    afterAll(() => server?.stop());

    it.each([
      ["first", 0, MiB],
      ["middle", 10 * MiB + 3, 11 * MiB + 5],
      ["last", big.length - MiB - 1, big.length],
    ])("the %s range: its bytes exact, the server's answer to the cut taken", async (_, start, end) => {
      const source = await session();
      const chunks: Buffer[] = [];
      let ended: RangeReadEnd | undefined;
      try {
        const into = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            chunks.push(chunk);
            callback();
          },
        });
        ended = await source.downloadRange?.(path_, into, new AbortController().signal, start, end);
      } finally {
        source.close();
      }

      const data = Buffer.concat(chunks);
      expect(data.length).toBe(end - start);
      expect(sha256(data)).toBe(sha256(big.subarray(start, end)));
      expect(ended?.cut).toBe(true);
      if (ended?.reply != null) expect(CUT_REPLIES).toContain(ended.reply.code);
      // One line a case, for the table above (npm run test:interop -- --reporter verbose shows it).
      console.info(
        `${kind} ${_} range: ${ended?.reply ? `${ended.reply.code} ${ended.reply.message}` : "no reply"}`,
      );
    });

    it("a file in four ranges read at once, then completed: byte-exact, one Complete", async () => {
      const sink = createS3Sink(createS3Client({}, s3.env));
      const target = { bucket, key: objectKey("ranges.bin") };
      const probe = await session();
      const info = await probe.stat(path_).finally(() => probe.close());
      const version: SourceVersion = {
        size: info.size as number,
        modifiedAt: info.modifiedAt?.toISOString() ?? null,
      };
      const plan = planRanges(version.size, { ranges: 4, partSize: 5 * MiB });
      const uploadId = await sink.createMultipartUpload(target, {
        metadata: {},
        ifNoneMatch: true,
        fullObjectChecksum: true,
      });
      let completes = 0;
      const counted = Object.create(sink) as typeof sink;
      counted.completeMultipartUpload = (...args) => {
        completes += 1;
        return sink.completeMultipartUpload(...args);
      };

      const done = await Promise.all(
        plan.ranges.map(async (range) => {
          const source = await session();
          try {
            const copied = await copyRange(source, counted, {
              path: path_,
              target,
              uploadId,
              range,
              version,
              signal: new AbortController().signal,
              parts: { queueSize: 2 },
            });
            return { ...range, bytes: copied.bytes, crc64nvme: copied.crc64nvme };
          } finally {
            source.close();
          }
        }),
      );
      const last = await session();
      try {
        await completeRanges(last, counted, {
          path: path_,
          target,
          uploadId,
          size: version.size,
          partSize: plan.partSize,
          ranges: done,
          version,
          ifNoneMatch: true,
        });
      } finally {
        last.close();
      }

      expect(sha256(await readObject(s3.client(), bucket, "ranges.bin"))).toBe(sha256(big));
      expect(completes).toBe(1);
    });
  });
}
