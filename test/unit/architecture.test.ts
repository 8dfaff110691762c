import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layering, checked on the source: the core has one front door (functions/core/index.ts), and
 * the core imports neither FTP nor AWS libraries nor anything outside itself.
 */
const root = join(import.meta.dirname, "../..");

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1] as string);
  return specifiers;
}

/** The project file an import names, from the repository root; undefined for a package. */
function resolved(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return relative(root, join(root, file, "..", specifier));
}

describe("the layering", () => {
  it("reaches the core only through functions/core/index.ts", () => {
    const outside = [
      ...sources("functions"),
      ...sources("infra"),
      ...sources("bench"),
      ...sources("scripts"),
    ].filter((file) => !file.startsWith("functions/core/"));
    const breaches = outside.flatMap((file) =>
      importsOf(file)
        .map((specifier) => resolved(file, specifier))
        .filter((target) => target?.startsWith("functions/core/") && target !== "functions/core/index.js")
        .map((target) => `${file} -> ${target}`),
    );
    expect(breaches).toEqual([]);
  });

  it("keeps the core free of FTP and AWS libraries and of the layers above it", () => {
    const breaches = sources("functions/core").flatMap((file) =>
      importsOf(file)
        .filter((specifier) => {
          const target = resolved(file, specifier);
          if (target !== undefined) return !target.startsWith("functions/core/");
          return /^(basic-ftp|@aws-sdk\/|@aws-lambda-powertools\/|@middy\/|aws-cdk-lib|commander)/.test(
            specifier,
          );
        })
        .map((specifier) => `${file} -> ${specifier}`),
    );
    expect(breaches).toEqual([]);
  });
});
