import { describe, expect, it } from "vitest";
import { ProgressReporter, type ProgressSnapshot } from "../../functions/core/progress.js";

function reporterAt(totalBytes: number | null, intervalMs = 1000) {
  let clock = 10_000;
  const reports: ProgressSnapshot[] = [];
  const reporter = new ProgressReporter({
    totalBytes,
    intervalMs,
    emit: (s) => reports.push(s),
    now: () => clock,
  });
  return {
    reporter,
    reports,
    advance(ms: number) {
      clock += ms;
    },
  };
}

describe("ProgressReporter", () => {
  it("reports at start, at most once per interval, and at the end", () => {
    const { reporter, reports, advance } = reporterAt(1000);

    for (let i = 1; i <= 10; i += 1) {
      advance(300);
      reporter.update(i * 100);
    }
    reporter.finish(1000);

    expect(reports.map((r) => r.bytes)).toEqual([0, 400, 800, 1000]);
    expect(reports.map((r) => r.done)).toEqual([false, false, false, true]);
  });

  it("computes percent, rate and ETA from the announced size", () => {
    const { reporter, reports, advance } = reporterAt(1_000_000);

    advance(2000);
    reporter.update(250_000);

    expect(reports[1]).toEqual({
      bytes: 250_000,
      totalBytes: 1_000_000,
      percent: 25,
      bytesPerSecond: 125_000,
      etaSeconds: 6,
      elapsedMs: 2000,
      done: false,
    });
  });

  it("reports null percent and ETA when the size is unknown", () => {
    const { reporter, reports, advance } = reporterAt(null);

    advance(1000);
    reporter.finish(5000);

    expect(reports.at(-1)).toMatchObject({ bytes: 5000, totalBytes: null, percent: null, etaSeconds: null });
  });

  it("says 100% for an empty file and never reports after finishing", () => {
    const { reporter, reports, advance } = reporterAt(0);

    reporter.finish(0);
    advance(5000);
    reporter.update(0);
    reporter.finish(0);

    expect(reports).toHaveLength(2);
    expect(reports[1]).toMatchObject({ percent: 100, etaSeconds: 0, done: true });
  });
});
