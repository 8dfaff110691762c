// Preloaded (node --require) into the process under test: prints, once, what V8 was configured
// with, as one JSON line on stderr, so a test sees the heap the deployed function really gets.
const v8 = require("node:v8");

const { heap_size_limit } = v8.getHeapStatistics();
process.stderr.write(
  `${JSON.stringify({ heapProbe: { heapSizeLimit: heap_size_limit, execArgv: process.execArgv } })}\n`,
);
