import { describe, expect, it } from "vitest";
import {
  choosePartSize,
  DEFAULT_PART_SIZE,
  DEFAULT_PART_SIZE_UNKNOWN_TOTAL,
  partCount,
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
    expect(choosePartSize(5 * MiB, S3_MIN_PART_SIZE)).toBe(5 * MiB);
    expect(partCount(5 * MiB, 5 * MiB)).toBe(1);
  });

  it("keeps 5 MiB parts up to 10,000 of them (48.8 GiB), then grows by whole MiB", () => {
    const limit = S3_MAX_PARTS * S3_MIN_PART_SIZE; // 48.83 GiB
    expect(choosePartSize(limit, S3_MIN_PART_SIZE)).toBe(5 * MiB);
    expect(choosePartSize(limit + 1, S3_MIN_PART_SIZE)).toBe(6 * MiB);
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
    expect(choosePartSize(null, 32 * MiB)).toBe(32 * MiB);
  });

  it("never returns a part above 5 GiB even when asked for more than needed", () => {
    expect(choosePartSize(100 * GiB, S3_MAX_PART_SIZE)).toBe(S3_MAX_PART_SIZE);
  });

  it.each([4 * MiB, 5 * GiB + 1, 5.5 * MiB + 0.5, Number.NaN])(
    "rejects a preferred part size of %d",
    (size) => {
      expect(() => choosePartSize(1000, size)).toThrow(/part size must be/);
    },
  );
});
