import { describe, expect, it } from "vitest";
import { FtpBusyError, FtpConnectionError } from "../../functions/core/errors.js";
import { type MirrorOptions, type PlannedFile, runMirror } from "../../functions/core/mirror.js";
import { normaliseRemotePath } from "../../functions/core/paths.js";
import type { FileSource, RemoteEntry } from "../../functions/core/ports.js";
import { MemoryS3 } from "../support/memory-s3.js";
import { readOnlyChanges } from "../support/memory-source.js";

const mtime = new Date("2026-01-01T00:00:00Z");
const names = ["a", "b", "c", "d", "e", "f", "g", "h"];
const entry = (name: string): RemoteEntry => ({
  name,
  kind: "file",
  size: 3,
  modifiedAt: mtime,
  modifiedRaw: null,
});

/**
 * A server holding /data/<name> = "abc" that allows `limit` sessions at once and refuses the next
 * one as busy; `refuseAll` refuses every session after the first (the listing's).
 */
function busyServer(limit: number, refuseAll = false) {
  let open = 0;
  let opened = 0;
  const server = { peak: 0, refused: 0, retr: 0 };
  const connect = async (): Promise<FileSource> => {
    opened += 1;
    if (open >= limit || (refuseAll && opened > 1)) {
      server.refused += 1;
      throw new FtpBusyError("ftp://h: is at its session limit: 421 Too many connections");
    }
    open += 1;
    server.peak = Math.max(server.peak, open);
    let closed = false;
    return {
      ...readOnlyChanges,
      urlOf: (p) => `ftp://h${p}`,
      list: async () => names.map(entry),
      stat: async () => ({ size: 3, modifiedAt: mtime }),
      download: async (_path, destination) => {
        server.retr += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        destination.end(Buffer.from("abc"));
        return { code: 226, message: "Transfer complete" };
      },
      close: () => {
        if (!closed) open -= 1;
        closed = true;
      },
    };
  };
  return { server, connect };
}

const request = {
  remoteDir: normaliseRemotePath("/data"),
  keyPrefix: "in/",
  include: [],
  exclude: [],
  recursive: false,
  deleteExtraneous: false,
  dryRun: false,
};

function options(extra: Partial<MirrorOptions> = {}): MirrorOptions & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    copy: { tagWithSha256: false, onWarning: (message) => warnings.push(message) },
    concurrency: 4,
    busyRetry: { tries: 3, firstDelayMs: 1 },
    ...extra,
  };
}

describe("a mirror meeting a server at its session limit (FTP_BUSY)", () => {
  it("shrinks its pool to what the server allows and copies every file", async () => {
    // Arrange
    const { server, connect } = busyServer(2);
    const s3 = new MemoryS3();
    const opts = options();

    // Act
    const summary = await runMirror(connect, s3, "b", request, opts);

    // Assert
    expect(summary).toMatchObject({ copied: names.length, failed: [] });
    expect(summary.poolShrunk).toMatchObject({ from: 4, to: 2 });
    expect(summary.poolShrunk?.reason).toMatch(/421 Too many connections/);
    expect(server.peak).toBe(2);
    expect(server.retr).toBe(names.length);
    expect(opts.warnings).toEqual([
      "the FTP server refused sessions as busy: the mirror went on with 2 of 4",
    ]);
    for (const name of names) expect(s3.objects.get(`in/${name}`)?.bytes.toString()).toBe("abc");
  });

  it("fails a file refused more often than the bound, and queues it where there is a queue", async () => {
    // Arrange: the listing's session breaks after its first file, and no other session is let in.
    const breakingServer = () => {
      const { connect } = busyServer(1, true);
      let first = true;
      return async () => {
        const source = await connect();
        if (!first) return source;
        first = false;
        let served = 0;
        return {
          ...source,
          download: async (...args: Parameters<FileSource["download"]>) => {
            served += 1;
            if (served > 1)
              throw new FtpConnectionError("ftp://h: the control connection failed: ECONNRESET");
            return source.download(...args);
          },
        };
      };
    };
    const queued: PlannedFile[] = [];

    // Act
    const alone = await runMirror(
      breakingServer(),
      new MemoryS3(),
      "b",
      request,
      options({ concurrency: 1 }),
    );
    const withQueue = await runMirror(
      breakingServer(),
      new MemoryS3(),
      "b",
      request,
      options({
        concurrency: 1,
        enqueue: async (file) => {
          queued.push(file);
        },
        inlineBudget: { files: 100, bytes: 1e9 },
        outOfTime: () => false,
      }),
    );

    // Assert: every later file met the full server three times (1, 2, 4 ms apart) and was given up.
    expect(alone.copied).toBe(1);
    expect(alone.failed.map((f) => f.code)).toEqual([
      "FTP_CONNECTION",
      ...names.slice(2).map(() => "FTP_BUSY"),
    ]);
    expect(withQueue.copied).toBe(1);
    expect(queued.map((f) => f.relativePath)).toEqual(names.slice(2));
  });

  it("pauses and tries again when the server refuses the first session (the listing's) as busy", async () => {
    // Arrange: a server that refuses the first two sessions, then lets them in.
    const { server, connect } = busyServer(4);
    let refusalsLeft = 2;
    const refusingAtFirst = async () => {
      if (refusalsLeft > 0) {
        refusalsLeft -= 1;
        throw new FtpBusyError("ftp://h: is at its session limit: 421 Too many connections");
      }
      return connect();
    };
    const s3 = new MemoryS3();
    const opts = options({ concurrency: 1 });

    // Act
    const summary = await runMirror(refusingAtFirst, s3, "b", request, opts);

    // Assert
    expect(summary).toMatchObject({ copied: names.length, failed: [] });
    expect(server.retr).toBe(names.length);
    expect(opts.warnings).toEqual([
      "the FTP server refused the mirror's first session as busy; trying again in 0.001 s",
      "the FTP server refused the mirror's first session as busy; trying again in 0.002 s",
    ]);
  });

  it("fails the run with FTP_BUSY once the first session was refused more often than the bound", async () => {
    // Arrange
    let attempts = 0;
    const alwaysBusy = async (): Promise<FileSource> => {
      attempts += 1;
      throw new FtpBusyError("ftp://h: is at its session limit: 421 Too many connections");
    };

    // Act
    const failure = await runMirror(alwaysBusy, new MemoryS3(), "b", request, options()).catch(
      (error: unknown) => error,
    );

    // Assert: the first try and three more (tries: 3).
    expect(failure).toBeInstanceOf(FtpBusyError);
    expect(attempts).toBe(4);
  });
});
