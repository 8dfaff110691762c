import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtpSource, type FtpSourceOptions } from "../../functions/adapters/ftp-source.js";
import { remoteFilePath } from "../../functions/core/index.js";
import { type EmbeddedFtpServer, startEmbeddedFtp } from "../support/embedded-ftp.js";
import {
  KEEPALIVE_TIMER,
  type KernelTcpTimer,
  NO_TIMER,
  RETRANSMIT_TIMER,
  timerOfConnectionTo,
} from "../support/kernel-tcp.js";
import { randomFile, sha256 } from "../support/objects.js";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";

// The control connection is silent while a file downloads; what keeps a NAT gateway's entry for it
// is the kernel's keepalive timer. These tests read that timer from /proc/net/tcp in the middle of a
// transfer, for the client's end of the control connection: the kernel's state, not our variable.

const file = randomFile(8 * 1024 * 1024);
const mode = { plain: false, explicit: "explicit", implicit: "implicit" } as const;

let work: string;
let certs: TestCertificates;
const servers = {} as Record<keyof typeof mode, EmbeddedFtpServer>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ftp2s3-keepalive-"));
  await writeFile(join(work, "big.bin"), file);
  certs = await makeTestCertificates();
  servers.plain = await startEmbeddedFtp({ root: work });
  servers.explicit = await startEmbeddedFtp({ root: work, tls: certs.right });
  servers.implicit = await startEmbeddedFtp({ root: work, tls: { ...certs.right, implicit: true } });
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((server) => server.close()));
  await certs?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * Downloads big.bin into a destination that takes nothing until the kernel's timer of the control
 * connection has been read (a long transfer, held up by our side), then lets it finish.
 */
async function timerDuringDownload(
  secure: keyof typeof mode,
  keepAlive: Pick<FtpSourceOptions, "keepAliveMs">,
): Promise<{ timer: KernelTcpTimer | undefined; code: number; sha256: string }> {
  const server = servers[secure];
  const source = await connectFtpSource({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    secure: mode[secure],
    ca: certs.ca,
    timeoutMs: 10_000,
    ...keepAlive,
  });
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let firstChunk: () => void = () => {};
  const transferring = new Promise<void>((resolve) => {
    firstChunk = resolve;
  });
  const chunks: Buffer[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      firstChunk();
      released.then(() => done());
    },
  });
  try {
    const downloading = source.download(
      remoteFilePath("/big.bin"),
      destination,
      new AbortController().signal,
    );
    await transferring;
    const timer = await settledTimer(server.port);
    release();
    const reply = await downloading;
    return { timer, code: reply.code, sha256: sha256(Buffer.concat(chunks)) };
  } finally {
    release();
    source.close();
  }
}

/** The timer once no retransmission is pending on the control connection (RETR's ACK came back). */
async function settledTimer(serverPort: number): Promise<KernelTcpTimer | undefined> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const timer = await timerOfConnectionTo(serverPort);
    if (timer !== undefined && timer.timer !== RETRANSMIT_TIMER) return timer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return timerOfConnectionTo(serverPort);
}

describe("TCP keepalive on the control connection (read from /proc/net/tcp during a transfer)", () => {
  for (const secure of ["plain", "explicit", "implicit"] as const) {
    it(`arms the keepalive timer with the configured idle time (${secure})`, async () => {
      // Act: an idle time no default has, so only our setting can explain it.
      const { timer, code, sha256: digest } = await timerDuringDownload(secure, { keepAliveMs: 45_000 });

      // Assert: the next probe is due within 45 s of the moment the session was set up, seconds ago.
      expect(timer?.timer).toBe(KEEPALIVE_TIMER);
      expect(timer?.seconds).toBeGreaterThan(40);
      expect(timer?.seconds).toBeLessThanOrEqual(45);
      expect(code).toBe(226);
      expect(digest).toBe(sha256(file));
    });
  }

  it("probes after 60 s by default, across the TLS upgrade (AUTH TLS replaces the socket)", async () => {
    const { timer, code } = await timerDuringDownload("explicit", {});

    expect(timer?.timer).toBe(KEEPALIVE_TIMER);
    expect(timer?.seconds).toBeGreaterThan(55);
    expect(timer?.seconds).toBeLessThanOrEqual(60);
    expect(code).toBe(226);
  });

  for (const secure of ["plain", "implicit"] as const) {
    // basic-ftp turns keepalive on by itself: with the system's idle time, or libuv's 60 s for implicit TLS.
    it(`turns keepalive off with 0 (${secure})`, async () => {
      const { timer, code } = await timerDuringDownload(secure, { keepAliveMs: 0 });

      expect(timer).toEqual({ timer: NO_TIMER, seconds: 0 });
      expect(code).toBe(226);
    });
  }
});
