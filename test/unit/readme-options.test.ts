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

/** Each option's "(default: …)" in copy --help, by option. */
async function helpDefaults(): Promise<Map<string, string>> {
  const help = (await runInProcess(["copy", "--help"], {})).stdout.replace(/\n\s{10,}/g, " ");
  const defaults = new Map<string, string>();
  for (const match of help.matchAll(/^ {2}(--[\w-]+(?: <[^>]+>)?) .*?\(default: ([^)]+)\)$/gm)) {
    defaults.set(match[1] as string, match[2] as string);
  }
  return defaults;
}

// The README's option tables against the command's own --help, so that neither can change alone.
describe("the README's option tables", () => {
  it("list exactly the copy command's options, as --help writes them", async () => {
    const documented = readmeOptions("## The command");

    expect([...documented].sort()).toEqual((await helpOptions("copy")).sort());
    expect(new Set(documented).size).toBe(documented.length);
  });

  it("give the numeric defaults --help gives, in the option's unit", async () => {
    const defaults = await helpDefaults();
    const from = readme.indexOf("\n## The command\n");
    const rows = readme
      .slice(from)
      .split("\n")
      .filter((line) => /^\| `--/.test(line));
    const numeric = rows
      .map((row) => row.split("|").map((cell) => cell.trim()))
      .filter((cells) => /^\d+$/.test(cells[2] ?? "") && defaults.has((cells[1] ?? "").replace(/`/g, "")));

    expect(numeric.length).toBeGreaterThanOrEqual(5);
    for (const cells of numeric) {
      const option = (cells[1] ?? "").replace(/`/g, "");
      expect(`${option} ${defaults.get(option)}`).toBe(`${option} ${cells[2]}`);
    }
  });

  it("list the mirror command's own options under Mirroring, the shared ones in the command's table", async () => {
    const copy = await helpOptions("copy");
    const mirrorOnly = (await helpOptions("mirror")).filter((option) => !copy.includes(option));

    expect(readmeOptions("### Mirroring a directory").sort()).toEqual(mirrorOnly.sort());
  });
});
