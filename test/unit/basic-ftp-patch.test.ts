import { FTPContext, type FTPResponse, type TaskResolver } from "basic-ftp";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { parseControlResponse } from "../../node_modules/basic-ftp/dist/parseControlResponse.js";
import { PATCHED_PARSER } from "../support/basic-ftp-patch.js";

// patches/basic-ftp+6.2.6.patch, applied by `npm ci` (postinstall: patch-package).
describe("basic-ftp, patched: parseControlResponse", () => {
  it.each([
    ["2", [], "2"],
    ["22", [], "22"],
    ["226 Transfer compl", [], "226 Transfer compl"],
    ["226 Transfer complete\r\n", ["226 Transfer complete"], ""],
    ["150 Opening\r\n2", ["150 Opening"], "2"],
    ["211-Features:\r\n SIZE\r\n21", [], "211-Features:\n SIZE\n21"],
  ])("%j -> messages %j, rest %j", (text, messages, rest) => {
    expect(parseControlResponse(text)).toEqual({ messages, rest });
  });

  it("reads a reply fed one character at a time as the reply it is", () => {
    const messages: string[] = [];
    let rest = "";
    for (const char of "211-Features:\r\n MLST size*;\r\n211 End\r\n226 Transfer complete\r\n") {
      const parsed = parseControlResponse(rest + char);
      messages.push(...parsed.messages);
      rest = parsed.rest;
    }
    expect(messages).toEqual(["211-Features:\n MLST size*;\n211 End", "226 Transfer complete"]);
    expect(rest).toBe("");
  });

  it("is what the CLI bundle carries (scripts/build-cli.mjs)", async () => {
    const result = await build({
      entryPoints: ["functions/cli/main.ts"],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      write: false,
      logLevel: "silent",
    });
    expect(result.outputFiles[0]?.text).toMatch(PATCHED_PARSER);
  });
});

describe("basic-ftp, patched: a task's launching stack is formatted only when needed", () => {
  it("still names where the running task was launched when a second one is launched meanwhile", async () => {
    // Arrange
    const context = new FTPContext();
    const rejectOnError = (response: Error | FTPResponse, task: TaskResolver) => {
      if (response instanceof Error) task.reject(response);
    };
    const launchTheFirstTask = () => context.handle(undefined, rejectOnError);
    const first = launchTheFirstTask();

    // Act
    void context.handle(undefined, rejectOnError).catch(() => {});

    // Assert
    const error = await first.then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).toContain("User launched a task while another one is still running");
    expect(error?.stack).toMatch(/Running task launched at: Error[\s\S]*\n\s+at launchTheFirstTask /);
  });
});
