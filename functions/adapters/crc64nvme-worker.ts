import { offThreadJob, type SharedBytes } from "../core/index.js";
import { makeCrc64nvmeOf } from "./crc64nvme-slicing.js";

/**
 * Parts' CRC64NVMEs computed by the core's worker thread (core/part-worker.ts), which reads the part
 * buffers where they are: the function is sent as its source text, in the bundles as in the sources,
 * with no file of its own to ship. Requests are answered in the order they were made.
 */
export const crc64nvmeOffThread: (bytes: SharedBytes) => Promise<string> = offThreadJob(
  "crc64nvme",
  `(${makeCrc64nvmeOf.toString()})()`,
);
