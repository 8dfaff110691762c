import { describe, expect, it } from "vitest";
import { parseMlstReply } from "../../functions/adapters/ftp-mlst-reply.js";
import { S3_MAX_OBJECT_SIZE } from "../../functions/core/part-size.js";

const now = Date.parse("2026-12-08T00:00:00Z");
const at = new Date("2026-12-07T14:13:48Z");
/** An MLST reply with `entry` as its one entry line, as basic-ftp hands it over. */
const reply = (entry: string) => `250-Listing "/a.bin":\n${entry}\n250 End MLST.`;

// Captured from the interop servers (Debian's packages; `MLST <path>` after basic-ftp's login and its
// OPTS MLST), as basic-ftp joins the lines. vsftpd announces no MLST and answers "500 Unknown command.".
const captured = {
  proftpd: {
    file: "250-Start of list for /a file.bin\n modify=20261207141348;size=12345;type=file;unique=FE00U27E7C3;UNIX.group=0;UNIX.groupname=ftp2s3test;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=u1; /a file.bin\n250 End of list",
    empty:
      "250-Start of list for /empty.txt\n modify=20261207141348;size=0;type=file;unique=FE00U27E7C4;UNIX.group=0;UNIX.groupname=ftp2s3test;UNIX.mode=0644;UNIX.owner=0;UNIX.ownername=u1; /empty.txt\n250 End of list",
    dir: "250-Start of list for /sub\n modify=20261207141348;type=dir;unique=FE00U27E7C7;UNIX.group=0;UNIX.groupname=ftp2s3test;UNIX.mode=0755;UNIX.owner=0;UNIX.ownername=u1; /sub\n250 End of list",
  },
  "pure-ftpd": {
    file: "250-Begin\n type=file;size=12345;modify=20261207141348;UNIX.mode=0644;UNIX.uid=0;UNIX.gid=0;unique=fe00g27e7c3; /a file.bin\n250 End.",
    empty:
      "250-Begin\n type=file;size=0;modify=20261207141348;UNIX.mode=0644;UNIX.uid=0;UNIX.gid=0;unique=fe00g27e7c4; /empty.txt\n250 End.",
    dir: "250-Begin\n type=dir;sizd=4096;modify=20261207141348;UNIX.mode=0755;UNIX.uid=0;UNIX.gid=0;unique=fe00g27e7c7; /sub\n250 End.",
  },
  pyftpdlib: {
    file: '250-Listing "/a file.bin":\n modify=20261207141348;size=12345;type=file;unique=fe00g27e7c3;unix.mode=0o644; /a file.bin\n250 End MLST.',
    empty:
      '250-Listing "/empty.txt":\n modify=20261207141348;size=0;type=file;unique=fe00g27e7c4;unix.mode=0o644; /empty.txt\n250 End MLST.',
    dir: '250-Listing "/sub":\n modify=20261207141348;size=4096;type=dir;unique=fe00g27e7c7;unix.mode=0o755; /sub\n250 End MLST.',
  },
};

describe("parseMlstReply: one MLST reply answers what SIZE and MDTM answer", () => {
  describe.each(Object.entries(captured))("%s's replies", (_server, replies) => {
    it("read a file's size and modification time", () => {
      expect(parseMlstReply(replies.file, now)).toEqual({ size: 12345, modifiedAt: at });
    });

    it("read an empty file as 0 bytes", () => {
      expect(parseMlstReply(replies.empty, now)).toEqual({ size: 0, modifiedAt: at });
    });

    it("leave a directory to SIZE and MDTM, as before (they refuse it with 550)", () => {
      expect(parseMlstReply(replies.dir, now)).toEqual({ fallback: "this-path" });
    });
  });

  it("takes fact names and the type in any case, CRLF line ends, and a fraction of a second", () => {
    const text = "250-Begin\r\n Type=File;SIZE=7;Modify=20261207141348.250; /x\r\n250 End.";

    expect(parseMlstReply(text, now)).toEqual({ size: 7, modifiedAt: new Date("2026-12-07T14:13:48.250Z") });
  });

  it("reads facts up to the first space: the pathname may hold spaces, ';' and '='", () => {
    expect(parseMlstReply(reply(" type=file;size=3;modify=20261207141348;  a;b=c d.bin"), now)).toEqual({
      size: 3,
      modifiedAt: at,
    });
  });

  it.each([
    ["a link or an OS-specific type", " type=OS.unix=slink:/b;size=3;modify=20261207141348; /a"],
    ["a size that is no byte count", " type=file;size=12abc;modify=20261207141348; /a"],
    ["a negative size", " type=file;size=-1;modify=20261207141348; /a"],
    ["a size past S3's 5 TiB", ` type=file;size=${S3_MAX_OBJECT_SIZE + 1};modify=20261207141348; /a`],
    ["an empty size", " type=file;size=;modify=20261207141348; /a"],
    ["a date that does not exist", " type=file;size=3;modify=20260230141348; /a"],
    ["a time more than a day ahead", " type=file;size=3;modify=20271207141348; /a"],
    ["a time in local notation", " type=file;size=3;modify=2026-12-07T14:13:48; /a"],
  ])("leaves %s to SIZE and MDTM for this path", (_case, entry) => {
    expect(parseMlstReply(reply(entry), now)).toEqual({ fallback: "this-path" });
  });

  it.each([
    ["no size fact", reply(" type=file;modify=20261207141348; /a")],
    ["no modify fact", reply(" type=file;size=3; /a")],
    ["no type fact", reply(" size=3;modify=20261207141348; /a")],
    ["no facts at all", reply("  /a")],
    ["a fact twice", reply(" type=file;size=3;size=4;modify=20261207141348; /a")],
    ["a fact without its ';'", reply(" type=file;size=3;modify=20261207141348 /a")],
    ["an entry without its leading space", reply("type=file;size=3;modify=20261207141348; /a")],
    ["no pathname", reply(" type=file;size=3;modify=20261207141348;")],
    [
      "two entries",
      "250-x\n type=file;size=3;modify=20261207141348; /a\n type=file;size=4;modify=20261207141348; /b\n250 y",
    ],
    ["a one-line reply", "250 type=file;size=3;modify=20261207141348; /a"],
    ["another code", "200-x\n type=file;size=3;modify=20261207141348; /a\n200 y"],
  ])("gives MLST up for the session on %s (the server would answer every path so)", (_case, text) => {
    expect(parseMlstReply(text, now)).toEqual({ fallback: "session" });
  });
});
