#!/usr/bin/env node
import { TransferAbortedError } from "../core/errors.js";
import { runCli } from "./run.js";

// The first Ctrl-C cancels the copy cleanly (the multipart upload is aborted); a second one quits.
const interrupt = new AbortController();
process.once("SIGINT", () => {
  interrupt.abort(new TransferAbortedError("interrupted (SIGINT); nothing was stored"));
  process.once("SIGINT", () => process.exit(130));
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: interrupt.signal,
});
