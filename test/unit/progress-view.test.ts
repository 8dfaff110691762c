import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { formatDuration, formatProgressLine, progressPrinter } from "../../functions/cli/progress-view.js";
import type { ProgressSnapshot } from "../../functions/core/progress.js";

const running: ProgressSnapshot = {
  bytes: 629_580,
  totalBytes: 1_259_161,
  percent: 50,
  bytesPerSecond: 3 * 1024 * 1024,
  etaSeconds: 75,
  elapsedMs: 200,
  done: false,
};

describe("progress line", () => {
  it("reads like the classic recipe, with rate and ETA", () => {
    expect(formatProgressLine(running)).toBe(
      "Received 629580 of 1259161 bytes (50.0%)  3.0 MiB/s  ETA 1m15s",
    );
  });

  it("drops the ETA once done and the total when unknown", () => {
    expect(
      formatProgressLine({ ...running, bytes: 1_259_161, percent: 100, etaSeconds: 0, done: true }),
    ).toBe("Received 1259161 of 1259161 bytes (100.0%)  3.0 MiB/s");
    expect(formatProgressLine({ ...running, totalBytes: null, percent: null, etaSeconds: null })).toBe(
      "Received 629580 bytes  3.0 MiB/s",
    );
  });

  it.each([
    [0, "0s"],
    [59.4, "59s"],
    [61, "1m01s"],
    [3 * 3600 + 7 * 60, "3h07m"],
  ])("formats %d seconds as %s", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it("redraws one terminal line and ends it with a newline", () => {
    const stream = new PassThrough();
    const print = progressPrinter("tty", stream);

    print(running);
    print({ ...running, done: true });

    expect(stream.read().toString()).toBe(
      "\rReceived 629580 of 1259161 bytes (50.0%)  3.0 MiB/s  ETA 1m15s\u001b[K" +
        "\rReceived 629580 of 1259161 bytes (50.0%)  3.0 MiB/s\u001b[K\n",
    );
  });

  it("writes one JSON object per line otherwise", () => {
    const stream = new PassThrough();

    progressPrinter("json", stream)(running);

    expect(JSON.parse(stream.read().toString())).toEqual({ event: "progress", ...running });
  });
});
