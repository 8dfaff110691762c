/**
 * Preloaded with `node --import http-probe.mjs` into a process under study (diagnosis only): records
 * when each S3 request starts and when its response arrives, and at exit writes a summary to the file
 * named by FTP2S3_BENCH_HTTP_FILE: how long the multipart parts phase and the completion took, how
 * long the process had 0..n parts in flight, and the gap between a part's response and the next
 * part's request (the time an uploader waited for its next part: feeding latency plus hashing).
 *
 * With FTP2S3_BENCH_GC=1 (and node --expose-gc) it also runs a minor GC as each UploadPart starts:
 * what a collection after each sealed part would do in PartUpload, without changing the product.
 */

import { writeFileSync } from "node:fs";
import http from "node:http";

const file = process.env.FTP2S3_BENCH_HTTP_FILE;
const collect =
  process.env.FTP2S3_BENCH_GC === "1" ? (globalThis as { gc?: (o?: object) => void }).gc : undefined;

if (file) {
  const events: { t: number; part: number | null; kind: "start" | "response" }[] = [];
  /** Requests by method and query parameter names: "PUT ?partNumber&uploadId", "HEAD", "PUT ?tagging"... */
  const requestsByKind: Record<string, number> = {};
  const original = http.request;
  const patched = function (this: unknown, ...args: unknown[]) {
    const request = (original as (...a: unknown[]) => http.ClientRequest).apply(this, args);
    const target = args[0];
    const path =
      typeof target === "string" ? target : ((target as { path?: string } | undefined)?.path ?? "");
    const method =
      typeof target === "string" ? "GET" : ((target as { method?: string } | undefined)?.method ?? "GET");
    const query = path.includes("?")
      ? path
          .slice(path.indexOf("?") + 1)
          .split("&")
          .map((p) => p.split("=")[0])
          .filter((n) => n !== "x-id")
          .sort()
          .join("&")
      : "";
    const requestKind = `${method}${query ? ` ?${query}` : ""}`;
    requestsByKind[requestKind] = (requestsByKind[requestKind] ?? 0) + 1;
    const match = /[?&]partNumber=(\d+)/.exec(path);
    const part = match ? Number(match[1]) : null;
    if (part !== null) collect?.({ type: "minor" });
    events.push({ t: performance.now(), part, kind: "start" });
    request.once("response", () => events.push({ t: performance.now(), part, kind: "response" }));
    return request;
  };
  (http as { request: unknown }).request = patched;

  process.once("exit", () => {
    const parts = events.filter((e) => e.part !== null);
    if (parts.length === 0) {
      writeFileSync(
        file,
        `${JSON.stringify({ requests: events.filter((e) => e.kind === "start").length, requestsByKind })}\n`,
      );
      return;
    }
    const first = parts[0]!.t;
    const lastPart = parts.at(-1)!.t;
    const end = events.at(-1)!.t;
    const inFlightMs: number[] = [];
    let inFlight = 0;
    let previous = first;
    for (const event of parts) {
      inFlightMs[inFlight] = (inFlightMs[inFlight] ?? 0) + (event.t - previous);
      previous = event.t;
      inFlight += event.kind === "start" ? 1 : -1;
    }
    // An uploader that got a response asks for the next part: pair responses and later starts in order.
    const freed: number[] = [];
    const gaps: number[] = [];
    let started = 0;
    let concurrency = 0;
    let maxConcurrency = 0;
    for (const event of parts) {
      if (event.kind === "response") {
        freed.push(event.t);
        concurrency -= 1;
        continue;
      }
      started += 1;
      concurrency += 1;
      maxConcurrency = Math.max(maxConcurrency, concurrency);
      const since = started > maxConcurrency ? freed.shift() : undefined;
      if (since !== undefined) gaps.push(event.t - since);
    }
    gaps.sort((a, b) => a - b);
    const at = (p: number) =>
      gaps.length === 0 ? null : gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * p))];
    writeFileSync(
      file,
      `${JSON.stringify({
        requests: events.filter((e) => e.kind === "start").length,
        requestsByKind,
        parts: parts.length / 2,
        firstPartAtMs: first - (events[0]?.t ?? first),
        partsPhaseMs: lastPart - first,
        completeMs: end - lastPart,
        inFlightMs: inFlightMs.map((ms) => Math.round(ms)),
        feedGapMs: { median: at(0.5), p90: at(0.9), total: gaps.reduce((a, b) => a + b, 0) },
      })}\n`,
    );
  });
}
