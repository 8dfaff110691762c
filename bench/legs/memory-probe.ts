/**
 * Preloaded with `node --import memory-probe.mjs` into a process under study: samples
 * process.memoryUsage() every 20 ms and, at exit, writes the peak of each figure (and the figures at
 * the RSS peak) as one JSON line to the file named by FTP2S3_BENCH_MEMORY_FILE. For diagnosis only:
 * it says where a peak RSS goes (V8 heap, Buffers outside it, or neither: code and allocator slack).
 */
import { writeFileSync } from "node:fs";

const file = process.env.FTP2S3_BENCH_MEMORY_FILE;
if (file) {
  const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  let atRssPeak: NodeJS.MemoryUsage | undefined;
  let samples = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    samples += 1;
    if (usage.rss > peak.rss) atRssPeak = usage;
    for (const name of Object.keys(peak) as (keyof typeof peak)[])
      peak[name] = Math.max(peak[name], usage[name]);
  };
  sample();
  setInterval(sample, 20).unref();
  process.once("exit", () => {
    sample();
    writeFileSync(file, `${JSON.stringify({ samples, peak, atRssPeak })}\n`);
  });
}
