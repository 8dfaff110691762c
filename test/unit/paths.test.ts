import { describe, expect, it } from "vitest";
import {
  isInsideRoot,
  normaliseRemotePath,
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

  it("accepts the root itself as a directory, and refuses a directory outside", () => {
    expect(resolveAllowedDirectory("/outbox/", ["/outbox"], "p")).toBe("/outbox");
    expect(() => resolveAllowedDirectory("/", ["/outbox"], "p")).toThrow(/outside the roots/);
  });
});
