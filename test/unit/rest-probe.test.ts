import type { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type FileSource, RestartRefusedError, restHonoured } from "../../functions/core/index.js";
import { remoteFilePath } from "../../functions/core/paths.js";
import { readOnlyChanges } from "../support/memory-source.js";

// Before a file is read by ranges, its last 16 bytes are asked for with REST: exactly those, and the
// server starts where REST says; more, and it sends from byte 0.
const file = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
const path = remoteFilePath("/in/big.bin");

function serving(behaviour: "honours" | "ignores" | "refuses" | "short"): FileSource {
  return {
    ...readOnlyChanges,
    urlOf: (p) => `ftp://h${p}`,
    list: async () => [],
    stat: async () => ({ size: file.length, modifiedAt: null }),
    async download(_path, destination: Writable, _signal, startAt = 0) {
      if (behaviour === "refuses") throw new RestartRefusedError("502 REST not implemented");
      const from = behaviour === "ignores" ? 0 : startAt;
      const to = behaviour === "short" ? from + 5 : file.length;
      await new Promise<void>((resolve, reject) => {
        destination.write(file.subarray(from, to), (error) => (error ? reject(error) : resolve()));
      });
      return { code: 226, message: "Transfer complete" };
    },
    close: () => {},
  };
}

describe("the REST probe: the file's last bytes after REST", () => {
  const signal = new AbortController().signal;

  it("true when the server sends exactly the 16 bytes from REST size - 16", async () => {
    expect(await restHonoured(serving("honours"), path, file.length, signal)).toBe(true);
  });

  it("says why when the server sends from byte 0, refuses REST, or sends too few", async () => {
    expect(await restHonoured(serving("ignores"), path, file.length, signal)).toBe(
      "the server sent more than the 16 bytes after REST 84: it ignores REST and sends from byte 0",
    );
    expect(await restHonoured(serving("refuses"), path, file.length, signal)).toBe(
      "the server refused REST 84",
    );
    expect(await restHonoured(serving("short"), path, file.length, signal)).toBe(
      "the server sent 5 of the 16 bytes after REST 84",
    );
  });
});
