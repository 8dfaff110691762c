#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=50
// The flags: a small young generation, so the 64 KiB socket reads a transfer drops are collected
// sooner (15-20 MB less peak memory in the benchmark, no cost in throughput); and an old generation
// collected once it has grown by half, not by V8's usual 2-3x: a mirror's per-file objects outlive
// the small young generation, and its peak memory was mostly that garbage (500 small files: 88-93 MB
// -> 81-84 at 4 sessions, 101-115 -> 96 at 16; a few more 5-15 ms collections, no measurable CPU).
import { join } from "node:path";
import { stateDirectory } from "./state-directory.js";

// The command owns its stderr: a library's process warning (the AWS SDK's 8-line notice on Node 20,
// a deprecation) is not the user's business unless --verbose asks for everything. Set before the
// SDK is loaded (it reads its switch when the first client is built) and before any module can warn.
if (!process.argv.slice(2).includes("--verbose")) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  // Node prints process warnings through its own 'warning' listener; without it they go nowhere.
  process.removeAllListeners("warning");
}

// Node 22.1 and later keep the compiled code of the modules loaded after this call, so that the next
// run skips compiling them (a 1 KiB copy: 0.43 -> 0.37 CPU s measured on Node 22.23). The cache is the
// user's, in the state directory, not the shared tmp directory Node defaults to. Node 20 has no such
// cache. A NODE_COMPILE_CACHE directory (Node enables it before this runs) wins, and
// NODE_DISABLE_COMPILE_CACHE=1 turns it off.
const nodeModule = (await import("node:module")) as { enableCompileCache?: (directory: string) => unknown };
nodeModule.enableCompileCache?.(join(stateDirectory(process.env), "compile-cache"));

const { stopSignal } = await import("./common.js");
const { runCli } = await import("./run.js");

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: stopSignal(),
});
