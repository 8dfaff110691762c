import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The use cases are shared by both front doors, so they know neither: no Lambda, middy or Powertools,
 * no commander, and nothing from functions/lambda or functions/cli.
 */
const app = join(import.meta.dirname, "../../../functions/app");

describe("functions/app", () => {
  it("imports neither front door nor their libraries", () => {
    const breaches = readdirSync(app)
      .filter((file) => file.endsWith(".ts"))
      .flatMap((file) =>
        [...readFileSync(join(app, file), "utf8").matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)]
          .map((match) => match[1] as string)
          .filter((specifier) =>
            /^(@aws-lambda-powertools\/|@middy\/|aws-lambda$|commander$)|^\.\.\/(lambda|cli)\//.test(
              specifier,
            ),
          )
          .map((specifier) => `${file} -> ${specifier}`),
      );
    expect(breaches).toEqual([]);
  });
});
