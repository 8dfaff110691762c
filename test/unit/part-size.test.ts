import { describe, expect, it } from "vitest";
import {
  choosePartSize,
  DEFAULT_PART_SIZE,
  DEFAULT_PART_SIZE_UNKNOWN_TOTAL,
  fitPartsToMemory,
  partCount,
  partSize,
  S3_MAX_OBJECT_SIZE,
  S3_MAX_PART_SIZE,
  S3_MAX_PARTS,
  S3_MIN_PART_SIZE,
} from "../../functions/core/part-size.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe("choosePartSize", () => {
  it("uses the default for an empty file", () => {
    expect(choosePartSize(0)).toBe(DEFAULT_PART_SIZE);
  });

  it("uses the preferred size for a file of exactly 5 MiB", () => {
    expect(choosePartSize(5 * MiB, partSize(S3_MIN_PART_SIZE))).toBe(5 * MiB);
    expect(partCount(5 * MiB, 5 * MiB)).toBe(1);
  });

  it("keeps 5 MiB parts up to 10,000 of them (48.8 GiB), then grows by whole MiB", () => {
    const limit = S3_MAX_PARTS * S3_MIN_PART_SIZE; // 48.83 GiB
    expect(choosePartSize(limit, partSize(S3_MIN_PART_SIZE))).toBe(5 * MiB);
    expect(choosePartSize(limit + 1, partSize(S3_MIN_PART_SIZE))).toBe(6 * MiB);
    expect(partCount(limit + 1, 6 * MiB)).toBeLessThanOrEqual(S3_MAX_PARTS);
  });

  it("fits the largest object S3 holds (5 TiB) in at most 10,000 parts", () => {
    const size = choosePartSize(S3_MAX_OBJECT_SIZE);
    expect(size % MiB).toBe(0);
    expect(size).toBeLessThanOrEqual(S3_MAX_PART_SIZE);
    expect(partCount(S3_MAX_OBJECT_SIZE, size)).toBeLessThanOrEqual(S3_MAX_PARTS);
    expect(partCount(S3_MAX_OBJECT_SIZE, size - MiB)).toBeGreaterThan(S3_MAX_PARTS); // and no bigger than needed
  });

  it("refuses a file larger than 5 TiB with a clear message", () => {
    expect(() => choosePartSize(S3_MAX_OBJECT_SIZE + 1)).toThrow(/more than an S3 object can hold/);
  });

  it("uses the unknown-size default when the server gave no SIZE, or the preferred size", () => {
    expect(choosePartSize(null)).toBe(DEFAULT_PART_SIZE_UNKNOWN_TOTAL);
    expect(choosePartSize(null, partSize(32 * MiB))).toBe(32 * MiB);
  });

  it("never returns a part above 5 GiB even when asked for more than needed", () => {
    expect(choosePartSize(100 * GiB, partSize(S3_MAX_PART_SIZE))).toBe(S3_MAX_PART_SIZE);
  });

  it.each([4 * MiB, 5 * GiB + 1, 5.5 * MiB + 0.5, Number.NaN])(
    "rejects a preferred part size of %d",
    (size) => {
      // The check is the constructor of a PartSize: no part size reaches choosePartSize unchecked.
      expect(() => choosePartSize(1000, partSize(size))).toThrow(/part size must be/);
    },
  );
});

describe("fitPartsToMemory", () => {
  const file = "ftp://h/big.iso";
  const TiB = 1024 * GiB;

  it("keeps a buffer for each part in flight when they fit the budget", () => {
    const partSize = choosePartSize(GiB);
    expect(fitPartsToMemory({ partSize, queueSize: 4, budget: 256 * MiB, expectedBytes: GiB, file })).toEqual(
      {
        partSize: 8 * MiB,
        queueSize: 4,
        buffers: 4,
      },
    );
  });

  it("shrinks the queue of a 1 GiB file to what a small budget holds, down to one buffer", () => {
    const planFor = (budget: number) =>
      fitPartsToMemory({ partSize: 8 * MiB, queueSize: 4, budget, expectedBytes: GiB, file });
    expect(planFor(32 * MiB)).toEqual({ partSize: 8 * MiB, queueSize: 4, buffers: 4 });
    expect(planFor(31 * MiB)).toEqual({ partSize: 8 * MiB, queueSize: 3, buffers: 3 });
    expect(planFor(20 * MiB)).toEqual({ partSize: 8 * MiB, queueSize: 2, buffers: 2 });
    // One buffer still makes progress: the download waits while each part is sent.
    expect(planFor(8 * MiB)).toEqual({ partSize: 8 * MiB, queueSize: 1, buffers: 1 });
  });

  it("refuses a 4.9 TiB SIZE in a 256 MiB budget, naming the memory one part needs", () => {
    const size = Math.floor(4.9 * TiB);
    const partSize = choosePartSize(size);
    expect(partSize).toBe(514 * MiB);

    const fit = () =>
      fitPartsToMemory({ partSize, queueSize: 4, budget: 256 * MiB, expectedBytes: size, file });

    expect(fit).toThrow(
      expect.objectContaining({
        code: "TOO_LARGE",
        message: expect.stringMatching(
          /^ftp:\/\/h\/big\.iso needs 514 MiB of memory for one part buffer .*10000 parts.*budget of 256 MiB.*--max-memory/,
        ),
      }),
    );
  });

  it("needs only the file's own size for a file that fits in one part", () => {
    const planFor = (budget: number) =>
      fitPartsToMemory({ partSize: 8 * MiB, queueSize: 4, budget, expectedBytes: 3 * MiB, file });
    expect(planFor(4 * MiB)).toEqual({ partSize: 8 * MiB, queueSize: 4, buffers: 1 });
    expect(() => planFor(2 * MiB)).toThrow(/needs 3 MiB of memory/);
  });

  it("keeps 16 MiB parts without SIZE and refuses a budget below one of them", () => {
    const partSize = choosePartSize(null);
    expect(
      fitPartsToMemory({ partSize, queueSize: 4, budget: 256 * MiB, expectedBytes: null, file }),
    ).toEqual({
      partSize: 16 * MiB,
      queueSize: 4,
      buffers: 4,
    });
    expect(() =>
      fitPartsToMemory({ partSize, queueSize: 4, budget: 15 * MiB, expectedBytes: null, file }),
    ).toThrow(/needs 16 MiB of memory for one part buffer \(the server gave no SIZE\)/);
  });
});
