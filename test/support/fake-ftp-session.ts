import { afterEach } from "vitest";
import { connectFtpSource, type FtpSourceOptions } from "../../functions/adapters/ftp-source.js";
import type { FileSource } from "../../functions/core/ports.js";
import { type FakeFtpOptions, type FakeFtpServer, startFakeFtpServer } from "./fake-ftp-server.js";

/** What the adapter tests of one FTP session share: a fake server, a source logged in to it. */
export interface FakeFtpSessions {
  /** Starts a server with `server`'s options and logs in as "u" (5 s timeout unless `source` says otherwise). */
  connect(server: FakeFtpOptions, source?: Partial<FtpSourceOptions>): Promise<FakeFtpSession>;
  /** The session of the last connect(). */
  current(): FakeFtpSession;
  /** Closes the source and stops the server; also done after each test. */
  close(): Promise<void>;
}

export interface FakeFtpSession {
  server: FakeFtpServer;
  source: FileSource;
}

/** Call at the top of a test file: every test's session is closed after it. */
export function useFakeFtpSessions(): FakeFtpSessions {
  let server: FakeFtpServer | undefined;
  let source: FileSource | undefined;
  const close = async () => {
    source?.close();
    source = undefined;
    await server?.close();
    server = undefined;
  };
  afterEach(close);
  return {
    async connect(serverOptions, sourceOptions = {}) {
      server = await startFakeFtpServer(serverOptions);
      source = await connectFtpSource({
        host: server.host,
        port: server.port,
        user: "u",
        password: "pw",
        secure: false,
        timeoutMs: 5_000,
        ...sourceOptions,
      });
      return { server, source };
    },
    current() {
      if (server === undefined || source === undefined)
        throw new Error("no fake FTP session: connect() first");
      return { server, source };
    },
    close,
  };
}
