import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { runInProcess } from "../support/cli.js";

const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");

/** The options a command's --help lists, as it writes them: "--part-size <MiB>", "--no-tag". */
async function helpOptions(command: string): Promise<string[]> {
  const help = await runInProcess([command, "--help"], {});
  expect(help.exitCode).toBe(0);
  const section = help.stdout.slice(help.stdout.indexOf("\nOptions:\n"));
  return [...section.matchAll(/^ {2}(?:-\w, )?(--[\w-]+(?: <[^>]+>)?)/gm)]
    .map((match) => match[1] as string)
    .filter((option) => option !== "--help");
}

/** The options in the first table with an "option" column after the heading: each `--flag <arg>` of its first cells. */
function readmeOptions(heading: string): string[] {
  const from = readme.indexOf(`\n${heading}\n`);
  expect(from, heading).toBeGreaterThan(-1);
  const rest = readme.slice(from).split("\n");
  const start = rest.findIndex((line) => /^\| option\s+\|/.test(line));
  const rows = [];
  for (let i = start + 2; rest[i]?.startsWith("|"); i++) rows.push(rest[i] as string);
  return rows.flatMap((row) =>
    [...(row.split("|")[1] ?? "").matchAll(/`(--[^`]+)`/g)].map((m) => m[1] as string),
  );
}

// The README's option tables against the command's own --help, so that neither can change alone.
describe("the README's option tables", () => {
  it("list exactly the copy command's options, as --help writes them", async () => {
    const documented = readmeOptions("## The command");

    expect([...documented].sort()).toEqual((await helpOptions("copy")).sort());
    expect(new Set(documented).size).toBe(documented.length);
  });

  it("list the mirror command's own options under Mirroring, the shared ones in the command's table", async () => {
    const copy = await helpOptions("copy");
    const mirrorOnly = (await helpOptions("mirror")).filter((option) => !copy.includes(option));

    expect(readmeOptions("### Mirroring a directory").sort()).toEqual(mirrorOnly.sort());
  });
});
