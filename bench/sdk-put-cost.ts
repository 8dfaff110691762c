/**
 * What the AWS SDK alone costs per small object: N PutObjects of 16 KiB, 4 at a time (as a 4-session
 * mirror sends them), through the product's S3 sink (createS3Client; S3Sink.putObject with a
 * CRC64NVME, so signed UNSIGNED-PAYLOAD as the copies are) into the HTTPS discard endpoint. The
 * puts run in a child process, which must trust the endpoint's certificate from its start; the CPU
 * time counted is the puts' alone (client built and one request made before the clock starts).
 * The goals run (bench/run/goals.ts) measures it beside the mirrors; alone:
 * `node --openssl-legacy-provider --import tsx bench/sdk-put-cost.ts [--objects 500]`
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { createS3Client } from "../functions/adapters/s3-client.js";
import { createS3Sink } from "../functions/adapters/s3-sink.js";
import { type DiscardS3, startDiscardS3 } from "./lib/discard-s3.js";
import { nodeEnv } from "./run/common.js";

export interface SdkPutCost {
  objects: number;
  wallMs: number;
  cpuMsPerPut: number;
}

const script = fileURLToPath(import.meta.url);

/** Runs the puts in a child process against `s3`: their CPU time per put. */
export async function measureSdkPutCost(s3: DiscardS3, objects: number): Promise<SdkPutCost> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", script, "--child", "--objects", String(objects)],
    { env: nodeEnv(s3) },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as SdkPutCost;
}

async function putsInThisProcess(objects: number): Promise<SdkPutCost> {
  const sink = createS3Sink(createS3Client());
  const body = randomBytes(16 * 1024);
  const crc64nvme = "AAAAAAAAAAA="; // the discard endpoint echoes checksums, unverified
  const put = (key: string) =>
    sink.putObject({ bucket: "discard", key }, body, { metadata: {}, ifNoneMatch: false, crc64nvme });
  await put("sdk-put-cost/warm-up");
  const before = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < objects) await put(`sdk-put-cost/${next++}`);
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const used = process.cpuUsage(before);
  return {
    objects,
    wallMs: Math.round(performance.now() - started),
    cpuMsPerPut: Number(((used.user + used.system) / 1000 / objects).toFixed(2)),
  };
}

if (process.argv[1] === script) {
  const { values } = parseArgs({
    options: { objects: { type: "string", default: "500" }, child: { type: "boolean", default: false } },
  });
  const objects = Number(values.objects);
  if (values.child) {
    console.log(JSON.stringify(await putsInThisProcess(objects)));
  } else {
    const s3 = await startDiscardS3({ tls: true });
    try {
      console.log(JSON.stringify(await measureSdkPutCost(s3, objects)));
    } finally {
      await s3.close();
    }
  }
}
