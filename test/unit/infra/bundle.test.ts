import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PATCHED_PARSER } from "../../support/basic-ftp-patch.js";
import { synth } from "./synth.js";

/** The one test that runs esbuild, as `cdk synth` does: the other infra tests skip bundling. */
describe("the function's bundle", () => {
  let code: string;
  let codeBytes: number;
  let mapBytes: number;
  let bundlePath: string;

  beforeAll(() => {
    const outdir = mkdtempSync(join(tmpdir(), "ftp2s3-synth-"));
    synth(() => {}, { bundle: true, outdir });
    // The function's code is the stack's only asset.
    const assets = readdirSync(outdir).filter((name) => name.startsWith("asset."));
    expect(assets).toHaveLength(1);
    const assetDir = join(outdir, assets[0] as string);
    expect(readdirSync(assetDir).sort()).toEqual(["index.mjs", "index.mjs.map"]);
    bundlePath = join(assetDir, "index.mjs");
    code = readFileSync(bundlePath, "utf8");
    codeBytes = statSync(join(assetDir, "index.mjs")).size;
    mapBytes = statSync(join(assetDir, "index.mjs.map")).size;
  }, 60_000);

  // 1.5 MB until iconv-lite came in for servers whose names are not UTF-8: 1.40 -> 1.89 MB, 494 KB
  // of it iconv-lite, 400 KB of that its double-byte tables (Shift-JIS, GBK, Big5, EUC-JP/KR);
  // written in UTF-8 instead of \u-escapes (esbuild's charset utf8) the bundle is 1.60 MB. The
  // ledger's DynamoDB and EventBridge clients and the CRC64NVME then took it to 1.86 MB.
  it("is an ES module smaller than 2 MB, with a source map next to it", () => {
    console.info(`bundle: index.mjs ${codeBytes} bytes, index.mjs.map ${mapBytes} bytes`);
    expect(codeBytes).toBeLessThan(2 * 1024 * 1024);
    expect(code.trimEnd().endsWith("//# sourceMappingURL=index.mjs.map")).toBe(true);
  });

  it("carries basic-ftp with patches/basic-ftp+6.2.6.patch applied", () => {
    expect(code).toMatch(PATCHED_PARSER);
  });

  it("defines require for its CommonJS dependencies", () => {
    expect(
      code.startsWith(
        "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      ),
    ).toBe(true);
  });

  it("carries the AWS SDK and every other dependency: it imports nothing but Node's built-in modules", () => {
    const imported = [...code.matchAll(/(?:^|[;\s}])import\s*(?:[\w*${}\s,]+from\s*)?["']([^"']+)["']/g)].map(
      (m) => m[1],
    );
    const external = imported.filter(
      (name) => !builtinModules.includes((name as string).replace(/^node:/, "")),
    );
    expect(external).toEqual([]);
    // The SDK's user agent ("aws-sdk-js/<version>") is in the bundle, so the SDK is.
    expect(code.includes("aws-sdk-js")).toBe(true);
  });

  it("reports its errors by their class names, as the runtime's errorType shows them to operators", () => {
    // Arrange: the bundle as the runtime loads it, with a config naming no connection
    const script = `
      const { handler } = await import(${JSON.stringify("file://")} + process.argv[1]);
      const context = { getRemainingTimeInMillis: () => 60000, functionName: "f", awsRequestId: "r" };
      try {
        await handler({ mirror: { connection: "nope", remoteDir: "/d", prefix: "" } }, context);
        console.log(JSON.stringify({ name: "(no error)" }));
      } catch (error) {
        console.log(JSON.stringify({ name: error.name }));
      }`;
    // Act
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script, bundlePath], {
      env: {
        ...process.env,
        FTP2S3_CONFIG: JSON.stringify({ bucket: "b-test", connections: {} }),
        // The stack always names the ledger's table; this run fails before any transfer reaches it.
        FTP2S3_LEDGER_TABLE: "ledger-test",
        AWS_REGION: "us-east-1",
      },
      encoding: "utf8",
    });
    // Assert: the last line is the error the handler threw
    const last = out.trim().split("\n").at(-1) as string;
    expect(JSON.parse(last)).toEqual({ name: "NotAllowedError" });
  });
});
