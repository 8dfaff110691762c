import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layering, checked on the source (README "Layers"): imports point down only, the core has one
 * front door, and each layer uses only the libraries it is about.
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
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1] as string);
}

/** The project file an import names, from the repository root; undefined for a package. */
function resolved(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return relative(root, join(root, file, "..", specifier));
}

/** The layer a project file belongs to: its folder under functions/, or infra, bench, scripts. */
function layerOf(path: string): string {
  const [top, second] = path.split("/");
  return top === "functions"
    ? second?.endsWith(".ts") || second?.endsWith(".js")
      ? "entry"
      : `${second}`
    : `${top}`;
}

/** Which layers each layer may import (besides itself), and the packages it must not. */
const rules: Record<string, { layers: string[]; forbiddenPackages?: RegExp }> = {
  core: {
    layers: [],
    forbiddenPackages: /^(basic-ftp|@aws-sdk\/|@aws-lambda-powertools\/|@middy\/|aws-|commander|zod)/,
  },
  contracts: {
    layers: ["core"],
    forbiddenPackages: /^(basic-ftp|@aws-sdk\/|@aws-lambda-powertools\/|@middy\/|aws-|commander)/,
  },
  adapters: { layers: ["core"], forbiddenPackages: /^(@middy\/|aws-cdk-lib|commander|zod)/ },
  app: {
    layers: ["core", "contracts", "adapters"],
    forbiddenPackages: /^(@aws-lambda-powertools\/|@middy\/|aws-lambda$|commander)/,
  },
  lambda: { layers: ["core", "contracts", "adapters", "app"], forbiddenPackages: /^commander/ },
  cli: {
    layers: ["core", "contracts", "adapters", "app"],
    forbiddenPackages: /^(@aws-lambda-powertools\/|@middy\/)/,
  },
  infra: { layers: ["core", "contracts"] },
};

describe("the layering", () => {
  const files = [...sources("functions"), ...sources("infra"), ...sources("bench"), ...sources("scripts")];

  it("reaches the core only through functions/core/index.ts", () => {
    const breaches = files
      .filter((file) => !file.startsWith("functions/core/"))
      .flatMap((file) =>
        importsOf(file)
          .map((specifier) => resolved(file, specifier))
          .filter((target) => target?.startsWith("functions/core/") && target !== "functions/core/index.js")
          .map((target) => `${file} -> ${target}`),
      );
    expect(breaches).toEqual([]);
  });

  it("imports only the layers below, and only the libraries each layer is about", () => {
    const breaches = files.flatMap((file) => {
      const layer = layerOf(file);
      const rule = rules[layer];
      if (rule === undefined) return [];
      return importsOf(file)
        .filter((specifier) => {
          const target = resolved(file, specifier);
          if (target === undefined) return rule.forbiddenPackages?.test(specifier) ?? false;
          const targetLayer = layerOf(target);
          return targetLayer !== layer && !rule.layers.includes(targetLayer);
        })
        .map((specifier) => `${file} (${layer}) -> ${specifier}`);
    });
    expect(breaches).toEqual([]);
  });

  it("keeps zod's start-up cost out of the command: it loads the contracts' schemas only to resume", () => {
    const staticZod = sources("functions/cli").flatMap((file) =>
      [...readFileSync(join(root, file), "utf8").matchAll(/^import[^;]*from\s+"([^"]+)"/gm)]
        .map((m) => resolved(file, m[1] as string))
        .filter(
          (target) =>
            target?.startsWith("functions/contracts/") && target !== "functions/contracts/settings.js",
        )
        .map((target) => `${file} -> ${target}`),
    );
    expect(staticZod).toEqual([]);
  });
});
