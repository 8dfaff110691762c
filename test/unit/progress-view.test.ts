import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  formatDuration,
  formatProgressLine,
  progressPrinter,
  withProgressLine,
} from "../../functions/cli/progress-view.js";
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

describe("the progress line on a terminal, among other messages", () => {
  function terminal() {
    const stream = Object.assign(new PassThrough(), { isTTY: true as const });
    return { stream, text: () => (stream.read() ?? "").toString() };
  }

  it("ends an unfinished progress line before any other text, so an error starts a line of its own", () => {
    const tty = terminal();
    const stderr = withProgressLine(tty.stream);
    const print = progressPrinter("tty", stderr);

    print({ ...running, bytes: 0, percent: 0, bytesPerSecond: 0 });
    stderr.write("ftp2s3: FTP_REPLY: RETR ftp://h/f failed: 426 Connection closed\n");

    expect(tty.text()).toBe(
      "\rReceived 0 of 1259161 bytes (0.0%)  0 B/s  ETA 1m15s\u001b[K\n" +
        "ftp2s3: FTP_REPLY: RETR ftp://h/f failed: 426 Connection closed\n",
    );
    expect(stderr.isTTY).toBe(true);
  });

  it("adds no blank line after a finished progress line, and redraws after a message", () => {
    const tty = terminal();
    const stderr = withProgressLine(tty.stream);
    const print = progressPrinter("tty", stderr);

    print({ ...running, done: true });
    stderr.write("ftp2s3: warning: something\n");
    print(running);

    expect(tty.text()).toBe(
      "\rReceived 629580 of 1259161 bytes (50.0%)  3.0 MiB/s\u001b[K\n" +
        "ftp2s3: warning: something\n" +
        "\rReceived 629580 of 1259161 bytes (50.0%)  3.0 MiB/s  ETA 1m15s\u001b[K",
    );
  });
});
