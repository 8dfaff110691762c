/**
 * What a small object's PutObject costs: N PutObjects of 16 KiB, 4 at a time (as a 4-session mirror
 * sends them), into the HTTPS discard endpoint, two ways: through the AWS SDK alone (a
 * PutObjectCommand as the sink builds it, with a CRC64NVME, so signed UNSIGNED-PAYLOAD as the copies
 * are), and through the product's S3 sink, which sends them itself once the SDK's first has shown
 * the way (functions/adapters/s3-direct-put.ts). The puts run in a child process, which must trust
 * the endpoint's certificate from its start; the CPU time counted is the puts' alone (client built
 * and one request made before the clock starts).
 * The goals run (bench/run/goals.ts) measures it beside the mirrors; alone:
 * `node --openssl-legacy-provider --import tsx bench/sdk-put-cost.ts [--objects 500]`
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createS3Client } from "../functions/adapters/s3-client.js";
import { createS3Sink } from "../functions/adapters/s3-sink.js";
import { withUnsignedPayload } from "../functions/adapters/unsigned-payload.js";
import { type DiscardS3, startDiscardS3 } from "./lib/discard-s3.js";
import { nodeEnv } from "./run/common.js";

export interface SdkPutCost {
  objects: number;
  wallMs: number;
  /** Through the SDK alone. */
  cpuMsPerPut: number;
  /** Through the sink (functions/adapters/s3-direct-put.ts after the first). */
  sinkCpuMsPerPut: number;
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
  const client = createS3Client();
  const sink = createS3Sink(client);
  const body = randomBytes(16 * 1024);
  const crc64nvme = "AAAAAAAAAAA="; // the discard endpoint echoes checksums, unverified
  const viaSdk = (key: string) =>
    client.send(
      withUnsignedPayload(
        new PutObjectCommand({
          Bucket: "discard",
          Key: key,
          Body: body,
          ContentLength: body.length,
          Metadata: {},
          ChecksumCRC64NVME: crc64nvme,
        }),
      ),
    );
  const viaSink = (key: string) =>
    sink.putObject({ bucket: "discard", key }, body, { metadata: {}, ifNoneMatch: false, crc64nvme });
  const sdk = await cpuPerPut(objects, viaSdk);
  const sinkCost = await cpuPerPut(objects, viaSink);
  return {
    objects,
    wallMs: sdk.wallMs + sinkCost.wallMs,
    cpuMsPerPut: sdk.cpuMs,
    sinkCpuMsPerPut: sinkCost.cpuMs,
  };
}

/** CPU ms per put of `objects` puts, 4 at a time, after one put that warms the way up. */
async function cpuPerPut(
  objects: number,
  put: (key: string) => Promise<unknown>,
): Promise<{ cpuMs: number; wallMs: number }> {
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
    wallMs: Math.round(performance.now() - started),
    cpuMs: Number(((used.user + used.system) / 1000 / objects).toFixed(2)),
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
