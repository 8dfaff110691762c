import { describe, expect, it } from "vitest";
import { planRanges } from "../../functions/core/index.js";
import { S3_MAX_OBJECT_SIZE, S3_MAX_PARTS } from "../../functions/core/part-size.js";
import { partSizeIn, partsOf } from "../../functions/core/range-plan.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe("planRanges", () => {
  it("splits whole parts as evenly as they go, the first ranges taking the extra part", () => {
    // Arrange: 10 parts of 8 MiB, the last one short.
    const size = 9 * 8 * MiB + 123;

    // Act
    const plan = planRanges(size, { ranges: 4, partSize: 8 * MiB });

    // Assert
    expect(plan.partSize).toBe(8 * MiB);
    expect(plan.ranges.map(partsOf)).toEqual([3, 3, 2, 2]);
    expect(plan.ranges.map((r) => r.firstPart)).toEqual([1, 4, 7, 9]);
    expect(plan.ranges[0]).toEqual({ index: 0, start: 0, end: 24 * MiB, firstPart: 1, partSize: 8 * MiB });
    expect(plan.ranges[3]).toEqual({ index: 3, start: 64 * MiB, end: size, firstPart: 9, partSize: 8 * MiB });
  });

  it("covers the file end to end, every part whole but the last range's last", () => {
    const size = 100 * MiB + 1;
    const plan = planRanges(size, { ranges: 7, partSize: 5 * MiB });
    let at = 0;
    let part = 1;
    for (const range of plan.ranges) {
      expect(range.start).toBe(at);
      expect(range.firstPart).toBe(part);
      expect(range.start % plan.partSize).toBe(0);
      const last = range.firstPart + partsOf(range) - 1;
      for (let n = range.firstPart; n <= last; n += 1) {
        const whole = range.index < plan.ranges.length - 1 || n < last;
        expect(partSizeIn(range, n) === plan.partSize).toBe(whole);
      }
      at = range.end;
      part = last + 1;
    }
    expect(at).toBe(size);
    expect(partSizeIn(plan.ranges.at(-1) as never, part - 1)).toBe(1);
  });

  it("gives a file of fewer parts than ranges one range a part", () => {
    const plan = planRanges(12 * MiB, { ranges: 8, partSize: 5 * MiB });
    expect(plan.ranges.map((r) => [r.start, r.end])).toEqual([
      [0, 5 * MiB],
      [5 * MiB, 10 * MiB],
      [10 * MiB, 12 * MiB],
    ]);
  });

  it("grows the part size by whole MiB until 10,000 parts hold the file, and never below 5 MiB", () => {
    expect(planRanges(10 * MiB, { ranges: 2, partSize: MiB }).partSize).toBe(5 * MiB);
    const big = planRanges(200 * GiB, { ranges: 16, partSize: 8 * MiB });
    expect(big.partSize).toBe(21 * MiB);
    const parts = big.ranges.reduce((n, r) => n + partsOf(r), 0);
    expect(parts).toBeLessThanOrEqual(S3_MAX_PARTS);
    const largest = planRanges(S3_MAX_OBJECT_SIZE, { ranges: 100, partSize: 5 * MiB });
    expect(largest.ranges.at(-1)?.end).toBe(S3_MAX_OBJECT_SIZE);
    expect(largest.ranges.reduce((n, r) => n + partsOf(r), 0)).toBeLessThanOrEqual(S3_MAX_PARTS);
  });

  it("takes a smaller part limit (the plan is the same in every leg)", () => {
    const plan = planRanges(100 * MiB, { ranges: 2, partSize: 5 * MiB, maxParts: 4 });
    expect(plan.partSize).toBe(25 * MiB);
    expect(plan).toEqual(planRanges(100 * MiB, { ranges: 2, partSize: 5 * MiB, maxParts: 4 }));
  });

  it.each([
    [0, { ranges: 2, partSize: 5 * MiB }, /at least one byte/],
    [S3_MAX_OBJECT_SIZE + 1, { ranges: 2, partSize: 5 * MiB }, /more than an S3 object can hold/],
    [10 * MiB, { ranges: 0, partSize: 5 * MiB }, /ranges must be a whole number/],
    [10 * MiB, { ranges: 1.5, partSize: 5 * MiB }, /ranges must be a whole number/],
    [10 * MiB, { ranges: 2, partSize: 6 * GiB }, /part size must be/],
    [10 * MiB, { ranges: 2, partSize: 5 * MiB, maxParts: 10_001 }, /maxParts/],
    [20 * GiB, { ranges: 2, partSize: 5 * MiB, maxParts: 3 }, /do not fit in 3 parts/],
  ])("refuses size %d with %o", (size, opts, message) => {
    expect(() => planRanges(size, opts)).toThrow(message);
  });
});
