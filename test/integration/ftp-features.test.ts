import { describe, expect, it } from "vitest";
import type { FileSource } from "../../functions/core/ports.js";
import type { FakeFtpServer } from "../support/fake-ftp-server.js";
import { useFakeFtpSessions } from "../support/fake-ftp-session.js";

// The login's FEAT answers every later question about the session's features: REST STREAM (a
// ranged fan-out needs it) and the digests, without a second FEAT.
const BASICS = ["SIZE", "MDTM", "EPSV", "PASV", "UTF8"];

const sessions = useFakeFtpSessions();

async function connect(features: string[]): Promise<{ server: FakeFtpServer; session: FileSource }> {
  const { server, source } = await sessions.connect({ features });
  return { server, session: source };
}

describe("the session's features, from the login's FEAT", () => {
  it("REST STREAM announced: true, and FEAT is sent once for it and the digests", async () => {
    const { server, session } = await connect([...BASICS, "REST STREAM", "XMD5"]);

    expect(await session.announcesRestStream?.()).toBe(true);
    expect(await session.digestAlgorithms?.()).toEqual(["md5"]);
    expect(server.commands.filter((c) => c === "FEAT")).toHaveLength(1);
  });

  it("no REST line, or REST without STREAM: false", async () => {
    const plain = await connect(BASICS);
    expect(await plain.session.announcesRestStream?.()).toBe(false);
    await sessions.close();

    const other = await connect([...BASICS, "REST"]);
    expect(await other.session.announcesRestStream?.()).toBe(false);
  });

  it("a server with no features at all: nothing announced", async () => {
    const { session } = await connect([]);
    expect(await session.announcesRestStream?.()).toBe(false);
  });
});
