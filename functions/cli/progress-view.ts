import type { ProgressSnapshot } from "../core/index.js";

export type ProgressMode = "tty" | "json" | "none";

/** "Received 1259161 of 1259161 bytes (100.0%)  48.1 MiB/s  ETA 0s", as the classic ftplib recipe printed it. */
export function formatProgressLine(snapshot: ProgressSnapshot): string {
  const { bytes, totalBytes, percent, bytesPerSecond, etaSeconds } = snapshot;
  const received =
    totalBytes === null
      ? `Received ${bytes} bytes`
      : `Received ${bytes} of ${totalBytes} bytes (${(percent ?? 0).toFixed(1)}%)`;
  const rate = `${formatBytes(bytesPerSecond)}/s`;
  const eta = etaSeconds === null || snapshot.done ? "" : `  ETA ${formatDuration(etaSeconds)}`;
  return `${received}  ${rate}${eta}`;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * Where progress goes: on a terminal, one line redrawn in place (a carriage return, then erase to the
 * end of the line) and a newline at the end; elsewhere, one JSON object per line for machines.
 */
export function progressPrinter(
  mode: ProgressMode,
  stream: NodeJS.WritableStream,
): (s: ProgressSnapshot) => void {
  switch (mode) {
    case "none":
      return () => {};
    case "json":
      return (snapshot) => stream.write(`${JSON.stringify({ event: "progress", ...snapshot })}\n`);
    case "tty": {
      const draw = (stream as Partial<ProgressLineStream>)[drawProgressLine] ?? drawOn(stream);
      return (snapshot) => draw(formatProgressLine(snapshot), snapshot.done);
    }
  }
}

const drawProgressLine = Symbol("drawProgressLine");
type ProgressLineStream = { [drawProgressLine]: (text: string, done: boolean) => void };

function drawOn(stream: NodeJS.WritableStream): (text: string, done: boolean) => boolean {
  return (text, done) => stream.write(`\r${text}\u001b[K${done ? "\n" : ""}`);
}

/**
 * The stream with the progress line kept apart from everything else written to it: any other text
 * (an error, a warning, the --verbose conversation) first ends an unfinished progress line, so it
 * starts on a line of its own instead of being glued onto "Received 0 bytes  0 B/s".
 */
export function withProgressLine<S extends NodeJS.WritableStream>(stream: S): S {
  let lineOpen = false;
  const draw = drawOn(stream);
  const overrides: Record<PropertyKey, unknown> = {
    [drawProgressLine]: (text: string, done: boolean) => {
      lineOpen = !done;
      return draw(text, done);
    },
    write: (...args: Parameters<NodeJS.WritableStream["write"]>) => {
      if (lineOpen) {
        lineOpen = false;
        stream.write("\n");
      }
      return (stream.write as (...a: typeof args) => boolean)(...args);
    },
  };
  return new Proxy(stream, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property];
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
