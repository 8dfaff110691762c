import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../functions/core/errors.js";
import {
  isInsideRoot,
  normaliseRemotePath,
  remoteFilePath,
  resolveAllowedDirectory,
  resolveAllowedFile,
} from "../../functions/core/paths.js";

describe("the path fence", () => {
  it.each([
    ["/outbox/../etc/passwd", "/etc/passwd"],
    ["/outbox//a/./b", "/outbox/a/b"],
    ["/outbox/sub/", "/outbox/sub"],
    ["/", "/"],
  ])("normalises %s to %s", (path, expected) => {
    expect(normaliseRemotePath(path)).toBe(expected);
  });

  it("knows what lies inside a root, and that /outbox2 does not lie inside /outbox", () => {
    expect(isInsideRoot("/outbox", "/outbox")).toBe(true);
    expect(isInsideRoot("/outbox/a/b", "/outbox/")).toBe(true);
    expect(isInsideRoot("/outbox2/a", "/outbox")).toBe(false);
    expect(isInsideRoot("/anything", "/")).toBe(true);
  });

  it("resolves a file inside a root to its normalised path", () => {
    expect(resolveAllowedFile("/outbox/in/../report.csv", ["/shared", "/outbox"], "p")).toBe(
      "/outbox/report.csv",
    );
  });

  it.each([
    [
      "/outbox/../../etc/passwd",
      /"\/etc\/passwd" is outside|\/etc\/passwd is outside the roots of connection "p"/,
    ],
    ["/outbox2/x", /outside the roots/],
    ["outbox/x", /is not absolute/],
    ["/outbox/", /does not name a file/],
    ["/outbox/a\nb", /CR, LF or NUL/],
  ])("refuses the file %j", (path, message) => {
    expect(() => resolveAllowedFile(path, ["/outbox"], "p")).toThrow(message);
  });

  it("refuses a backslash, which a Windows-hosted server would read as a separator out of the root", () => {
    // Arrange: to a posix check "..\\..\\etc\\passwd" is one name inside /outbox.
    const attack = "/outbox/..\\..\\etc\\passwd";

    // Act / Assert
    expect(() => resolveAllowedFile(attack, ["/outbox"], "p")).toThrow(
      'contains "\\", which connection "p" refuses',
    );
    expect(() => resolveAllowedFile(attack, ["/outbox"], "p")).toThrow(InvalidInputError);
    expect(() => resolveAllowedDirectory("/outbox\\..\\etc", ["/outbox"], "p")).toThrow(InvalidInputError);
  });

  it("on a Windows-style connection, takes a backslash as a separator and returns the path with slashes", () => {
    expect(() => resolveAllowedFile("/outbox/..\\..\\etc\\passwd", ["/outbox"], "w", "windows")).toThrow(
      '/etc/passwd is outside the roots of connection "w"',
    );
    expect(resolveAllowedFile("\\outbox\\in\\..\\report.csv", ["/outbox"], "w", "windows")).toBe(
      "/outbox/report.csv",
    );
    expect(resolveAllowedDirectory("/outbox\\sub\\", ["\\outbox"], "w", "windows")).toBe("/outbox/sub");
  });

  it.each([
    ["/outbox/.. /etc/passwd", ".. "], // Windows drops the trailing space: ".."
    ["/outbox/.../x", "..."],
    ["/outbox/C:\\Windows\\win.ini", "C:"],
    ["/outbox/report.csv::$DATA", "report.csv::$DATA"],
  ])("on a Windows-style connection, refuses %j, whose name %j Windows reads differently", (path, name) => {
    expect(() => resolveAllowedFile(path, ["/outbox"], "w", "windows")).toThrow(
      `has the name ${JSON.stringify(name)}`,
    );
  });

  it("accepts the root itself as a directory, and refuses a directory outside", () => {
    expect(resolveAllowedDirectory("/outbox/", ["/outbox"], "p")).toBe("/outbox");
    expect(() => resolveAllowedDirectory("/", ["/outbox"], "p")).toThrow(/outside the roots/);
  });
});

describe("remoteFilePath, the one check of a file path a caller names", () => {
  it("normalises the path it accepts", () => {
    expect(remoteFilePath("/in//2026/./a/../report.csv")).toBe("/in/2026/report.csv");
  });

  it.each([
    ["/in/", /does not name a file/],
    ["/in/..", /does not name a file/],
    ["/", /does not name a file/],
    ["in/report.csv", /is not absolute/],
    ["/in/a\r\nDELE b", /CR, LF or NUL/],
    [`/${"x".repeat(4096)}`, /more than 4096/],
  ])("refuses %j", (path, message) => {
    expect(() => remoteFilePath(path)).toThrow(message);
  });
});
