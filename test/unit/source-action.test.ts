import { describe, expect, it } from "vitest";
import {
  checkAfterCopy,
  FtpReplyError,
  InvalidInputError,
  type MoveTemplate,
  moveTargetOf,
  type RemoteFilePath,
  type RemotePath,
  takeAway,
} from "../../functions/core/index.js";
import { memorySource } from "../support/memory-source.js";

const outbox = "/outbox" as RemotePath;
const fenced = {
  roots: { paths: ["/outbox", "/archive"], connection: "partner" },
  sourceDir: outbox,
  recursive: false,
};

describe("checkAfterCopy", () => {
  it("keeps keep and delete, and a move target inside the roots", () => {
    expect(checkAfterCopy("keep", fenced)).toBe("keep");
    expect(checkAfterCopy("delete", fenced)).toBe("delete");
    expect(checkAfterCopy({ moveTo: "/archive/{yyyy}/{MM}/" }, fenced)).toEqual({
      moveTo: "/archive/{yyyy}/{MM}/",
    });
  });

  it.each([
    ["/etc/{yyyy}", "outside the roots"],
    ["/archive/../etc", "outside the roots"],
    ["archive/{yyyy}", "not absolute"],
    ["/archive/{name}", "placeholder {name}"],
    ["/archive\\x", '"\\"'],
    ["/outbox", "where the files are read from"],
  ])("refuses %s before anything is copied (INVALID_INPUT)", (moveTo, why) => {
    const check = () => checkAfterCopy({ moveTo }, fenced);
    expect(check).toThrow(InvalidInputError);
    expect(check).toThrow(why);
  });

  it("refuses a target below a recursive mirror's directory, allows it beside a flat one", () => {
    const below = { moveTo: "/outbox/done/{yyyy}" };
    expect(() => checkAfterCopy(below, { ...fenced, recursive: true })).toThrow("and below");
    expect(checkAfterCopy(below, fenced)).toEqual(below);
  });

  it("needs no roots for the command, only an absolute path", () => {
    expect(checkAfterCopy({ moveTo: "/anywhere" }, { sourceDir: outbox, recursive: false })).toEqual({
      moveTo: "/anywhere",
    });
  });
});

describe("moveTargetOf", () => {
  it("fills in the commit date in UTC and keeps the file's name", () => {
    const at = new Date("2026-03-04T23:30:00-02:00"); // 5 March, 01:30 UTC
    const target = moveTargetOf(
      "/archive/{yyyy}/{MM}/{dd}/" as MoveTemplate,
      "/outbox/a.csv" as RemoteFilePath,
      at,
    );
    expect(target).toEqual({ dir: "/archive/2026/03/05", path: "/archive/2026/03/05/a.csv" });
  });
});

describe("takeAway", () => {
  const file = "/outbox/a.csv" as RemoteFilePath;
  const at = new Date("2026-12-07T10:00:00Z");

  it("deletes the file", async () => {
    const files = { [file]: Buffer.from("a") };
    expect(await takeAway(memorySource(files), file, "delete", at)).toEqual({ action: "deleted" });
    expect(files).toEqual({});
  });

  it("makes the target's directories only when the rename is refused, then renames again", async () => {
    const commands: string[] = [];
    let made = false;
    const source = {
      ...memorySource({}),
      rename: async (from: string, to: string) => {
        commands.push(`RNFR ${from} RNTO ${to}`);
        if (!made) throw new FtpReplyError("RNTO refused", 550, "No such directory");
      },
      makeDirectory: async (dir: string) => {
        commands.push(`MKD ${dir}`);
        made = true;
        if (dir === "/archive") throw new FtpReplyError("exists", 550, "exists");
      },
    };
    const done = await takeAway(source, file, { moveTo: "/archive/{yyyy}" as MoveTemplate }, at);
    expect(done).toEqual({ action: "moved", to: "ftp://h/archive/2026/a.csv" });
    expect(commands).toEqual([
      "RNFR /outbox/a.csv RNTO /archive/2026/a.csv",
      "MKD /archive",
      "MKD /archive/2026",
      "RNFR /outbox/a.csv RNTO /archive/2026/a.csv",
    ]);
  });
});
