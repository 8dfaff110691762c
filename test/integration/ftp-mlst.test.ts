import { describe, expect, it } from "vitest";
import { remoteFilePath } from "../../functions/core/paths.js";
import {
  type CommandContext,
  defaultModifiedAt,
  type FakeFtpOptions,
  type FakeFtpServer,
} from "../support/fake-ftp-server.js";
import { useFakeFtpSessions } from "../support/fake-ftp-session.js";

// A file's size and time from one MLST where the server announced it, and SIZE and MDTM, as before,
// wherever MLST does not answer plainly: counted in the commands the server received.
const MLST_FEATURES = ["SIZE", "MDTM", "EPSV", "PASV", "UTF8", "MLST type*;size*;modify*;"];
const file = Buffer.from("twelve bytes");
const known = { size: file.length, modifiedAt: defaultModifiedAt };
const unknown = { size: null, modifiedAt: null };

/** An MLST reply of `facts` for a file the server has, 550 otherwise (as pyftpdlib words them). */
const mlstWith =
  (facts: (content: Buffer) => string) =>
  (ctx: CommandContext): void => {
    if (ctx.file === undefined) {
      ctx.reply("550 No such file or directory.");
      return;
    }
    ctx.reply(`250-Listing "${ctx.arg}":`);
    ctx.reply(` ${facts(ctx.file)} ${ctx.arg}`);
    ctx.reply("250 End MLST.");
  };
const plainMlst = mlstWith((content) => `modify=20240102030405;size=${content.length};type=file;`);

const sessions = useFakeFtpSessions();

async function connect(options: FakeFtpOptions, encoding?: string): Promise<FakeFtpServer> {
  const { server } = await sessions.connect(
    { files: { "/in/a.bin": file, "/in/b.bin": file }, ...options },
    encoding === undefined ? {} : { encoding },
  );
  return server;
}

/** The stat commands the server received, from the first on (login's own left out). */
const statCommands = (server: FakeFtpServer) => server.commands.filter((c) => /^(MLST|SIZE|MDTM) /.test(c));
const stat = (path: string) => sessions.current().source.stat(remoteFilePath(path));

describe("stat over FTP: one MLST where the server does it", () => {
  it("asks MLST alone where the server announced it", async () => {
    // Arrange
    const server = await connect({ features: MLST_FEATURES, handlers: { MLST: plainMlst } });

    // Act
    const info = await stat("/in/a.bin");

    // Assert
    expect(info).toEqual(known);
    expect(statCommands(server)).toEqual(["MLST /in/a.bin"]);
  });

  it("asks SIZE and MDTM where the server did not announce MLST", async () => {
    const server = await connect({ handlers: { MLST: plainMlst } });

    expect(await stat("/in/a.bin")).toEqual(known);

    expect(statCommands(server)).toEqual(["SIZE /in/a.bin", "MDTM /in/a.bin"]);
  });

  it.each([500, 501, 502, 504])(
    "takes a %i to MLST as a server without it: SIZE and MDTM, then on for the session",
    async (code) => {
      const server = await connect({
        features: MLST_FEATURES,
        handlers: { MLST: (ctx) => ctx.reply(`${code} Not here.`) },
      });

      expect(await stat("/in/a.bin")).toEqual(known);
      expect(await stat("/in/b.bin")).toEqual(known);

      expect(statCommands(server)).toEqual([
        "MLST /in/a.bin",
        "SIZE /in/a.bin",
        "MDTM /in/a.bin",
        "SIZE /in/b.bin",
        "MDTM /in/b.bin",
      ]);
    },
  );

  it("asks SIZE and MDTM after a 550, whose own 550 reports the missing file, and MLST again next", async () => {
    const server = await connect({ features: MLST_FEATURES, handlers: { MLST: plainMlst } });

    expect(await stat("/in/missing.bin")).toEqual(unknown);
    expect(await stat("/in/a.bin")).toEqual(known);

    expect(statCommands(server)).toEqual([
      "MLST /in/missing.bin",
      "SIZE /in/missing.bin",
      "MDTM /in/missing.bin",
      "MLST /in/a.bin",
    ]);
  });

  it("leaves a path that is no plain file to SIZE and MDTM, and MLST answers the next", async () => {
    const server = await connect({
      features: MLST_FEATURES,
      handlers: {
        MLST: mlstWith((content) =>
          content === file ? "modify=20240102030405;type=dir;" : `modify=20240102030405;size=3;type=file;`,
        ),
      },
      files: { "/in/a.bin": file, "/in/c.bin": Buffer.from("abc") },
    });

    expect(await stat("/in/a.bin")).toEqual(known);
    expect(await stat("/in/c.bin")).toEqual({ size: 3, modifiedAt: defaultModifiedAt });

    expect(statCommands(server)).toEqual([
      "MLST /in/a.bin",
      "SIZE /in/a.bin",
      "MDTM /in/a.bin",
      "MLST /in/c.bin",
    ]);
  });

  it("gives MLST up for the session when its reply leaves out a fact", async () => {
    const server = await connect({
      features: MLST_FEATURES,
      handlers: { MLST: mlstWith((content) => `size=${content.length};type=file;`) },
    });

    expect(await stat("/in/a.bin")).toEqual(known);
    expect(await stat("/in/b.bin")).toEqual(known);

    expect(statCommands(server)).toEqual([
      "MLST /in/a.bin",
      "SIZE /in/a.bin",
      "MDTM /in/a.bin",
      "SIZE /in/b.bin",
      "MDTM /in/b.bin",
    ]);
  });

  it("sends the server's own bytes for a name in its encoding", async () => {
    const server = await connect(
      {
        features: MLST_FEATURES,
        handlers: { MLST: plainMlst },
        encoding: "latin1",
        files: { "/in/caf\xe9.txt": file },
      },
      "latin1",
    );

    expect(await stat("/in/café.txt")).toEqual(known);

    expect(statCommands(server)).toEqual(["MLST /in/caf\xe9.txt"]);
  });
});
