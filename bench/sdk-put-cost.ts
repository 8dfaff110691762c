/**
 * What the AWS SDK alone costs per small object: N PutObjects of 16 KiB (4 at a time, as a 4-session
 * mirror sends them) through the product's S3 sink (createS3Client, S3Sink.putObject with a
 * CRC64NVME, so signed UNSIGNED-PAYLOAD as the copies are) into the HTTPS discard endpoint. The puts
 * run in a child process (the endpoint's certificate must be trusted from its start); the CPU time
 * counted is the puts' only (client built and a first request made before the clock starts).
 * `node --openssl-legacy-provider --import tsx bench/sdk-put-cost.ts [--objects 500]`
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { parseArgs, promisify } from "node:util";
import { createS3Client } from "../functions/adapters/s3-client.js";
import { createS3Sink } from "../functions/adapters/s3-sink.js";
import { startDiscardS3 } from "./lib/discard-s3.js";
import { nodeEnv } from "./run/common.js";

const { values } = parseArgs({
  options: { objects: { type: "string", default: "500" }, child: { type: "boolean", default: false } },
});
const objects = Number(values.objects);

if (values.child) {
  const sink = createS3Sink(createS3Client());
  const body = randomBytes(16 * 1024);
  const crc64nvme = "AAAAAAAAAAA="; // the discard endpoint echoes checksums unverified
  const put = (key: string) =>
    sink.putObject({ bucket: "discard", key }, body, { metadata: {}, ifNoneMatch: false, crc64nvme });
  await put("warm-up");
  const before = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < objects) await put(`k${next++}`);
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const used = process.cpuUsage(before);
  const cpuMs = (used.user + used.system) / 1000;
  console.log(
    JSON.stringify({
      objects,
      wallMs: Math.round(performance.now() - started),
      cpuMsPerPut: Number((cpuMs / objects).toFixed(2)),
    }),
  );
} else {
  const s3 = await startDiscardS3({ tls: true });
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        ...(process.env.PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROF_DIR}`] : []),
        ...process.execArgv,
        process.argv[1]!,
        "--child",
        "--objects",
        String(objects),
      ],
      { env: nodeEnv(s3) },
    );
    process.stdout.write(stdout);
  } finally {
    await s3.close();
  }
}
