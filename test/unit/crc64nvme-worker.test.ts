import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { crc64nvme } from "../../functions/adapters/crc64nvme.js";
import { crc64nvmeOf } from "../../functions/adapters/crc64nvme-slicing.js";
import { crc64nvmeOffThread } from "../../functions/adapters/crc64nvme-worker.js";

/** Bytes in shared memory, as PartUpload's part buffers are. */
function sharedCopy(bytes: Uint8Array): Buffer & { buffer: SharedArrayBuffer } {
  const shared = Buffer.from(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  return shared as Buffer & { buffer: SharedArrayBuffer };
}

describe("parts' CRC64NVME off the main thread", () => {
  it("the worker gives the CRC the main thread computes, for a view at any offset of shared memory", async () => {
    const bytes = sharedCopy(randomBytes(3 * 2 ** 20 + 5));
    for (const view of [bytes, bytes.subarray(3), bytes.subarray(1, bytes.length - 1)]) {
      expect(await crc64nvmeOffThread(view as typeof bytes)).toBe(crc64nvmeOf(view));
    }
  });

  it("a checksum fed parts in shared memory and a short last part, the way PartUpload does, equals the whole's", async () => {
    // Arrange: two parts the worker CRCs, then a short one computed here, which must not overtake them.
    const whole = randomBytes(2 * 2 ** 21 + 1000);
    const parts = [whole.subarray(0, 2 ** 21), whole.subarray(2 ** 21, 2 ** 22), whole.subarray(2 ** 22)];
    const crc = crc64nvme();
    const order: number[] = [];

    // Act
    const owns = parts.map((part, index) =>
      crc.update(index < 2 ? sharedCopy(part) : part).then((own) => {
        order.push(index);
        return own;
      }),
    );

    // Assert
    expect(await Promise.all(owns)).toEqual(parts.map((part) => crc64nvmeOf(part)));
    expect(order).toEqual([0, 1, 2]);
    expect(await crc.value()).toBe(crc64nvmeOf(whole));
  });

  it("the worker starts from a bundle minified with keepNames, as the Lambda's is (its text is the function's)", async () => {
    // Arrange: a program that asks the worker for a CRC, bundled with the Lambda's esbuild settings.
    const dir = await mkdtemp(path.join(os.tmpdir(), "crc-worker-bundle-"));
    const worker = fileURLToPath(new URL("../../functions/adapters/crc64nvme-worker.ts", import.meta.url));
    try {
      await build({
        stdin: {
          contents: `import { crc64nvmeOffThread } from ${JSON.stringify(worker)};
            const bytes = Buffer.from(new SharedArrayBuffer(2 ** 20 + 3)).fill(7);
            console.log(await crc64nvmeOffThread(bytes));`,
          resolveDir: dir,
          loader: "ts",
        },
        outfile: path.join(dir, "run.mjs"),
        bundle: true,
        platform: "node",
        format: "esm",
        minify: true,
        keepNames: true,
        logLevel: "silent",
      });

      // Act
      const { stdout } = await promisify(execFile)(process.execPath, [path.join(dir, "run.mjs")]);

      // Assert
      expect(stdout.trim()).toBe(crc64nvmeOf(Buffer.alloc(2 ** 20 + 3, 7)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
